"""`forensics merge`: add up the partials of a scan run as an array job (--rank/--world-size)."""

from __future__ import annotations

import click

from cli.common import json_option, plot_option


@click.command("merge", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@json_option()
@click.option("--labels", type=click.Choice(["jsonl", "parquet"]), help="Also join per-document labels.")
@plot_option("the composition")
@click.option("--png", is_flag=True, hidden=True, help="Older spelling: --plot DIRECTORY/composition.png.")
@click.option("--allow-missing", is_flag=True, help="Merge what is finished even if some units are not.")
def command(directory, as_json, labels, plot, png, allow_missing):
    """Merge the finished units of a scan directory into summary.json and composition.csv.

    Partials add up exactly (counts and pair histograms), in any order, so the result equals a
    single-machine scan of the same shards.

    \b
    EXAMPLES
      forensics merge /shared/scan
      forensics merge out/scan --json --labels jsonl
    """
    from forensics._results import DirectoryLock
    from forensics.composition.partials import read_plan
    from forensics.composition.results import merge_scan

    from cli.scan import finish

    read_plan(directory)  # a directory that holds no scan is refused before anything is written to it
    with DirectoryLock(directory, name=".scan.lock", what="scan"):
        result = merge_scan(directory, allow_missing=allow_missing)
        finish(result, output=directory, as_json=as_json, labels=labels, png=png, plot=plot)
