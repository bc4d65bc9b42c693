#!/usr/bin/env bash
# Build the larger category sets the scan benchmark uses (about 2.5 MB per split per category where the
# sources have it; the bundled sets hold 90-300 KB) into benchmarks/data/scan-sets/{languages,code}.
# Same recipes, seed and cleaning as fixtures/build_categories.sh; packages come from the registries
# (cached in $FORENSICS_PACKAGE_CACHE, default ~/.cache/forensics/packages). About 10 minutes.
# Then: python benchmarks/bench_scan.py --categories-root benchmarks/data/scan-sets
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=benchmarks/data/scan-sets
for set in languages code; do
  "$PY" -m cli.main categories build --source "$set" --out "$OUT/$set" --mb-per-category 5 --seed 0
done
