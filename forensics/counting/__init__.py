"""Counting: words of category samples, merge replay over them, and byte or token pairs of corpora.

Data flows: category sample files -> :mod:`~forensics.counting.words` (the tokenizer's pre-tokenizer
splits text into words, counted with 64-bit counters) -> :mod:`~forensics.counting.replay` (every merge
applied in order to the unique words; at each step the count of the pair merged and of every pair still
standing: a :class:`~forensics.counting.replay.PairTrace`) -> the inference's linear program.
:mod:`~forensics.counting.categories` does this for every category of a set, in parallel through
``forensics.backends``, with a cache keyed by the samples' and the tokenizer's hashes.
:mod:`~forensics.counting.pairs` counts adjacent byte or token pairs of whole corpora (numba on CPU,
CuPy on a GPU) for scans: its inputs are read by :mod:`~forensics.counting.pair_inputs`, packed into
batches by :mod:`~forensics.counting.pair_batches`, counted on a device of
:mod:`~forensics.counting.pair_backends`, and tokenized (for token pairs) through
:mod:`~forensics.counting.pair_tokenizers`.

Each fast path has a slow, readable reference beside it (:mod:`~forensics.counting.reference`,
:mod:`~forensics.counting.pairs_reference`) that the tests hold it to, exactly.
"""
