"""HF `tokenizers` JSON (``tokenizer.json``) with a BPE model, byte-level or not.

Merges may be ``"a b"`` strings (older files) or ``[a, b]`` pairs (tokenizers >= 0.20). Files that list
more merges than tokens (every split of a token, grouped by the rank of the token they make, as in
Llama 3 and Gemma 3) are rebuilt from the vocabulary ranks, which keeps exactly the merge BPE applies for
each token; the redundant ones are counted. The normaliser and pre-tokenizer are translated into our
:class:`~forensics.bpe.pretokenize.PreTokenizer`.

What it leaves out: WordPiece/Unigram models, post-processors, decoders (only used to detect byte level).

>>> tok = load_tokenizer("tokenizer.json")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path

from forensics._results import bytes_sha256
from forensics.bpe.bytelevel import CHAR_TO_BYTE, is_byte_level_spelling
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
    """Flatten Sequence nodes of a normaliser/pre-tokenizer tree into a list of steps."""
    if not isinstance(node, dict):
        return []
    if node.get("type") == "Sequence":
        return [step for child in node.get(key, []) for step in _walk(child, key)]
    return [node]


def _pattern_of(path: Path, step: dict) -> str:
    pattern = step.get("pattern", {})
    if "Regex" in pattern:
        return pattern["Regex"]
    if "String" in pattern:
        return re.escape(pattern["String"])
    raise input_error(path, f"Split step without a pattern: {step}")


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
            text_ops.append(("prepend", step["prepend"], "always"))
        elif kind == "Replace":
            pattern = step.get("pattern", {})
            if "String" not in pattern:
                raise input_error(path, "regex Replace normaliser is not supported", "open an issue with the file")
            text_ops.append(("replace", pattern["String"], step.get("content", "")))
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
            behavior = _BEHAVIORS.get(step.get("behavior", "Isolated"), "isolated")
            steps.append(("split", Split(_pattern_of(path, step), behavior, bool(step.get("invert", False)))))
        elif kind == "Digits":
            steps.append(("digits", bool(step.get("individual_digits", False))))
        elif kind == "Metaspace":
            replacement = step.get("replacement", METASPACE)
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
            raise input_error(path, f"pre-tokenizer {kind} is not supported", "open an issue with the file")
    return PreTokenizer(name="hf-json", normalizer=unicode_form, text_ops=tuple(text_ops), steps=tuple(steps),
                        byte_level=byte_level, add_prefix_space=add_prefix_space, notes=tuple(notes))


def read(path: Path, data: bytes, parsed: object, *, format_name: str, pretokenizer=None) -> Tokenizer:
    if not sniff(format_name, data, parsed):
        raise input_error(path, "not a tokenizer.json with a BPE model")
    assert isinstance(parsed, dict)
    model = parsed["model"]
    raw_vocab: dict[str, int] = model["vocab"]
    added = {entry["content"]: int(entry["id"]) for entry in parsed.get("added_tokens") or []
             if isinstance(entry, dict) and "content" in entry}
    regular = {tok: i for tok, i in raw_vocab.items() if tok not in added}
    spelled_bytes = is_byte_level_spelling(t for t in regular if not _BYTE_PIECE.match(t))
    decoder_types = {step.get("type") for step in _walk(parsed.get("decoder"), "decoders")}
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
                raise input_error(path, f"token {token!r} is not in byte-level spelling",
                                  "the file mixes byte-level and plain tokens") from None
        return token.encode("utf-8", "surrogatepass")

    vocab: dict[bytes, int] = {}
    byte_fallback: dict[int, int] = {}
    unk_token = model.get("unk_token")
    unk_id = raw_vocab.get(unk_token) if unk_token else None
    if model.get("byte_fallback"):
        for token, token_id in raw_vocab.items():
            if fallback := _BYTE_PIECE.match(token):
                byte_fallback[int(fallback.group(1), 16)] = token_id
                added.pop(token, None)
                regular.pop(token, None)
    for token, token_id in regular.items():
        if token == unk_token:
            continue
        vocab[to_bytes(token)] = token_id

    listed: list[tuple[bytes, bytes]] = []
    for number, merge in enumerate(model["merges"]):
        if isinstance(merge, str):
            parts = merge.split(" ")
            if len(parts) != 2:
                raise input_error(path, f"merge {number} {merge!r} is not two tokens", "the file is corrupt")
        elif isinstance(merge, list) and len(merge) == 2:
            parts = merge
        else:
            raise input_error(path, f"merge {number} {merge!r} is neither 'a b' nor [a, b]", "the file is corrupt")
        listed.append((to_bytes(parts[0]), to_bytes(parts[1])))

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
    specials = {content: token_id for content, token_id in added.items()}
    return Tokenizer(
        format="hf-json", source=str(path), sha256=bytes_sha256(data), vocab=vocab, merges=merges,
        pretokenizer=rules, special_tokens=specials, byte_fallback=byte_fallback, unk_id=unk_id,
        listed_merges=len(listed), redundant_merges_removed=len(listed) - len(merges) - len(missing),
        unreachable_tokens=unreachable, pretokenizer_source="option" if pretokenizer else "file",
        ignore_merges=bool(model.get("ignore_merges", False)), notes=notes,
    )


def _has_byte_level(pre_tokenizer: object) -> bool:
    return any(step.get("type") == "ByteLevel" for step in _walk(pre_tokenizer, "pretokenizers"))
