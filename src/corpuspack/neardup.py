"""Near-duplicate detection: MinHash over word shingles with LSH banding, in bounded memory.

Per document (in the workers): word 5-gram shingles (CJK characters count as words), a
128-value MinHash signature from rensa, and 16 band keys of 8 values each. Corpus-wide (in
the main process), each stage is an external sort:

1. band keys sorted: documents sharing a band key are candidates, each paired with the
   smallest id of its bucket and with the 32 members before it;
2. candidate pairs sorted and joined with the signatures (kept in id order), twice, so that
   each pair's estimated Jaccard similarity is computed and checked against the threshold
   (LSH banding alone only sets a soft threshold);
3. the verified pairs, in the order of their larger id, decide which documents go: a
   document is a near-duplicate when it reaches the threshold with a document of smaller
   id that is kept. Unlike connected components (datatrove, NeMo Curator), this never
   chains: every dropped document is within the threshold of the kept document it names,
   and a page revised many times is not collapsed into its oldest version.

Memory in the main process: the sorts work in fixed chunks; the decisions hold one entry
per near-duplicate and per kept document that has one (about 150 bytes each).
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from corpuspack.sortutil import sort_lines

CHUNK = 8 << 20
BUCKET_WINDOW = 32
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|"
                    r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# where a slice of text may end: before a character that cannot continue a word
_CUT = re.compile(r"[\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORDLIKE = re.compile(r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# characters of text whose words are found at once, and shingles handed to rensa at once:
# about 1.5 MB of words and 0.7 MB of shingles in flight; the signature of 20 MB of plain
# text took 1.1 s either way (all words and shingles in lists: 1.1 s and 460 MB more)
WORD_CHUNK_CHARS = 1 << 17
SHINGLE_BATCH = 1 << 13


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


def words(text: str) -> list[str]:
    """The lower-cased words of a text (punctuation and spacing ignored; each CJK
    character is a word). Holds them all: :func:`iter_words` streams them."""
    return _TOKEN.findall(text.casefold())


def iter_words(text: str, chunk_chars: int = WORD_CHUNK_CHARS) -> Iterator[str]:
    """The words of :func:`words`, in the same order, from slices of about ``chunk_chars``
    characters: memory is bounded by the slice, whatever the text's size.

    A slice ends before a character at which no word can continue: one whose case folding
    starts with neither a letter, digit nor underscore (white space, punctuation, a CJK
    character). ``str.casefold`` maps each character on its own, so the words of the
    slices are the words of the whole text. A text without such a character for longer
    than ``chunk_chars`` (one giant word) is read in one longer slice.
    """
    start, size = 0, len(text)
    while start < size:
        end = start + chunk_chars
        if end >= size:
            cut = size
        else:
            found = _CUT.search(text, end)
            # a few non-word characters fold into letters (U+0345 into iota): skip them
            while found is not None and _WORDLIKE.match(found.group().casefold()):
                found = _CUT.search(text, found.end())
            cut = found.start() if found is not None else size
        yield from _TOKEN.findall(text[start:cut].casefold())
        start = cut


def shingles(text: str, n: int, tokens: list[str] | None = None) -> list[str]:
    """Word n-grams of the lower-cased text (``tokens``: its :func:`words`, if known)."""
    if tokens is None:
        tokens = words(text)
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def iter_shingle_batches(tokens: Iterable[str], n: int,
                         batch: int = SHINGLE_BATCH) -> Iterator[list[str]]:
    """The shingles of :func:`shingles`, in lists of at most ``batch``, from a stream of
    words: only the last ``n`` words and one batch are held."""
    window: deque[str] = deque(maxlen=n)
    out: list[str] = []
    for token in tokens:
        window.append(token)
        if len(window) == n:
            out.append(" ".join(window))
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out
    elif window and len(window) < n:  # fewer words than n: the words are one shingle
        yield [" ".join(window)]


def signature(text: str, settings: NearDedup, chunk_chars: int = WORD_CHUNK_CHARS
              ) -> list[int] | None:
    """The MinHash signature of a text: ``settings.num_perm`` unsigned 64-bit integers, or
    None for texts of fewer than ``min_words`` words.

    Words and shingles are streamed into rensa in batches (:func:`iter_words`,
    :func:`iter_shingle_batches`), so memory does not grow with the text (holding all
    shingles cost about 24 times the text's size); MinHash takes the minimum over all
    shingles, so the batches give the signature of the whole list.
    """
    from rensa import RMinHash

    minhash = RMinHash(num_perm=settings.num_perm, seed=settings.seed)
    if len(text) <= chunk_chars:  # one slice: lists are faster and cost little
        tokens = words(text)
        if len(tokens) < settings.min_words:
            return None
        minhash.update(shingles(text, settings.shingle_words, tokens))
        small: list[int] = minhash.digest()
        return small
    counted = _Counted(iter_words(text, chunk_chars))
    for batch in iter_shingle_batches(counted, settings.shingle_words):
        minhash.update(batch)  # a list: rensa hashes the characters of a bare string
    if counted.n < settings.min_words:
        return None
    values: list[int] = minhash.digest()
    return values


class _Counted:
    """An iterator that counts what passes through it."""

    def __init__(self, items: Iterator[str]) -> None:
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[str]:
        for item in self.items:
            self.n += 1
            yield item


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
    """Candidate pairs ``<smaller id>\t<larger id>``: each member of a bucket with the
    bucket's first and with the ``BUCKET_WINDOW`` members before it. Pairing with the first
    alone would do for connected components, but a document must meet a *kept* one, and
    the first may itself be a near-duplicate; the window bounds the work of a huge bucket."""
    lines = (line for path in band_files for line in open(path, "rb"))  # noqa: SIM115
    key = first = b""
    members: deque[bytes] = deque(maxlen=BUCKET_WINDOW + 1)
    for line in sort_lines(lines, workdir, "bands", CHUNK):
        bucket, doc_id = line.rstrip(b"\n").split(b"\t")
        if bucket != key:
            key, first = bucket, doc_id
            members.clear()
        elif doc_id != first:
            yield first + b"\t" + doc_id + b"\n"
            for earlier in members:
                if earlier not in (first, doc_id):
                    yield earlier + b"\t" + doc_id + b"\n"
        members.append(doc_id)


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
    """Near-duplicate decisions: document id -> (id of the kept document, similarity).

    Each dropped document maps to the kept document it duplicates, with their estimated
    Jaccard similarity; each kept document that has near-duplicates maps to itself (1.0).
    """

    members: dict[str, tuple[str, float]]
    pairs_checked: int
    pairs_confirmed: int

    @property
    def clusters(self) -> int:
        """How many kept documents have near-duplicates."""
        return sum(1 for doc, (kept, _) in self.members.items() if doc == kept)


def find_clusters(band_files: list[Path], signature_files: list[Path], workdir: Path,
                  settings: NearDedup, dropped: Iterable[str] = ()) -> Clusters:
    """Decide the near-duplicates of a corpus from its band keys and signatures.

    ``dropped``: ids of documents dropped already (exact duplicates), in ascending order;
    they are neither near-duplicates nor kept documents.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    by_first = sort_lines(_pairs(band_files, workdir), workdir, "pairs", CHUNK)
    unique = (line for line, _ in _dedupe(by_first))
    half = (b"%s\t%s\t%s\n" % (b, a, sig)
            for a, b, sig in _join(unique, _signatures(signature_files)))
    by_second = sort_lines(half, workdir, "half", CHUNK)
    members: dict[str, tuple[str, float]] = {}
    gone = iter(dropped)
    next_gone = next(gone, None)
    checked = confirmed = 0
    # pairs come sorted by their larger id (b): when b is reached, the fate of every
    # smaller id is settled
    for b, rest, sig_b in _join(by_second, _signatures(signature_files)):
        idb = b.decode()
        while next_gone is not None and next_gone < idb:
            next_gone = next(gone, None)
        if idb == next_gone or idb in members:
            continue
        a, sig_a = rest.split(b"\t", 1)
        ida = a.decode()
        if members.get(ida, (ida,))[0] != ida:
            continue  # a near-duplicate itself: documents are compared with kept ones
        checked += 1
        va, vb = orjson.loads(sig_a), orjson.loads(sig_b)
        sim = sum(x == y for x, y in zip(va, vb, strict=True)) / len(va)
        if sim < settings.threshold:
            continue
        confirmed += 1
        members[idb] = (ida, round(sim, 4))
        members[ida] = (ida, 1.0)
    return Clusters(members, checked, confirmed)


def _dedupe(lines: Iterable[bytes]) -> Iterator[tuple[bytes, None]]:
    previous = None
    for line in lines:
        if line != previous:
            yield line, None
        previous = line
