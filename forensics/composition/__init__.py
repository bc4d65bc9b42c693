"""Corpus composition: what a corpus is made of, by category, per document and in aggregate.

Data flows: category samples -> :mod:`~forensics.composition.profiles` (naive Bayes over hashed byte
n-grams and word tokens, calibrated; byte-pair distributions per category; built once and cached) ->
:mod:`~forensics.composition.classify` (each document's most likely category and its probability, or
``unknown``) and :mod:`~forensics.composition.mixture` (the mixture of category pair distributions that
best explains a corpus's pair counts). :mod:`~forensics.composition.scan` runs both over many shards in
units (local processes, Ray, or array jobs), each unit's counts a :mod:`~forensics.composition.partials`
file, added up into a :mod:`~forensics.composition.results` result and written by
:mod:`~forensics.composition.report`. :mod:`~forensics.composition.synthetic` writes corpora of a known
make-up for tests and benchmarks.
"""
