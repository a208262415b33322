"""The ``corpuspack`` command line: one short function per command over the library."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

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
        err.print(f"[red]error:[/red] {exc}", markup=True)
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
        show = wants_progress(err) and not json_out
        with (RichProgress(err) if show else _null()) as progress:
            report = run_build(cfg, workers=workers, strict=strict, check=check,
                               progress=progress)
        if json_out:
            summary = report.summary(timing=True)
            summary["skipped"] = [s.to_dict() for s in report.skipped]
            summary["duplicates"] = [d.to_dict() for d in report.iter_duplicates()]
            summary["data_files"] = report.data_files
            if check:
                summary["stale"] = report.check_differences
            _print_json(summary)
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
    out.print(f"documents: {s['documents_read']} read, {s['duplicates_dropped']} exact "
              f"duplicates dropped, {s['documents_written']} written; "
              f"{s['repaired_mojibake']} repaired from mojibake")
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
    path: Annotated[Path, typer.Argument(
        help="Package folder or datapackage.json.")] = Path("datapackage.json"),
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Validate a corpus package (exit 0 valid, 1 invalid, 2 misuse)."""
    from corpuspack.validate import validate_package

    report = _run(debug, lambda: validate_package(path))
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


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error line and exit (for commands' own argument checks)."""
    err.print(f"[red]error:[/red] {message}", markup=True)
    raise typer.Exit(code)


def main() -> None:
    """Entry point of the ``corpuspack`` script."""
    app()


if __name__ == "__main__":
    main()
