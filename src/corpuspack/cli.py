"""The ``corpuspack`` command line: one short function per command over the library."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.text import Text

from corpuspack.errors import CorpusError, UsageError

app = typer.Typer(
    name="corpuspack",
    help="Turn a folder of raw source documents into a versioned, validated, published corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="Config file (corpus.toml or pyproject.toml). Default: found in the "
    "current folder.", dir_okay=False)]


def _run(debug: bool, fn: Callable[[], T]) -> T:
    """Call ``fn``; turn a CorpusError into one line on stderr and its exit code."""
    try:
        return fn()
    except CorpusError as exc:
        if debug:
            raise
        err.print(Text.assemble(("error:", "red"), f" {exc}"))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted; the previous package is unchanged")
        raise typer.Exit(130) from None


def _print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2
                                         | orjson.OPT_APPEND_NEWLINE))
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
        show = wants_progress(err) and not json_out
        with (RichProgress(err) if show else _null()) as progress:
            report = run_build(cfg, workers=workers, strict=strict, check=check,
                               progress=progress)
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
    out.print(f"files: {s['files_seen']} seen, {s['files_read']} read, "
              f"{s['files_skipped']} skipped; {s['records_skipped']} JSONL records skipped")
    out.print(f"documents: {s['documents_read']} read, {s['duplicates_dropped']} exact and "
              f"{s['near_duplicates_dropped']} near duplicates dropped, "
              f"{s['documents_filtered']} filtered out, {s['documents_written']} written; "
              f"{s['repaired_mojibake']} repaired from mojibake")
    for rule, counts in s["boilerplate_removed"].items():
        out.print(f"  boilerplate {rule}: {counts.get('lines', 0)} lines "
                  f"({counts.get('chars', 0)} characters) from {counts.get('documents', 0)} "
                  "documents")
    rate = f"{s['mb_per_second']} MB/s" if s["mb_per_second"] is not None else "-"
    out.print(f"bytes: {_human_bytes(s['bytes_in'])} in, {_human_bytes(s['bytes_out'])} out, "
              f"{s['seconds']:.2f} s ({rate})")
    for reason, count in s["skipped_by_reason"].items():
        out.print(f"  skipped ({count}): {reason}")
    for skip in report.skipped[:10]:
        where = f"{skip.path}#{skip.record}" if skip.record else skip.path
        out.print(f"    {where}: {skip.reason}")
    if len(report.skipped) > 10:
        out.print(f"    ... {len(report.skipped) - 10} more (see --json or the build report)")
    if check:
        if report.check_differences:
            out.print("stale: the committed package differs from a fresh build in:")
            for name in report.check_differences:
                out.print(f"  {name}")
            out.print("run 'corpuspack build' and commit the result")
        else:
            out.print("up to date: a fresh build gives the committed package byte for byte")
    else:
        out.print(f"wrote {len(report.data_files)} data file(s) to {cfg.data_dir} "
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

    report = _run(debug, lambda: validate_package(path or _default_descriptor(), base))
    if json_out:
        _print_json(report.to_dict())
    else:
        state = "[green]valid[/green]" if report.valid else "[red]invalid[/red]"
        out.print(f"{report.descriptor}: {state} ({report.resources} data file(s), "
                  f"{report.documents} documents)", markup=True)
        for p in report.problems:
            where = ":".join(str(x) for x in (p.resource, p.line) if x is not None)
            field = f" [{p.field}]" if p.field else ""
            out.print(f"  {where or 'package'}{field}: {p.code}: {p.message}", markup=False)
        if report.problems_not_listed:
            out.print(f"  ... and {report.problems_not_listed} more problems")
    raise typer.Exit(0 if report.valid else 1)


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
    debug: Debug = False,
) -> None:
    """(Re)generate DATA_CARD.md and its plots from the package, keeping hand-written text."""
    from corpuspack.card import update
    from corpuspack.project import locate

    def go() -> int:
        project = locate(package, config)
        stale = update(project, check)
        if check:
            for name in stale:
                out.print(f"stale: {name}")
            out.print("run 'corpuspack card' and commit the result" if stale
                      else f"{project.card}: up to date")
            return 1 if stale else 0
        out.print(f"wrote {project.card} and plots in {project.plots}")
        return 0

    raise typer.Exit(_run(debug, go))


@app.command()
def publish(
    package: PackageArg = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", "-o", help="Release folder to write (replaced whole).", file_okay=False)
    ] = Path("dist"),
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
        release = publish_project(project, out_dir, base=base, push_to=push, dry_run=dry_run)
        if json_out:
            _print_json({"folder": str(release.folder), "documents": release.documents,
                         "files": [{"path": p, "bytes": b, "sha256": s}
                                   for p, b, s in release.files],
                         "pushed": release.pushed,
                         "would_upload": [{"path": p, "bytes": b} for p, b in release.plan]
                         if dry_run else None})
            return
        out.print(f"wrote {release.folder}: {release.documents} documents in "
                  f"{release.parquet_files} Parquet file(s), {len(release.files) + 1} files")
        if dry_run:
            target = push or project.hub_repo or "(no repository given)"
            out.print(f"dry run: would upload to {target}:")
            for path, size in release.plan:
                out.print(f"  {path} ({_human_bytes(size)})")
        elif release.pushed:
            out.print(f"pushed: {release.pushed}")

    _run(debug, go)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="Package folder, datapackage.json or git revision.")],
    new: Annotated[str | None, typer.Argument(
        help="Package folder, datapackage.json or git revision. Default: the corpus of the "
        "config.")] = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Documents added, removed and changed between two versions of a corpus."""
    from corpuspack.project import locate
    from corpuspack.reader import open_package
    from corpuspack.versions import KINDS
    from corpuspack.versions import diff as diff_packages

    def go() -> None:
        try:
            project = locate()
            opener = project.open_revision
        except CorpusError:
            def opener(spec: str) -> Any:
                return open_package(spec)
        result = diff_packages(opener(old), opener(new or str(_default_descriptor())))
        if json_out:
            head = result.summary()
            sys.stdout.write(orjson.dumps(head)[:-1].decode())
            for kind in KINDS:  # stream the id lists: they can be long
                sys.stdout.write(f', "{kind}": [')
                for i, (doc_id, _) in enumerate(result.entries(kind)):
                    sys.stdout.write(("," if i else "") + f'"{doc_id}"')
                sys.stdout.write("]")
            sys.stdout.write("}\n")
            return
        c = result.counts
        out.print(f"{result.old} ({result.old_version}) -> {result.new} ({result.new_version})")
        out.print(f"{c['added']} added, {c['removed']} removed, {c['changed']} changed, "
                  f"{c['unchanged']} unchanged")
        for kind in KINDS:
            for i, (doc_id, source) in enumerate(result.entries(kind)):
                if i == 20:
                    out.print(f"  ... {c[kind] - 20} more {kind}")
                    break
                out.print(f"  {kind:8} {doc_id} {source}", markup=False)

    _run(debug, go)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder of the new corpus repository.",
                                           file_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Package name.")] = None,
    debug: Debug = False,
) -> None:
    """Scaffold a corpus repository: config, sources folder, card, .gitignore, CI workflow."""
    from corpuspack.scaffold import scaffold

    created = _run(debug, lambda: scaffold(folder, name))
    for path in created:
        out.print(f"created {path}")
    out.print(f"next: put sources in {folder / 'corpus' / 'sources'}, then run "
              "'corpuspack build' in that folder")


def main() -> None:
    """Entry point of the ``corpuspack`` script."""
    app()


if __name__ == "__main__":
    main()
