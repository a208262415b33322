"""The ``corpuspack`` command line: one short function per command over the library."""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.text import Text
from typer._click import exceptions as click_exceptions
from typer.exceptions import Abort as TyperAbort

from corpuspack.errors import CorpusError, UsageError

app = typer.Typer(
    name="corpuspack",
    help="Turn a folder of raw source documents into a versioned, validated, published corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# no markup, emoji codes or highlighting: names, ids and text come from data
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)
T = TypeVar("T")


def _print_version(value: bool) -> None:
    if value:
        import corpuspack

        out.print(f"corpuspack {corpuspack.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", help="Print corpuspack's version and exit.", is_eager=True,
        callback=_print_version)] = False,
) -> None:
    """Turn a folder of raw source documents into a versioned, validated, published corpus."""


def visible(text: object) -> str:
    """``text`` with control and format characters (escape sequences, bidi overrides,
    newlines inside a name) shown as escapes, so data can never drive the terminal."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in value)


def say(text: object, console: Console = out) -> None:
    """Print one line of output; everything in it is shown as plain text."""
    console.print(Text(visible(text)))

Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="Config file (corpus.toml or pyproject.toml). Default: found in the "
    "current folder.", dir_okay=False)]


def _error(message: str, code: int) -> typer.Exit:
    err.print(Text.assemble(("error:", "red"), " ", visible(message)))
    return typer.Exit(code)


def _run(debug: bool, fn: Callable[[], T]) -> T:
    """Call ``fn``; turn any error into one line on stderr and an exit code (a CorpusError's
    own; 1 for a system error such as a full disk; 70 for a bug; 130 for Ctrl-C), with
    ``--debug`` after its traceback (the exit code is the same either way)."""
    try:
        return fn()
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if debug:
            traceback.print_exc()
        raise _exit_for(exc) from None


def _exit_for(exc: BaseException) -> typer.Exit:
    """The one line and exit code of an error (see :func:`_run`)."""
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted; the previous package is unchanged")
        return typer.Exit(130)
    if isinstance(exc, CorpusError):
        return _error(str(exc), exc.exit_code)
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}:{where}".rstrip(":"), 1)
    if isinstance(exc, MemoryError):
        return _error("out of memory: lower --workers or the size limits in [options]", 1)
    if isinstance(exc, RecursionError):
        return _error("input nested too deeply", 1)
    return _error(f"internal error: {type(exc).__name__}: {exc} (run again with --debug "
                  "for the traceback, and please report it)", 70)


_INVISIBLE = re.compile("[\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                        "\ufeff\ufff9-\ufffb]")


def _print_json(value: Any) -> None:
    """JSON on stdout; characters that could drive a terminal (C1 controls, bidi and other
    format characters, line separators) written as \\u escapes, which JSON readers undo."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    text = _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    sys.stdout.buffer.write(text.encode())
    sys.stdout.flush()


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


@app.command()
def build(
    source: Annotated[Path | None, typer.Argument(
        help="Folder of raw sources. Without it, build the corpus of the config.",
        file_okay=False)] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Package folder to write (with SOURCE).", file_okay=False)] = None,
    config: ConfigOpt = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=1, help="Worker processes. Default: all cores.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail (exit 1) if any file or record is skipped.")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if the committed package differs from a "
        "fresh build.")] = False,
    keep_near: Annotated[bool, typer.Option(
        "--keep-near-duplicates", help="Keep near-duplicates, marked with their cluster id, "
        "instead of dropping them.")] = False,
    cache_dir: Annotated[Path | None, typer.Option(
        "--cache", help="Folder of per-file results kept between builds (default: "
        "CORPUSPACK_CACHE, else .corpuspack-cache beside datapackage.json).",
        file_okay=False)] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Read and process every file; keep no results.")] = False,
    executor_name: Annotated[str, typer.Option(
        "--executor", help="Where the parallel work runs: local (a process pool, the "
        "default), serial, or ray (pip install \"corpuspack[ray]\").")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="With --executor ray: join the cluster at this address "
        "(HOST:PORT, or auto) instead of starting a local Ray instance.")] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Normalise sources into documents and write the corpus package."""
    from corpuspack.build import build as run_build
    from corpuspack.config import load_config, zero_config
    from corpuspack.progress import RichProgress, wants_progress

    def go() -> int:
        if source is not None:
            if out_dir is None:
                raise UsageError("--out PACKAGE_DIR is required with SOURCE_DIR")
            cfg = zero_config(source, out_dir, load_config(config) if config else None)
        elif out_dir is not None:
            raise UsageError("--out needs a SOURCE_DIR")
        else:
            cfg = load_config(config)
        if keep_near:
            cfg = replace(cfg, near_dedup=replace(cfg.near_dedup, keep=True))
        from corpuspack.build import DEFAULT_CACHE
        from corpuspack.executors import get_executor

        if no_cache and cache_dir is not None:
            raise UsageError("--cache and --no-cache exclude each other")
        cache: Any = None if no_cache else (cache_dir or DEFAULT_CACHE)

        if ray_address and executor_name != "ray":
            raise UsageError("--ray-address goes with --executor ray")
        options = {"address": ray_address} if ray_address else {}
        executor = get_executor(executor_name, workers=workers, **options)
        show = wants_progress(err) and not json_out
        try:
            with (RichProgress(err) if show else _null()) as progress:
                report = run_build(cfg, workers=workers, strict=strict, check=check,
                                   progress=progress, executor=executor, cache=cache)
        finally:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
        if json_out:
            extra: dict[str, Any] = {"data_files": report.data_files}
            if check:
                extra["stale"] = report.check_differences
            report.write_to(sys.stdout.buffer, timing=True, extra=extra)
            sys.stdout.flush()
        else:
            _print_build_summary(report, cfg, check)
        return 1 if check and report.check_differences else 0

    code = _run(debug, go)
    raise typer.Exit(code)


class _null:
    def __enter__(self) -> Any:
        from corpuspack.progress import NoProgress

        return NoProgress()

    def __exit__(self, *args: object) -> None:
        return None


def _print_build_summary(report: Any, cfg: Any, check: bool) -> None:
    s = report.summary(timing=True)
    say(f"files: {s['files_seen']} seen, {s['files_read']} read, "
        f"{s['files_skipped']} skipped; {s['records_skipped']} JSONL records skipped")
    say(f"documents: {s['documents_read']} read, {s['duplicates_dropped']} exact and "
        f"{s['near_duplicates_dropped']} near duplicates dropped, "
        f"{s['documents_filtered']} filtered out, {s['documents_written']} written; "
        f"{s['repaired_mojibake']} repaired from mojibake")
    for rule, counts in s["boilerplate_removed"].items():
        say(f"  boilerplate {rule}: {counts.get('lines', 0)} lines "
            f"({counts.get('chars', 0)} characters) from {counts.get('documents', 0)} "
            "documents")
    for note, count in s["notes"].items():
        say(f"  note ({count}): {note}")
    rate = f"{s['mb_per_second']} MB/s" if s["mb_per_second"] is not None else "-"
    say(f"bytes: {_human_bytes(s['bytes_in'])} in, {_human_bytes(s['bytes_out'])} out, "
        f"{s['seconds']:.2f} s ({rate})")
    for reason, count in s["skipped_by_reason"].items():
        say(f"  skipped ({count}): {reason}")
    for skip in report.first_skipped:
        where = f"{skip.path}#{skip.record}" if skip.record else skip.path
        say(f"    {where}: {skip.reason}")
    if report.skip_count > len(report.first_skipped):
        say(f"    ... {report.skip_count - len(report.first_skipped)} more (see --json or "
            "the build report)")
    if check:
        if report.check_differences:
            say("stale: the committed package differs from a fresh build in:")
            for name in report.check_differences:
                say(f"  {name}")
            say("run 'corpuspack build' and commit the result")
        else:
            say("up to date: a fresh build gives the committed package byte for byte")
    elif report.from_record:
        say(f"up to date: nothing written; {cfg.data_dir} and {cfg.descriptor} hold what "
            "this build gives (the counts above are those of the build recorded for these "
            "inputs)")
    else:
        say(f"wrote {len(report.data_files)} data file(s) to {cfg.data_dir} "
            f"and {cfg.descriptor}")


@app.command()
def validate(
    path: Annotated[Path | None, typer.Argument(
        help="Package folder or datapackage.json. Default: the corpus of the config, else "
        "./datapackage.json.")] = None,
    base: Annotated[str | None, typer.Option(
        "--base", help="Also fail when documents changed since this version (folder, "
        "datapackage.json or git revision; 'auto': the newest release tag) but the version "
        "did not grow.")] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Validate a corpus package (exit 0 valid, 1 invalid, 2 misuse)."""
    from corpuspack.validate import validate_package

    def go() -> int:
        report = validate_package(path or _default_descriptor(), base)
        if json_out:
            _print_json(report.to_dict())
            return 0 if report.valid else 1
        state = Text("valid", "green") if report.valid else Text("invalid", "red")
        out.print(Text.assemble(visible(report.descriptor), ": ", state,
                                f" ({report.resources} data file(s), {report.documents} "
                                "documents)"))
        for p in report.problems:
            where = ":".join(str(x) for x in (p.resource, p.line) if x is not None)
            field = f" [{p.field}]" if p.field else ""
            say(f"  {where or 'package'}{field}: {p.code}: {p.message}")
        if report.problems_not_listed:
            say(f"  ... and {report.problems_not_listed} more problems")
        for w in report.warnings:
            where = ":".join(str(x) for x in (w.resource, w.line) if x is not None)
            say(f"  warning {where}: {w.code}: {w.message}")
        if report.warnings_not_listed:
            say(f"  ... and {report.warnings_not_listed} more warnings")
        for note in report.notes:
            say(f"  note: {note}")
        return 0 if report.valid else 1

    raise typer.Exit(_run(debug, go))


def _default_descriptor() -> Path:
    """datapackage.json of the config in the current folder, else ./datapackage.json."""
    from corpuspack.config import load_config

    try:
        return load_config().descriptor
    except CorpusError:
        return Path("datapackage.json")


PackageArg = Annotated[Path | None, typer.Argument(
    help="Package folder (with datapackage.json). Default: the corpus of the config.",
    file_okay=False)]


@app.command()
def card(
    package: PackageArg = None,
    config: ConfigOpt = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if DATA_CARD.md is stale.")] = False,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write DATA_CARD.md and its plots into this folder instead "
        "(needed for a release folder, which publish writes whole).", file_okay=False)
    ] = None,
    debug: Debug = False,
) -> None:
    """(Re)generate DATA_CARD.md and its plots from the package, keeping hand-written text."""

    def go() -> int:
        from corpuspack.card import update
        from corpuspack.project import locate

        project = locate(package, config)
        if out_dir is not None:
            project = _card_elsewhere(project, out_dir)
        elif project.package.is_release:
            raise UsageError(f"{project.descriptor.parent} is a release folder (written whole "
                             "by publish, checked by SHA256SUMS): give --out DIR for its card")
        stale = update(project, check)
        if check:
            for name in stale:
                say(f"stale: {name}")
            say("run 'corpuspack card' and commit the result" if stale
                else f"{project.card}: up to date")
            return 1 if stale else 0
        say(f"wrote {project.card} and plots in {project.plots}")
        return 0

    raise typer.Exit(_run(debug, go))


def _card_elsewhere(project: Any, out_dir: Path) -> Any:
    from corpuspack.project import CARD
    from corpuspack.safefs import is_within

    if os.path.islink(out_dir):
        raise UsageError(f"--out {out_dir} is a symbolic link: corpuspack does not write "
                         "through links")
    if project.package.is_release and is_within(out_dir, project.descriptor.parent):
        raise UsageError(f"--out {out_dir} lies inside the release folder, which publish "
                         "writes whole: choose a folder outside it")
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    return replace(project, card=root / CARD, plots=root / "card", root=root)


@app.command()
def publish(
    package: PackageArg = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", "-o", help="Release folder to write (replaced whole, if everything in it "
        "was written by corpuspack).", file_okay=False)
    ] = Path("release"),
    config: ConfigOpt = None,
    push: Annotated[str | None, typer.Option(
        "--push", help="Upload the release to this Hugging Face dataset repository.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --push: list what would be uploaded, upload nothing.")] = False,
    base: Annotated[str | None, typer.Option(
        "--base", help="Version the changelog entry compares with. Default: the previous "
        "release tag.")] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Write a release: Parquet, SHA256SUMS, card, Croissant; optionally push to the Hub."""
    from corpuspack.project import locate
    from corpuspack.publish import publish_project

    def go() -> None:
        project = locate(package, config)
        if dry_run and not (push or project.hub_repo):
            raise UsageError("--dry-run lists what an upload would send: give --push REPO_ID "
                             "(or hub_repo in the config)")
        release = publish_project(project, out_dir, base=base, push_to=push, dry_run=dry_run)
        if json_out:
            _print_json({"folder": str(release.folder), "documents": release.documents,
                         "files": [{"path": p, "bytes": b, "sha256": s}
                                   for p, b, s in release.files],
                         "pushed": release.pushed, "warnings": release.warnings,
                         "would_upload": [{"path": p, "bytes": b} for p, b in release.plan]
                         if dry_run else None})
            return
        say(f"wrote {release.folder}: {release.documents} documents in "
            f"{release.parquet_files} Parquet file(s), {len(release.files) + 1} files")
        for warning in release.warnings:
            say(f"warning: {warning}", err)
        if dry_run:
            target = push or project.hub_repo or "(no repository given)"
            say(f"dry run: would upload to {target}:")
            for path, size in release.plan:
                say(f"  {path} ({_human_bytes(size)})")
        elif release.pushed:
            say(f"pushed: {release.pushed}")

    _run(debug, go)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="Package folder, datapackage.json or git revision.")],
    new: Annotated[str | None, typer.Argument(
        help="Package folder, datapackage.json or git revision. Default: the corpus of the "
        "config.")] = None,
    text: Annotated[bool, typer.Option(
        "--text", help="Also show a unified diff of each changed text.")] = False,
    doc_id: Annotated[str | None, typer.Option(
        "--id", help="Only this document (its id or first digits); with --text, its text.")
    ] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Documents added, removed and changed between two versions of a corpus: which
    columns changed, and with --text how their texts differ."""
    from corpuspack.versions import KINDS
    from corpuspack.versions import diff as diff_packages

    def go() -> None:
        texts: bool | str = (doc_id or True) if text else False
        result = diff_packages(_open(old), _open(new), texts=texts)

        def wanted(entry_id: str) -> bool:
            return doc_id is None or entry_id.startswith(doc_id)

        if json_out:
            head = result.summary()
            sys.stdout.write(orjson.dumps(head)[:-1].decode())
            for kind in KINDS:  # stream the id lists: they can be long
                sys.stdout.write(f', "{kind}": [')
                first = True
                for entry_id, _ in result.entries(kind):
                    if wanted(entry_id):
                        sys.stdout.write(("" if first else ",") + f'"{entry_id}"')
                        first = False
                sys.stdout.write("]")
            sys.stdout.write(', "details": {')
            first = True
            for kind in KINDS:
                for entry_id, name, columns in result.details(kind):
                    if wanted(entry_id):
                        item = {"kind": kind, "name": name, "columns": columns}
                        sys.stdout.write(("" if first else ",") + orjson.dumps(entry_id).decode()
                                         + ":" + orjson.dumps(item).decode())
                        first = False
            sys.stdout.write("}")
            if text:
                sys.stdout.write(', "texts": {' + ",".join(
                    orjson.dumps(i).decode() + ":" + orjson.dumps(t).decode()
                    for i, _, t in result.text_diffs()) + "}")
            sys.stdout.write("}\n")
            return
        c = result.counts
        say(f"{result.old} ({result.old_version}) -> {result.new} ({result.new_version})")
        say(f"{c['added']} added, {c['removed']} removed, {c['changed']} changed, "
            f"{c['unchanged']} unchanged")
        for kind in KINDS:
            shown = 0
            for entry_id, name, columns in result.details(kind):
                if not wanted(entry_id):
                    continue
                if shown == 20 and doc_id is None:
                    say(f"  ... {c[kind] - 20} more {kind}")
                    break
                what = f" ({', '.join(columns)})" if columns else ""
                say(f"  {kind:8} {entry_id} {name}{what}")
                shown += 1
        for _, _, patch in result.text_diffs():
            for line in patch.splitlines():
                say(line)

    _run(debug, go)


@app.command()
def release(
    bump: Annotated[str, typer.Argument(help="major, minor, patch, or the new version.")],
    push: Annotated[str | None, typer.Option(
        "--push", help="Also upload the release to this Hugging Face dataset repository.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Build in a temporary folder and say what would be released.")
    ] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=1, help="Worker processes. Default: all cores.")] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Bump the version, rebuild, validate, card, changelog, publish, commit and tag."""
    from corpuspack.release import release as run_release

    def go() -> None:
        result = run_release(Path.cwd(), bump, push_to=push, dry_run=dry_run, workers=workers)
        if json_out:
            _print_json({"old_version": result.old_version, "version": result.version,
                         "tag": result.tag, "base": result.base, "counts": result.counts,
                         "commit": result.commit, "pushed": result.pushed,
                         "release_folder": str(result.release_folder)
                         if result.release_folder else None, "dry_run": result.dry_run})
            return
        c = result.counts
        since = f"since {result.base}" if result.base else "(first release)"
        say(f"{'would release' if dry_run else 'released'} {result.tag} "
            f"({result.old_version} -> {result.version}): {c.get('added', 0)} added, "
            f"{c.get('removed', 0)} removed, {c.get('changed', 0)} changed {since}")
        if result.commit:
            say(f"commit {result.commit[:12]}, tag {result.tag}, release folder "
                f"{result.release_folder}")
        if result.pushed:
            say(f"pushed: {result.pushed}")

    _run(debug, go)


def _open(spec: str | None, config: Path | None = None) -> Any:
    """A package named on the command line: a folder, datapackage.json, release folder or
    git revision; without one, the corpus of ``config``, by default the config in the
    current folder."""
    from corpuspack.project import locate
    from corpuspack.reader import open_package

    try:
        project = locate(None, config)
    except CorpusError:
        if config is not None:
            raise
        if spec is None:
            return open_package(_default_descriptor())
        return open_package(spec)
    return project.package if spec is None else project.open_revision(spec)


PackageSpec = Annotated[str | None, typer.Option(
    "--package", "-p", help="Package folder, datapackage.json, release folder or git revision. "
    "Default: the corpus of the config.")]


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from rich.table import Table

    table = Table(show_edge=False, highlight=False)
    for name in columns:
        table.add_column(visible(name), overflow="fold")
    for row in rows:
        table.add_row(*(Text(visible(_cell(v))) for v in row))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode() \
        if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 200 else text[:199] + "…"


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(
        help="One SQL statement (DuckDB) over the view 'documents'.")],
    package: PackageSpec = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most rows shown.")] = 1000,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Query the documents with SQL (DuckDB), e.g. "SELECT language, count(*) FROM documents
    GROUP BY ALL"."""
    from corpuspack.explore import query

    def go() -> None:
        result = query(_open(package), statement, limit)
        if json_out:
            _print_json({"columns": result.columns, "rows": result.to_dicts(),
                         "truncated": result.truncated})
            return
        _table(result.columns, result.rows)
        if result.truncated:
            say(f"... more than {limit} rows (use --limit)", err)

    _run(debug, go)


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(help="Document id (or its first digits).")],
    package: PackageSpec = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """One document: its metadata, its text, and why it was kept."""
    from corpuspack.explore import document, why_kept

    def go() -> None:
        pkg = _open(package)
        doc = document(pkg, doc_id)
        why = why_kept(pkg, doc)
        if json_out:
            _print_json({"document": doc, "why": {
                "filters": {k: {"limit": a, "value": b} for k, (a, b) in why.filters.items()},
                "exact_duplicates": why.exact_duplicates,
                "near_duplicates": [{"id": i, "similarity": s}
                                    for i, s in why.near_duplicates]}})
            return
        for key, value in doc.items():
            if key not in ("text", "meta") and value not in (None, ""):
                say(f"{key}: {_cell(value)}")
        for key, value in sorted((doc.get("meta") or {}).items()):
            say(f"meta.{key}: {_cell(value)}")
        say("")
        for line in doc["text"].split("\n"):
            say(line)
        say("")
        say("kept: " + ("; ".join(f"{rule} {limit} (its value {value})" for rule, (limit, value)
                                  in why.filters.items()) or "no quality filters were set"))
        if why.exact_duplicates:
            say(f"  {len(why.exact_duplicates)} exact duplicate(s) dropped for it: "
                + ", ".join(why.exact_duplicates[:10]))
        if why.near_duplicates:
            say(f"  {len(why.near_duplicates)} near duplicate(s) dropped for it: "
                + ", ".join(f"{i} ({s:.2f})" for i, s in why.near_duplicates[:10]))

    _run(debug, go)


@app.command()
def sample(
    n: Annotated[int, typer.Argument(help="How many documents.", min=1)] = 5,
    package: PackageSpec = None,
    seed: Annotated[int, typer.Option("--seed", help="Another seed, another sample.")] = 0,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """A few documents, the same ones for the same corpus and seed."""
    from corpuspack.explore import sample as take

    def go() -> None:
        docs = take(_open(package), n, seed)
        if json_out:
            _print_json(docs)
            return
        _table(["id", "source", "language", "title", "excerpt"],
               [(d["id"], d["source"], d.get("language"), d.get("title"),
                 " ".join(d["excerpt"].split())[:120]) for d in docs])

    _run(debug, go)


@app.command()
def stats(
    package: PackageSpec = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Group by language, format, source (top folder), license, encoding or "
        "split (the release's, or the config's [splits]).")
    ] = None,
    config: ConfigOpt = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Documents, words and characters, in total or by group."""
    from corpuspack.config import load_config
    from corpuspack.explore import stats as count
    from corpuspack.splits import layout_of_package

    def go() -> None:
        pkg = _open(package, config)
        layout = layout_of_package(pkg, load_config(config)) \
            if by == "split" and config is not None else None
        result = count(pkg, by, layout)
        if json_out:
            _print_json(result.to_dicts())
        else:
            _table(result.columns, result.rows)

    _run(debug, go)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder of the new corpus repository.",
                                           file_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Package name.")] = None,
    debug: Debug = False,
) -> None:
    """Scaffold a corpus repository: config, sources folder, card, .gitignore, CI workflow."""
    from corpuspack.scaffold import install_source, scaffold

    created = _run(debug, lambda: scaffold(folder, name))
    for path in created:
        say(f"created {path}")
    source = install_source()
    say(f"the CI workflow installs {source.spec} ({source.why})")
    if not source.reachable:
        say(f"warning: {source.why}", err)
    say(f"next: put sources in {folder / 'corpus' / 'sources'}, then run "
        "'corpuspack build' in that folder")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a command the way Ctrl-C does


def main() -> None:
    """Entry point of the ``corpuspack`` script."""
    signal.signal(signal.SIGTERM, _terminate)
    if sys.argv[1:2] == ["build"]:
        # a build process and its workers hand pyarrow no pandas objects (release and
        # publish do, through datasets and frictionless). The name is
        # corpuspack.runs.PYARROW_WITHOUT_PANDAS, not imported here: 0.2 s a start
        os.environ.setdefault("CORPUSPACK_PYARROW_WITHOUT_PANDAS", "1")
    try:
        code = app(standalone_mode=False, prog_name="corpuspack")
    except click_exceptions.NoArgsIsHelpError:  # the help was shown
        code = 2
    except click_exceptions.ClickException as exc:  # a usage error: one line, as any other
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else "corpuspack"
        err.print(Text.assemble(("error:", "red"), " ", visible(exc.format_message()),
                                f" (see '{path} --help')"))
        code = exc.exit_code
    except TyperAbort:  # end of input at a prompt
        err.print("interrupted")
        code = 1
    finally:
        # The process ends here: the garbage collections of interpreter shutdown would walk
        # every object only to find what the exit frees anyway. Frozen, they skip them: a
        # build of 5,000 documents ends 0.14 s sooner (median of 5 runs, 1.92 -> 1.78 s).
        # Objects still referenced are freed as at any exit; only garbage cycles are left
        # to the OS, and every file corpuspack writes is closed before a command returns.
        gc.freeze()
    sys.exit(code if type(code) is int else 0)  # a command's own return value is no code


if __name__ == "__main__":
    main()
