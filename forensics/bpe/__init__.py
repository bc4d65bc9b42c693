"""Tokenizers as exact merge lists: the first stage of every audit.

Data flows: a tokenizer file -> :mod:`forensics.bpe.formats` (one reader per format, chosen by content;
gzip/zstd welcome) -> :class:`~forensics.bpe.model.Tokenizer` (merges, vocabulary, special tokens, the
pre-tokenizer its training used). Rank-only formats get their merges recovered from the ranks
(:mod:`~forensics.bpe.ranks`); well-known encodings are recognised by content hash (:mod:`~forensics.bpe.known`)
and get their published split rules (:mod:`~forensics.bpe.pretokenize`). Around it: summaries of a
vocabulary (:mod:`~forensics.bpe.inspect`, :mod:`~forensics.bpe.scripts`), comparisons of two merge lists
(:mod:`~forensics.bpe.compare`), and GPT-2's byte-to-character table (:mod:`~forensics.bpe.bytelevel`).

Nothing here counts text or infers a mixture (``forensics.counting``, ``forensics.inference``).
"""
