"""forensics: tokenizer and corpus forensics.

Read any real BPE tokenizer file as an exact merge list, infer the data mixture a tokenizer was
trained on, measure the composition of large corpora, count byte and token pairs fast, and turn the
measurements into mixture recommendations.

The public API is the names below; each is imported on first use so that ``import forensics`` stays
light (no numba, pulp or optional extras are loaded until needed).

>>> import forensics
>>> forensics.load_tokenizer("fixtures/tokenizers/gpt2/vocab.bpe.gz").encode("Hello world")
[15496, 995]
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


if TYPE_CHECKING:  # pragma: no cover - the public names as type checkers and IDEs see them
    from forensics.bpe.compare import compare_tokenizers as compare_tokenizers
    from forensics.bpe.formats import load_tokenizer as load_tokenizer
    from forensics.bpe.inspect import inspect_tokenizer as inspect_tokenizer
    from forensics.bpe.model import Tokenizer as Tokenizer
    from forensics.bpe.pretokenize import PreTokenizer as PreTokenizer
    from forensics.composition.classify import classify_texts as classify_texts
    from forensics.composition.profiles import build_profiles as build_profiles
    from forensics.composition.profiles import load_profiles as load_profiles
    from forensics.composition.scan import scan_corpus as scan_corpus
    from forensics.corpus.build import build_category_set as build_category_set
    from forensics.corpus.categories import Category as Category
    from forensics.corpus.categories import CategorySet as CategorySet
    from forensics.corpus.categories import load_categories as load_categories
    from forensics.corpus.quality import quality_report as quality_report
    from forensics.counting.categories import count_categories as count_categories
    from forensics.counting.pairs import PairCounts as PairCounts
    from forensics.counting.pairs import count_pairs as count_pairs
    from forensics.counting.replay import PairTrace as PairTrace
    from forensics.counting.replay import replay_merges as replay_merges
    from forensics.counting.words import count_words as count_words
    from forensics.errors import ForensicsError as ForensicsError
    from forensics.inference.infer import MixtureEstimate as MixtureEstimate
    from forensics.inference.infer import infer_mixture as infer_mixture
    from forensics.recommend.cpt import fit_dcpt_law as fit_dcpt_law
    from forensics.recommend.cpt import recommend_cpt_ratio as recommend_cpt_ratio
    from forensics.recommend.heuristics import recommend_heuristic as recommend_heuristic
    from forensics.recommend.match import recommend_match as recommend_match
    from forensics.recommend.parity import recommend_parity as recommend_parity
    from forensics.recommend.runs import recommend_from_runs as recommend_from_runs
    from forensics.recommend.runs import suggest_runs as suggest_runs
