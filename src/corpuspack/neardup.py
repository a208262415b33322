"""Near-duplicate detection: MinHash over word shingles with LSH banding, in bounded memory.

Per document (in the workers): word 5-gram shingles (CJK characters count as words), a
128-value MinHash signature from rensa, and 16 band keys of 8 values each. Corpus-wide (in
the main process), each stage is an external sort:

1. band keys sorted: documents sharing a band key are candidates, each paired with the
   smallest id of its bucket;
2. candidate pairs sorted and joined with the signatures (kept in id order), twice, so that
   each pair's estimated Jaccard similarity is computed and checked against the threshold
   (LSH banding alone only sets a soft threshold);
3. confirmed pairs form clusters (union-find over the near-duplicates only); each
   cluster's id is its smallest document id, which is the one kept.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from corpuspack.sortutil import sort_lines

CHUNK = 8 << 20
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|"
                    r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class NearDedup:
    """``[near_dedup]`` settings."""

    enabled: bool = True
    threshold: float = 0.8
    shingle_words: int = 5
    bands: int = 16
    rows: int = 8
    min_words: int = 50
    keep: bool = False  # keep near-duplicates, marked with their cluster id
    seed: int = 1

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


def shingles(text: str, n: int) -> list[str]:
    """Word n-grams of the lower-cased text (punctuation and spacing ignored)."""
    tokens = _TOKEN.findall(text.casefold())
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def signature(text: str, settings: NearDedup) -> list[int] | None:
    """The MinHash signature of a text (None for texts too short to compare)."""
    from rensa import RMinHash

    grams = shingles(text, settings.shingle_words)
    if len(grams) < settings.min_words:
        return None
    minhash = RMinHash(num_perm=settings.num_perm, seed=settings.seed)
    minhash.update(grams)  # a list: rensa hashes the characters of a bare string
    values: list[int] = minhash.digest()
    return values


def band_lines(doc_id: str, sig: list[int], settings: NearDedup) -> list[bytes]:
    """One sortable key line per band: ``<band><hash>\\t<id>``."""
    out = []
    for band in range(settings.bands):
        chunk = sig[band * settings.rows : (band + 1) * settings.rows]
        digest = hashlib.blake2b(orjson.dumps(chunk), digest_size=8).hexdigest()
        out.append(f"{band:03d}{digest}\t{doc_id}\n".encode())
    return out


def signature_line(doc_id: str, sig: list[int]) -> bytes:
    """``<id>\\t<values>``: signatures are stored in id order, beside the documents."""
    return doc_id.encode() + b"\t" + orjson.dumps(sig) + b"\n"


def _pairs(band_files: list[Path], workdir: Path) -> Iterator[bytes]:
    lines = (line for path in band_files for line in open(path, "rb"))  # noqa: SIM115
    key, first = b"", b""
    for line in sort_lines(lines, workdir, "bands", CHUNK):
        bucket, doc_id = line.rstrip(b"\n").split(b"\t")
        if bucket != key:
            key, first = bucket, doc_id
        elif doc_id != first:
            yield first + b"\t" + doc_id + b"\n"


def _signatures(files: list[Path]) -> Iterator[tuple[bytes, bytes]]:
    streams = [open(p, "rb") for p in files]  # noqa: SIM115
    try:
        for line in heapq.merge(*streams):
            doc_id, sig = line.rstrip(b"\n").split(b"\t", 1)
            yield doc_id, sig
    finally:
        for fh in streams:
            fh.close()


def _join(pairs: Iterable[bytes], signatures: Iterator[tuple[bytes, bytes]]
          ) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Attach to each (key, rest) pair, sorted by key, the signature of its key."""
    current = next(signatures, None)
    for line in pairs:
        key, rest = line.rstrip(b"\n").split(b"\t", 1)
        while current is not None and current[0] < key:
            current = next(signatures, None)
        if current is not None and current[0] == key:
            yield key, rest, current[1]


@dataclass
class Clusters:
    """Near-duplicate clusters: member id -> (cluster id, similarity to its match)."""

    members: dict[str, tuple[str, float]]
    pairs_checked: int
    pairs_confirmed: int


def find_clusters(band_files: list[Path], signature_files: list[Path], workdir: Path,
                  settings: NearDedup) -> Clusters:
    """Cluster the near-duplicates of a corpus from its band keys and signatures."""
    workdir.mkdir(parents=True, exist_ok=True)
    by_first = sort_lines(_pairs(band_files, workdir), workdir, "pairs", CHUNK)
    unique = (line for line, _ in _dedupe(by_first))
    half = (b"%s\t%s\t%s\n" % (b, a, sig)
            for a, b, sig in _join(unique, _signatures(signature_files)))
    by_second = sort_lines(half, workdir, "half", CHUNK)
    parent: dict[str, str] = {}
    similarity: dict[str, float] = {}
    checked = confirmed = 0

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for b, rest, sig_b in _join(by_second, _signatures(signature_files)):
        a, sig_a = rest.split(b"\t", 1)
        checked += 1
        va, vb = orjson.loads(sig_a), orjson.loads(sig_b)
        sim = sum(x == y for x, y in zip(va, vb, strict=True)) / len(va)
        if sim < settings.threshold:
            continue
        confirmed += 1
        ida, idb = a.decode(), b.decode()
        ra, rb = root(ida), root(idb)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        similarity[idb] = max(similarity.get(idb, 0.0), round(sim, 4))
        similarity.setdefault(ida, 1.0)
    members = {doc: (root(doc), similarity.get(doc, 1.0)) for doc in list(parent) + [
        p for p in similarity if p not in parent]}
    return Clusters(members, checked, confirmed)


def _dedupe(lines: Iterable[bytes]) -> Iterator[tuple[bytes, None]]:
    previous = None
    for line in lines:
        if line != previous:
            yield line, None
        previous = line
