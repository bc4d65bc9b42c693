"""Tokenizer parity: the training mixture under which chosen languages get (near) equal tokens per byte.

A tokenizer trained on a mixture gives each language a fertility (tokens per UTF-8 byte of its text); languages
with little training data get more tokens per byte, so the same text costs more to process. Starting from the
proportional mixture (weights in proportion to the sample sizes), we repeatedly train a small byte-level BPE with
HF ``tokenizers`` on the mixture, measure tokens per byte on held-out text of each category, and move weight
towards the categories above target (multiplicative update, w_i *= (f_i / mean f) ** step), keeping the best
mixture seen. Parity is max_i f_i / min_i f_i with f_i = tokens per byte / target share (1.0 is perfect).

Leaves out: the vocabulary size and pre-tokenizer of a production tokenizer matter; the result is for the small
tokenizer trained here (``vocab_size``), which tracks the direction and rough size of the needed change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensics.errors import ForensicsError, input_error
from forensics.recommend._tables import normalise

DEFAULT_MAX_BYTES = 1 << 20
MIN_SAMPLE_BYTES = 1000  # below this the held-out tail is a few lines and tokens per byte is noise


@dataclass
class ParityStep:
    """One trained tokenizer: the mixture and the tokens per byte it gives each category."""

    weights: dict[str, float]
    tokens_per_byte: dict[str, float]
    parity: float


@dataclass
class ParityRecommendation:
    """The best mixture found, against the proportional mixture, with every step tried."""

    weights: dict[str, float]
    parity: float
    tokens_per_byte: dict[str, float]
    proportional_weights: dict[str, float]
    proportional_parity: float
    proportional_tokens_per_byte: dict[str, float]
    target: dict[str, float]
    sample_bytes: dict[str, int]
    vocab_size: int
    history: list[ParityStep]
    warnings: list[str] = field(default_factory=list)


def recommend_parity(samples: Mapping[str, str | os.PathLike] | str | os.PathLike, *,
                     categories: Sequence[str] | None = None, target: Mapping[str, float] | None = None,
                     vocab_size: int = 2000, iterations: int = 6, step: float = 1.0, train_bytes: int | None = None,
                     eval_fraction: float = 0.2, max_bytes: int = DEFAULT_MAX_BYTES,
                     min_weight: float = 0.01) -> ParityRecommendation:
    """Recommend the tokenizer training mixture that brings tokens per byte to ``target`` (equal by default).

    ``samples`` maps category names to text (``str``) or files (``pathlib.Path``), or is a directory / category
    set name (one file or folder per category). ``target`` gives relative tokens per byte (``{"ja": 2, "en": 1}``
    allows Japanese twice the tokens per byte of English).

    >>> rec = recommend_parity({"en": english_text, "de": german_text}, vocab_size=500)  # doctest: +SKIP
    >>> rec.parity <= rec.proportional_parity  # doctest: +SKIP
    True
    """
    texts = _read_samples(samples, categories=categories, max_bytes=max_bytes)
    names = list(texts)
    if len(names) < 2:
        raise ForensicsError(f"parity needs at least two categories (got {names})")
    if not 0 < eval_fraction < 1:
        raise ForensicsError(f"eval_fraction must be in (0, 1) (got {eval_fraction})")
    if iterations < 1 or step <= 0:
        raise ForensicsError("iterations must be >= 1 and step > 0")
    small = [name for name, text in texts.items() if len(text.encode("utf-8")) < MIN_SAMPLE_BYTES]
    if small:
        raise ForensicsError(f"samples of {small} are too small (under {MIN_SAMPLE_BYTES} bytes); give more text")
    train, held_out = {}, {}
    for name, text in texts.items():
        train[name], held_out[name] = _split(text, eval_fraction)
        if not train[name].strip() or not held_out[name].strip():
            raise ForensicsError(f"category {name!r}: sample too small to split into training and held-out text")
    target_map = normalise(target, what="target") if target else {name: 1.0 / len(names) for name in names}
    missing = [name for name in names if name not in target_map]
    if missing:
        raise ForensicsError(f"target has no value for {missing}; give one per category ({names})")
    goal = np.array([target_map[name] for name in names])
    goal = goal / goal.mean()
    sizes = np.array([len(train[name].encode("utf-8")) for name in names], dtype=np.float64)
    budget = int(train_bytes or sizes.sum())

    weights = sizes / sizes.sum()
    floor = min_weight / len(names)
    history: list[ParityStep] = []
    previous = None
    gain = step
    for _ in range(iterations):
        tpb = _tokens_per_byte(train, held_out, names, weights, vocab_size=vocab_size, budget=budget)
        relative = tpb / goal
        history.append(ParityStep(dict(zip(names, weights.tolist())), dict(zip(names, tpb.tolist())),
                                  float(relative.max() / relative.min())))
        if previous is not None:
            gain = _adapted_gain(previous, (np.log(weights), np.log(tpb)), step)
        previous = (np.log(weights), np.log(tpb))
        # Categories above the mean fertility get more weight; centring in log space keeps the update scale-free.
        gap = np.log(relative) - np.log(relative).mean()
        weights = np.maximum(weights * np.exp(gain * gap), floor)
        weights = weights / weights.sum()
    best = min(history, key=lambda s: s.parity)
    start = history[0]
    warnings = []
    over = [n for n in names if best.weights[n] * budget > 4 * sizes[names.index(n)]]
    if over:
        warnings.append(f"the best mixture repeats the samples of {', '.join(over)} more than 4 times; "
                        "give larger samples for a more reliable recommendation")
    return ParityRecommendation(
        weights=best.weights, parity=best.parity, tokens_per_byte=best.tokens_per_byte,
        proportional_weights=start.weights, proportional_parity=start.parity,
        proportional_tokens_per_byte=start.tokens_per_byte, target=dict(zip(names, goal.tolist())),
        sample_bytes={n: int(s) for n, s in zip(names, sizes)}, vocab_size=vocab_size, history=history,
        warnings=warnings)


def _adapted_gain(before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray],
                  step: float, max_gain: float = 8.0) -> float:
    """Gain for the next update from the measured elasticity d log(tokens/byte) / d log(weight).

    Fertility responds weakly to weight (elasticity around -0.1 to -0.3), so a unit gain converges slowly; with
    the elasticity e measured across categories, a gain of ``step * 0.7 / |e|`` closes most of the gap at once.
    """
    d_weight = after[0] - before[0]
    d_weight = d_weight - d_weight.mean()
    d_tpb = after[1] - before[1]
    d_tpb = d_tpb - d_tpb.mean()
    if not (d_weight ** 2).sum() > 1e-12:
        return step
    elasticity = float((d_weight * d_tpb).sum() / (d_weight ** 2).sum())
    if elasticity >= -1e-3:
        return step
    return float(min(max_gain, max(step, step * 0.7 / -elasticity)))


def _split(text: str, eval_fraction: float) -> tuple[str, str]:
    """Training text and the held-out tail, cut at a line break when there is one near the cut."""
    cut = int(len(text) * (1 - eval_fraction))
    newline = text.rfind("\n", 0, cut)
    if newline > cut * 0.8:
        cut = newline + 1
    return text[:cut], text[cut:]


def _mixture_lines(train: Mapping[str, str], names: Sequence[str], weights: np.ndarray,
                   budget: int) -> Iterator[str]:
    """The training stream: each category's text repeated or cut to weight * budget bytes."""
    for name, weight in zip(names, weights):
        data = train[name].encode("utf-8")
        want = int(round(weight * budget))
        repeats, rest = divmod(want, len(data))
        for _ in range(repeats):
            yield from train[name].splitlines()
        if rest:
            yield from data[:rest].decode("utf-8", "ignore").splitlines()


def _tokens_per_byte(train: Mapping[str, str], held_out: Mapping[str, str], names: Sequence[str],
                     weights: np.ndarray, *, vocab_size: int, budget: int) -> np.ndarray:
    """Train a byte-level BPE on the mixture and measure tokens per byte of each held-out sample."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_mixture_lines(train, names, weights, budget), trainer=trainer)
    result = np.empty(len(names))
    for i, name in enumerate(names):
        lines = [line for line in held_out[name].splitlines() if line]
        tokens = sum(len(encoding.ids) for encoding in tokenizer.encode_batch(lines))
        result[i] = tokens / sum(len(line.encode("utf-8")) for line in lines)
    return result


def _read_samples(samples, *, categories: Sequence[str] | None, max_bytes: int) -> dict[str, str]:
    """Category name -> text (at most ``max_bytes`` UTF-8 bytes each)."""
    if isinstance(samples, Mapping):
        texts = {}
        for name, value in samples.items():
            if isinstance(value, os.PathLike):
                texts[str(name)] = _read_file(Path(value), max_bytes)
            elif isinstance(value, str):
                texts[str(name)] = value
            else:
                raise ForensicsError(f"sample of {name!r} must be text (str) or a file (pathlib.Path)")
    else:
        texts = _read_directory(samples, max_bytes)
    if categories is not None:
        missing = [name for name in categories if name not in texts]
        if missing:
            raise ForensicsError(f"no samples for {missing}; available: {', '.join(texts)}")
        texts = {name: texts[name] for name in categories}
    texts = {name: _truncate(text, max_bytes) for name, text in texts.items()}
    empty = [name for name, text in texts.items() if not text.strip()]
    if empty:
        raise ForensicsError(f"empty samples for {empty}")
    return texts


def _read_directory(location: str | os.PathLike, max_bytes: int) -> dict[str, str]:
    """A category set (bundled name or directory, through forensics.corpus) or a folder of ``<name>.txt``."""
    from forensics.corpus.categories import load_categories
    from forensics.corpus.readers import iter_documents

    texts = {}
    for category in load_categories(location):
        parts, size = [], 0
        for document in iter_documents(list(category.files)):
            parts.append(document.text)
            size += len(document.text.encode("utf-8"))
            if size >= max_bytes:
                break
        texts[category.name] = "\n".join(parts)
    return texts


def _read_file(path: Path, max_bytes: int) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes)
    except FileNotFoundError:
        raise input_error(path, "file not found") from None
    return data.decode("utf-8", "ignore")


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", "ignore")
