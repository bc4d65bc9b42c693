"""`forensics profiles build`: category profiles for `forensics scan`, saved for reuse."""

from __future__ import annotations

import sys

import click

from cli.common import categories_option


@click.group("profiles", context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Category profiles (naive Bayes over byte n-grams and word tokens, byte-pair distributions) for `forensics scan`."""


@command.command("build")
@categories_option("languages,code")
@click.option("--split", type=click.Choice(["train", "count", "all"]), default="train", show_default=True)
@click.option("--bits", type=int, default=17, show_default=True, help="log2 of the number of n-gram buckets.")
@click.option("--min-order", type=int, default=3, show_default=True, help="Shortest byte n-gram.")
@click.option("--max-order", type=int, default=3, show_default=True,
              help="Longest byte n-gram (4 is 1-2% more accurate on code, 2-3x slower).")
@click.option("--token-weight", type=float, default=2.0, show_default=True,
              help="Weight of the word-token features beside the byte n-grams (0: bytes only, about 10% faster "
                   "scoring, 2 points less accurate on code).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Where to write the .npz.")
def build(categories, split, bits, min_order, max_order, token_weight, output):
    """Build profiles from category samples and save them (pass to `forensics scan --profiles`).

    \b
    EXAMPLES
      forensics profiles build -o profiles.npz
      forensics profiles build --categories languages-wide -o wide.npz
    """
    from forensics.composition.profiles import DEFAULT_SETS, build_profiles

    from cli.common import split_names

    profiles = build_profiles(split_names(categories) or DEFAULT_SETS, split=split, bits=bits, min_order=min_order,
                              max_order=max_order, token_weight=token_weight, progress=sys.stderr.isatty())
    profiles.save(output)
    tokens = "" if profiles.token_table is None else f" + {profiles.token_table.nbytes / 1e6:.0f} MB word-token table"
    groups = profiles.info.get("refined_groups", [])
    models = f", group models over {len(groups)} groups of confused categories" if groups else ""
    click.echo(f"wrote {output}: {len(profiles.names)} categories, {profiles.table.nbytes / 1e6:.0f} MB byte n-gram "
               f"table{tokens}{models}, fingerprint {profiles.fingerprint}", err=True)
