"""Check a release folder with the clients researchers use (CI runs this on release/).

    python scripts/check_release.py release

load_dataset (normal and streaming, offline), sha256sum -c, every Croissant record,
DuckDB and pyarrow on the Parquet files, and stock frictionless on the release's
datapackage.json. Exits 1 with a line per failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def check(folder: Path) -> list[str]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import duckdb
    import frictionless
    import mlcroissant as mlc
    import pyarrow.parquet as pq
    from datasets import load_dataset

    failures = []
    descriptor = json.loads((folder / "datapackage.json").read_text())
    documents = descriptor["corpuspack"]["statistics"]["documents"]
    done = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder,
                          capture_output=True, text=True)
    if done.returncode != 0:
        failures.append(f"sha256sum -c: {done.stdout.strip() or done.stderr.strip()}")
    layout = descriptor["corpuspack"].get("layout") or {}
    counts = (layout.get("statistics") or {}).get("configs") or {
        "default": {"train": {"documents": documents}}}
    for config, splits in counts.items():
        for split, expected in splits.items():
            ds = load_dataset(str(folder), config, split=split)
            if ds.num_rows != expected["documents"]:
                failures.append(f"load_dataset({config!r}, split={split!r}): {ds.num_rows} "
                                f"rows, expected {expected['documents']}")
            if str(ds.features["date"].dtype) != "date32" or \
                    ds.features["n_words"].dtype != "int64":
                failures.append(f"load_dataset: features {ds.features}")
    streamed = sum(1 for split in counts["default"]
                   for _ in load_dataset(str(folder), split=split, streaming=True))
    if streamed != documents:
        failures.append(f"load_dataset(streaming=True): {streamed} rows")
    records = sum(1 for _ in mlc.Dataset(str(folder / "croissant.json")).records("documents"))
    if records != documents:
        failures.append(f"croissant: {records} records, expected {documents}")
    files = sorted((folder / "data").rglob("*.parquet"))
    rows = duckdb.sql("select count(*) from read_parquet(?)",
                      params=[[str(f) for f in files]]).fetchall()[0][0]
    if rows != documents:
        failures.append(f"duckdb: {rows} rows")
    total = 0
    for path in files:
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        total += len(ids)
        if ids != sorted(ids):
            failures.append(f"pyarrow: {path.relative_to(folder)} is not sorted by id")
    if total != documents:
        failures.append(f"pyarrow: {total} rows")
    report = frictionless.validate(str(folder / "datapackage.json"))
    if not report.valid:
        failures.append("frictionless: " + "; ".join(
            e.message for t in report.tasks for e in t.errors[:3]))
    return failures


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "release")
    failures = check(folder)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{folder}: {'release checks failed' if failures else 'release checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
