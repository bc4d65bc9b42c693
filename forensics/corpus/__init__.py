"""Text in: corpus shards and category sets, read exactly and reported honestly.

Reading: :mod:`~forensics.corpus.readers` expands files, directories and globs into a sorted shard
list and yields documents from text, JSONL and Parquet shards (gzip/zstd streamed through
:mod:`forensics.compression`), recording every problem instead of dropping it; :mod:`~forensics.corpus.markup`
tells HTML pages from code and keeps their visible text.

Category sets: :mod:`~forensics.corpus.categories` reads a set (a directory per category, train and
count splits, metadata) and finds the bundled ones by name; :mod:`~forensics.corpus.quality` reports on
one. Building sets from the package registries: :mod:`~forensics.corpus.build` (the entry point: split
and write) over :mod:`~forensics.corpus.recipes` (which packages and paths, as data),
:mod:`~forensics.corpus.sets` (recipes into sources), :mod:`~forensics.corpus.sources` (one reader per
package format), :mod:`~forensics.corpus.fetch`, :mod:`~forensics.corpus.archives` and
:mod:`~forensics.corpus.cleaning`. Building sets from the user's own shards (local or ``hf://``):
:mod:`~forensics.corpus.manifest` (the entry point) over :mod:`~forensics.corpus.manifest_parse`,
:mod:`~forensics.corpus.manifest_plan`, :mod:`~forensics.corpus.manifest_sample` and :mod:`~forensics.corpus.hub`.
Both builders write through :mod:`~forensics.corpus.writer` and run one job per category through
:mod:`~forensics.corpus.jobs` (a backend, array-job ranks, a rerun that skips finished categories).
"""
