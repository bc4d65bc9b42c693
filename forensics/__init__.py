"""forensics: tokenizer and corpus forensics.

Read any real BPE tokenizer file as an exact merge list, infer the data mixture a tokenizer was
trained on, measure the composition of large corpora, count byte and token pairs fast, and turn the
measurements into mixture recommendations.

The public API is the names below; each is imported on first use so that ``import forensics`` stays
light (no numba, pulp or optional extras are loaded until needed).

>>> import forensics
>>> tok = forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "ForensicsError": "forensics.errors",
    # tokenizers (bpe/)
    "Tokenizer": "forensics.bpe.model",
    "PreTokenizer": "forensics.bpe.pretokenize",
    "load_tokenizer": "forensics.bpe.formats",
    "inspect_tokenizer": "forensics.bpe.inspect",
    "compare_tokenizers": "forensics.bpe.compare",
    # counting/
    "count_words": "forensics.counting.words",
    "replay_merges": "forensics.counting.replay",
    "count_categories": "forensics.counting.categories",
    "count_pairs": "forensics.counting.pairs",
    "PairCounts": "forensics.counting.pairs",
    "PairTrace": "forensics.counting.replay",
    # inference/
    "infer_mixture": "forensics.inference.infer",
    "MixtureEstimate": "forensics.inference.infer",
    # corpus/ and composition/
    "load_categories": "forensics.corpus.categories",
    "CategorySet": "forensics.corpus.categories",
    "Category": "forensics.corpus.categories",
    "build_category_set": "forensics.corpus.build",
    "quality_report": "forensics.corpus.quality",
    "scan_corpus": "forensics.composition.scan",
    "classify_texts": "forensics.composition.classify",
    "build_profiles": "forensics.composition.profiles",
    "load_profiles": "forensics.composition.profiles",
    # recommend/
    "recommend_heuristic": "forensics.recommend.heuristics",
    "recommend_match": "forensics.recommend.match",
    "recommend_from_runs": "forensics.recommend.runs",
    "suggest_runs": "forensics.recommend.runs",
    "recommend_parity": "forensics.recommend.parity",
    "fit_dcpt_law": "forensics.recommend.cpt",
    "recommend_cpt_ratio": "forensics.recommend.cpt",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'forensics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from forensics.bpe.formats import load_tokenizer as load_tokenizer
    from forensics.bpe.model import Tokenizer as Tokenizer
    from forensics.errors import ForensicsError as ForensicsError
