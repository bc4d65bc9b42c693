"""`forensics count-pairs`: adjacent byte or token pair counts of files, on CPU or GPU."""

from __future__ import annotations

import click

from cli.common import (
    file_walk_options, hash_inputs_option, json_output_options, pretokenizer_option, reader_options,
)


@click.command("count-pairs", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True)
@click.option("--tokenizer", type=click.Path(exists=True, dir_okay=False),
              help="Count token pairs instead of byte pairs, with this tokenizer file (any format: tokenizer.json, "
                   "tiktoken, merges.txt, SentencePiece, tekken; a tokenizer.json is fastest).")
@pretokenizer_option()
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True,
              help="auto = GPU when CuPy sees one, else CPU.")
@click.option("--top", "top_k", type=int, default=20, show_default=True, help="How many frequent pairs to list.")
@reader_options()
@click.option("--threads", type=int, help="CPU threads (default: all cores).")
@click.option("--batch-mb", type=int, default=64, show_default=True, help="Bytes per batch (MiB, at least 1).")
@file_walk_options()
@hash_inputs_option()
@json_output_options()
def command(paths, tokenizer, pretokenizer, device, top_k, fmt, text_key, threads, batch_mb, include_binary,
            follow_links, hash_inputs, as_json, output):
    """Count adjacent pairs inside each document (a text file, a JSONL record).

    Byte pairs are over each document's UTF-8 bytes (65,536 possible pairs); with --tokenizer, pairs
    of the tokenizer's own token ids. No pair spans two documents. `seconds` is the wall time from
    opening the first input to the final counts (start-up, kernel compilation and hashing excluded).

    A tokenizer.json is encoded by HF tokenizers; every other format by the project's exact BPE model
    in pure Python: the same ids, 4 to 8 times slower for rank files and merges.txt (measured in
    forensics/counting/pair_tokenizers.py).

    \b
    EXAMPLES
      forensics count-pairs corpus/ --json
      forensics count-pairs 'shards/*.jsonl.zst' --tokenizer tokenizer.json --top 50 -o pairs.json
      forensics count-pairs corpus/ --tokenizer cl100k_base.tiktoken --json
      forensics count-pairs big.txt --device gpu
    """
    from forensics._results import file_sha256
    from cli.common import command_provenance
    from forensics.corpus.readers import ReadStats, expand_inputs
    from forensics.counting.pairs import count_pairs, load_pair_tokenizer, resolve_backend, token_text
    from forensics.errors import ForensicsError

    from cli.common import console, emit_result

    if batch_mb < 1:
        raise ForensicsError(f"--batch-mb must be at least 1 (MiB), got {batch_mb}")
    if pretokenizer and not tokenizer:
        raise ForensicsError("--pretokenizer sets the rules of --tokenizer; give a tokenizer file too, or drop it")
    listing = ReadStats()  # symlinks left out of directories and patterns
    files = expand_inputs(list(paths), follow_links=follow_links, stats=listing)
    backend = resolve_backend(device, threads=threads)
    tok = load_pair_tokenizer(tokenizer, pretokenizer=pretokenizer) if tokenizer else None
    result = count_pairs(files, tokenizer=tok, backend=backend, format=fmt, text_key=text_key,
                         threads=threads, batch_bytes=batch_mb << 20, include_binary=include_binary)
    read = listing + result.read_stats

    def label(item: int) -> str:
        if result.kind == "bytes":
            special = {32: "␠", 10: "\\n", 9: "\\t", 13: "\\r"}
            return chr(item) if 33 <= item < 127 else special.get(item, f"\\x{item:02x}")
        text = token_text(tok, item)
        return repr(text) if text is not None else str(item)

    top = [{"pair": [a, b], "count": c, "text": [label(a), label(b)]} for a, b, c in result.top(top_k)]
    inputs = {str(f): file_sha256(f) for f in files} if hash_inputs else {}
    record = {
        "kind": result.kind,
        "device": result.device,
        "total_pairs": result.total_pairs,
        "distinct_pairs": result.distinct_pairs,
        "documents": result.documents,
        "input_bytes": result.input_bytes,
        "tokens": result.tokens if result.kind == "tokens" else None,
        "seconds": round(result.seconds, 6),
        "gb_per_second": round(result.input_bytes / result.seconds / 1e9, 3) if result.seconds else None,
        "top": top,
        "read": {"files": read.files, "skipped_files": read.skipped_files, "binary_files": read.binary_files,
                 "skipped_links": read.skipped_links, "skipped_lines": read.skipped_lines},
        "read_problems": read.problems[:20],
        "provenance": command_provenance(
            parameters={"paths": list(paths), "tokenizer": tokenizer, "pretokenizer": pretokenizer,
                        "device": device, "top": top_k,
                        "format": fmt, "text_key": text_key, "threads": threads, "batch_mb": batch_mb,
                        "include_binary": include_binary, "follow_links": follow_links},
            inputs=inputs | ({str(tokenizer): file_sha256(tokenizer)} if tokenizer else {}),
        ),
    }
    if not emit_result(record, as_json=as_json, output=output):
        return
    from rich.table import Table

    out = console()
    noun = "byte" if result.kind == "bytes" else "token"
    out.print(f"{noun} pairs on {result.device}: {result.total_pairs:,} pairs "
              f"({result.distinct_pairs:,} distinct) in {result.documents:,} documents, "
              f"{result.input_bytes / 1e6:,.1f} MB in {result.seconds:.3f} s", soft_wrap=True)
    table = Table("rank", "pair", "count", "share")
    for rank, row in enumerate(top, start=1):
        share = row["count"] / result.total_pairs if result.total_pairs else 0.0
        table.add_row(str(rank), " ".join(row["text"]), f"{row['count']:,}", f"{share:.2%}")
    out.print(table)
    if read.skipped_files or read.skipped_links:
        out.print(f"[yellow]skipped:[/] {read.skipped_files:,} files ({read.binary_files:,} binary), "
                  f"{read.skipped_links:,} symlinks leading out of the inputs", soft_wrap=True)
    for problem in read.problems[:5]:
        out.print(f"[yellow]warning:[/] {problem}", soft_wrap=True)
