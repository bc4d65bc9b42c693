"""HF `tokenizers` JSON (``tokenizer.json``) with a BPE model, byte-level or not.

Merges may be ``"a b"`` strings (older files) or ``[a, b]`` pairs (tokenizers >= 0.20). As in HF tokenizers,
a merge naming a token the vocabulary lacks, or an id that is not an unsigned 32-bit integer, is an error,
and so is a split pattern that does not compile. Files that list
more merges than tokens (every split of a token, grouped by the rank of the token they make, as in
Llama 3 and Gemma 3) are rebuilt from the vocabulary ranks, which keeps exactly the merge BPE applies for
each token; the redundant ones are counted. The normaliser and pre-tokenizer are translated into our
:class:`~forensics.bpe.pretokenize.PreTokenizer`.

What it leaves out: WordPiece/Unigram models, post-processors, decoders (only used to detect byte level).

>>> from forensics import load_tokenizer
>>> from forensics.inference.experiments import train_reference_bpe
>>> train_reference_bpe(["the cat sat on the mat"] * 20, 10, "/tmp/forensics-hf-tokenizer.json")
>>> tok = load_tokenizer("/tmp/forensics-hf-tokenizer.json")
>>> tok.format, tok.merges[0]
('hf-json', (b'a', b't'))
"""

from __future__ import annotations

import re
from pathlib import Path

from forensics._results import bytes_sha256
from forensics.bpe.bytelevel import CHAR_TO_BYTE, is_byte_level_spelling
from forensics.bpe.formats._common import id_map, json_type, shown, split_pattern, token_id
from forensics.bpe.model import Tokenizer
from forensics.bpe.pretokenize import GPT2_PATTERN, METASPACE, PreTokenizer, Split
from forensics.bpe.ranks import merges_from_ranks
from forensics.errors import input_error

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
_BEHAVIORS = {"Isolated": "isolated", "Removed": "removed", "MergedWithPrevious": "merged_with_previous",
              "MergedWithNext": "merged_with_next", "Contiguous": "contiguous"}


def sniff(name: str, data: bytes, parsed: object) -> bool:
    if not isinstance(parsed, dict) or not isinstance(parsed.get("model"), dict):
        return False
    model = parsed["model"]
    return model.get("type", "BPE") == "BPE" and "merges" in model and "vocab" in model


def _walk(node: object, key: str) -> list[dict]:
    """Flatten Sequence nodes of a normaliser/pre-tokenizer tree into a list of steps (without recursion:
    the tree comes from the file and may be deep)."""
    steps: list[dict] = []
    pending = [node]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "Sequence":
            children = node.get(key)
            pending.extend(reversed(children) if isinstance(children, list) else [])
        else:
            steps.append(node)
    return steps


def _text(path: Path, step: dict, key: str, default: str | None = None) -> str:
    """A string field of a normaliser or pre-tokenizer step."""
    value = step.get(key, default)
    if not isinstance(value, str):
        raise input_error(path, f"{step.get('type')} step has {json_type(value)} as '{key}', not a string",
                          "the file is corrupt")
    return value


def _pattern_of(path: Path, step: dict) -> str:
    pattern = step.get("pattern")
    if isinstance(pattern, dict) and "Regex" in pattern:
        return split_pattern(path, pattern["Regex"], f"{step.get('type')} pattern")
    if isinstance(pattern, dict) and "String" in pattern:
        return re.escape(_text(path, pattern, "String"))
    raise input_error(path, f"{step.get('type')} step without a pattern: {shown(step)}", "the file is corrupt")


def translate(path: Path, normalizer: object, pre_tokenizer: object, *, vocab_byte_level: bool) -> PreTokenizer:
    """Our PreTokenizer for a tokenizer.json's normaliser and pre-tokenizer.

    >>> translate(Path("x"), None, {"type": "ByteLevel", "add_prefix_space": False}, vocab_byte_level=True).name
    'hf-json'
    """
    unicode_form = None
    text_ops: list[tuple[str, str, str]] = []
    notes: list[str] = []
    for step in _walk(normalizer, "normalizers"):
        kind = step.get("type")
        if kind in ("NFC", "NFKC", "NFD", "NFKD"):
            unicode_form = kind
        elif kind == "Prepend":
            text_ops.append(("prepend", _text(path, step, "prepend"), "always"))
        elif kind == "Replace":
            pattern = step.get("pattern")
            if not isinstance(pattern, dict) or "String" not in pattern:
                raise input_error(path, "regex Replace normaliser is not supported", "open an issue with the file")
            text_ops.append(("replace", _text(path, pattern, "String"), _text(path, step, "content", "")))
        elif kind in ("Strip", "Lowercase", "StripAccents", "BertNormalizer", "Precompiled"):
            notes.append(f"normaliser {kind} approximated or ignored")
        elif kind is not None:
            notes.append(f"normaliser {kind} ignored")
    steps: list[tuple[str, object]] = []
    byte_level = vocab_byte_level
    add_prefix_space = False
    for step in _walk(pre_tokenizer, "pretokenizers"):
        kind = step.get("type")
        if kind == "ByteLevel":
            byte_level = True
            add_prefix_space = bool(step.get("add_prefix_space", False))
            if step.get("use_regex", True):
                steps.append(("split", Split(GPT2_PATTERN)))
        elif kind == "Split":
            behavior = _BEHAVIORS.get(_text(path, step, "behavior", "Isolated"), "isolated")
            steps.append(("split", Split(_pattern_of(path, step), behavior, bool(step.get("invert", False)))))
        elif kind == "Digits":
            steps.append(("digits", bool(step.get("individual_digits", False))))
        elif kind == "Metaspace":
            replacement = _text(path, step, "replacement", METASPACE)
            text_ops.append(("replace", " ", replacement))
            scheme = step.get("prepend_scheme") or ("always" if step.get("add_prefix_space", True) else "never")
            if scheme != "never":
                text_ops.append(("prepend", replacement, "if-missing"))
            if step.get("split", True):
                steps.append(("metaspace", True))
        elif kind in ("Whitespace",):
            steps.append(("split", Split(r"\w+|[^\w\s]+", "isolated")))
            steps.append(("split", Split(r"\s+", "removed")))
        elif kind == "WhitespaceSplit":
            steps.append(("split", Split(r"\s+", "removed")))
        elif kind is not None:
            raise input_error(path, f"pre-tokenizer {shown(kind)} is not supported", "open an issue with the file")
    return PreTokenizer(name="hf-json", normalizer=unicode_form, text_ops=tuple(text_ops), steps=tuple(steps),
                        byte_level=byte_level, add_prefix_space=add_prefix_space, notes=tuple(notes))


def _added_tokens(path: Path, entries: object) -> dict[str, int]:
    """content -> id of the ``added_tokens`` list."""
    if not isinstance(entries, list):
        raise input_error(path, f"added_tokens is {json_type(entries)}, not a list", "the file is corrupt")
    added: dict[str, int] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("content"), str):
            added[entry["content"]] = token_id(path, entry.get("id"), f"id of added token {shown(entry['content'])}")
    return added


def _listed_merges(path: Path, merges: object, raw_vocab: dict[str, int], *, prefix: str) -> list[tuple[str, str]]:
    """The file's merges as token pairs; like HF tokenizers, refuse one whose tokens, or the token it makes,
    are not in the vocabulary (``prefix`` is the continuing-subword prefix the right token loses)."""
    if not isinstance(merges, list):
        raise input_error(path, f"model.merges is {json_type(merges)}, not a list", "the file is corrupt")
    pairs: list[tuple[str, str]] = []
    for number, merge in enumerate(merges):
        parts = merge.split(" ") if isinstance(merge, str) else merge
        if type(parts) is not list or len(parts) != 2 or type(parts[0]) is not str or type(parts[1]) is not str:
            raise input_error(path, f"merge {number} {shown(merge)} is neither 'a b' nor [a, b]", "the file is corrupt")
        left, right = parts
        made = left + (right[len(prefix):] if prefix and right.startswith(prefix) else right)
        if left not in raw_vocab or right not in raw_vocab or made not in raw_vocab:
            missing = next(token for token in (left, right, made) if token not in raw_vocab)
            raise input_error(path, f"merge {number} ({shown(left)}, {shown(right)}) uses token {shown(missing)}, "
                              "which is not in the vocabulary", "the file is corrupt")
        pairs.append((left, right))
    return pairs


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None) -> Tokenizer:
    if not sniff(format_name, data, parsed):
        raise input_error(path, "not a tokenizer.json with a BPE model")
    assert isinstance(parsed, dict)
    model = parsed["model"]
    raw_vocab = id_map(path, model["vocab"], "model.vocab")
    added = _added_tokens(path, parsed.get("added_tokens") or [])
    unk_token = model.get("unk_token")
    if unk_token is not None and not isinstance(unk_token, str):
        raise input_error(path, f"model.unk_token is {json_type(unk_token)}, not a string", "the file is corrupt")
    prefix = model.get("continuing_subword_prefix") or ""
    listed_pairs = _listed_merges(path, model["merges"], raw_vocab, prefix=prefix if isinstance(prefix, str) else "")
    regular = {tok: i for tok, i in raw_vocab.items() if tok not in added}
    spelled_bytes = is_byte_level_spelling(t for t in regular if not _BYTE_PIECE.match(t))
    decoder_types = {step.get("type") for step in _walk(parsed.get("decoder"), "decoders")
                     if isinstance(step.get("type"), str)}
    byte_level = spelled_bytes and ("ByteLevel" in decoder_types or _has_byte_level(parsed.get("pre_tokenizer"))
                                    or not model.get("byte_fallback"))
    rules = pretokenizer or translate(path, parsed.get("normalizer"), parsed.get("pre_tokenizer"),
                                      vocab_byte_level=byte_level)
    byte_level = rules.byte_level

    def to_bytes(token: str) -> bytes:
        if byte_level:
            try:
                return bytes(CHAR_TO_BYTE[ch] for ch in token)
            except KeyError:
                raise input_error(path, f"token {shown(token)} is not in byte-level spelling",
                                  "the file mixes byte-level and plain tokens") from None
        return token.encode("utf-8", "surrogatepass")

    vocab: dict[bytes, int] = {}
    byte_fallback: dict[int, int] = {}
    unk_id = raw_vocab.get(unk_token) if unk_token else None
    if model.get("byte_fallback"):
        for token, token_id_ in raw_vocab.items():
            if fallback := _BYTE_PIECE.match(token):
                byte_fallback[int(fallback.group(1), 16)] = token_id_
                added.pop(token, None)
                regular.pop(token, None)
    for token, token_id_ in regular.items():
        if token == unk_token:
            continue
        vocab[to_bytes(token)] = token_id_

    listed = [(to_bytes(a), to_bytes(b)) for a, b in listed_pairs]

    notes = list(rules.notes)
    made = [a + b for a, b in listed]
    missing = [m for m in made if m not in vocab]
    if missing:
        notes.append(f"{len(missing)} listed merges make tokens outside the vocabulary; ignored")
    unreachable: list[bytes] = []
    if len(set(made)) < len(made):
        # Several merges per token: rank each token by its first listed merge (the file's priority; for
        # Llama 3 this is also the vocabulary order, for SentencePiece conversions it is not) and rebuild
        # the one merge BPE applies for it.
        first_listed: dict[bytes, int] = {}
        for position, token in enumerate(made):
            first_listed.setdefault(token, position)
        base = [t for t in sorted(vocab, key=vocab.__getitem__) if t not in first_listed]
        ordered = base + sorted((t for t in first_listed if t in vocab), key=first_listed.__getitem__)
        recovered = merges_from_ranks(ordered, byte_level=byte_level)
        merges, unreachable = recovered.merges, recovered.unreachable
        notes.append(f"file lists {len(listed)} merges for {len(set(made))} tokens; rebuilt one merge per token "
                     f"from vocabulary ranks")
    else:
        merges = [pair for pair, m in zip(listed, made) if m in vocab and pair[0] in vocab and pair[1] in vocab]
    return Tokenizer(
        format="hf-json", source=str(path), sha256=bytes_sha256(data), vocab=vocab, merges=merges,
        pretokenizer=rules, special_tokens=added, byte_fallback=byte_fallback, unk_id=unk_id,
        listed_merges=len(listed), redundant_merges_removed=len(listed) - len(merges) - len(missing),
        unreachable_tokens=unreachable, pretokenizer_source="option" if pretokenizer else "file",
        ignore_merges=bool(model.get("ignore_merges", False)), notes=notes,
    )


def _has_byte_level(pre_tokenizer: object) -> bool:
    return any(step.get("type") == "ByteLevel" for step in _walk(pre_tokenizer, "pretokenizers"))
