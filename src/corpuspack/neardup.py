"""Near-duplicate detection: MinHash over word shingles with LSH banding, in bounded memory.

Per document (in the workers): word 5-gram shingles (CJK characters count as words), a
128-value MinHash signature from rensa, and 16 band keys of 8 values each. Corpus-wide,
DuckDB queries (out of core, in the build's memory limit) do the joins:

1. documents sharing a band key are candidates, each paired with the smallest id of its
   bucket and with the 33 members before it (:func:`candidate_pairs`); buckets are
   independent, so this pass is split by the band key's value modulo the number of
   partitions, each partition one query (a task on the executor:
   :func:`corpuspack.passes.run_partition`), and the pairs of all partitions are combined
   (:func:`load_pairs`: a pair two bands give may come from two partitions);
2. the pairs are joined with both documents' signatures and streamed in the order of their
   larger id, so that each pair's estimated Jaccard similarity is checked against the
   threshold (LSH banding alone only sets a soft threshold);
3. the verified pairs decide which documents go (:func:`find_clusters`, in Python): a
   document is a near-duplicate when it reaches the threshold with a document of smaller
   id that is kept. Unlike connected components (datatrove, NeMo Curator), this never
   chains: every dropped document is within the threshold of the kept document it names,
   and a page revised many times is not collapsed into its oldest version.

Memory in the main process: the queries spill to disk past the memory limit; the decisions
hold one entry per near-duplicate and per kept document that has one (about 150 bytes each).
"""

from __future__ import annotations

import hashlib
import re
import struct
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import duckdb

BUCKET_WINDOW = 32
# bytes of DuckDB's memory limit per candidate row (before their DISTINCT) that one query
# of candidate_pairs makes: 26 million rows in one query failed a 147 MB limit; passes of
# at most the limit / 24 rows (6.4 million at 147 MB, 8.6 at 196 MB) built clusters of
# 50,000 and 150,000 near-identical records within the default limits (5 and 10 passes;
# 23.4 and 77.9 s, measured)
PAIR_ROW_BYTES = 24
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
# characters of the texts whose words are kept for their signature (:class:`_KeptWords`)
KEPT_CHARS = 1 << 20


class _KeptWords:
    """The words of texts split already (for their repetition signals), until their
    signature takes them: a worker takes the signatures of a batch of documents
    (``tasks.LANGUAGE_BATCH``, 256) after their signals, and splitting each text once took
    the signals and signatures of the 5,000 benchmark pages, in batches of 256, from 2.0 to
    1.56 s of CPU.

    Bounded: texts of up to ``limit`` characters in all, held with their words (the words
    of 333 benchmark pages, ``KEPT_CHARS``, held 11.5 MB: 11 bytes a character), the oldest
    forgotten first. The words are the same however they are found, so what is kept changes no
    output, only how fast it comes.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.chars = limit, 0
        self.words: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def keep(self, text: str, found: list[str]) -> None:
        if len(text) > self.limit:
            return
        with self.lock:
            if self.words.pop(text, None) is not None:
                self.chars -= len(text)
            self.words[text] = found
            self.chars += len(text)
            while self.chars > self.limit:
                oldest = next(iter(self.words))
                del self.words[oldest]
                self.chars -= len(oldest)

    def take(self, text: str) -> list[str] | None:
        with self.lock:
            found = self.words.pop(text, None)
            if found is not None:
                self.chars -= len(text)
            return found


_KEPT = _KeptWords(KEPT_CHARS)


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


def iter_words(text: str, chunk_chars: int = WORD_CHUNK_CHARS,
               keep: bool = False) -> Iterator[str]:
    """The words of :func:`words`, in the same order, from slices of about ``chunk_chars``
    characters: memory is bounded by the slice, whatever the text's size. ``keep``: keep
    the words of a text of one slice for its :func:`signature` (bounded: ``KEPT_CHARS``)."""
    return chain.from_iterable(iter_word_lists(text, chunk_chars, keep))


def iter_word_lists(text: str, chunk_chars: int = WORD_CHUNK_CHARS,
                    keep: bool = False) -> Iterator[list[str]]:
    """The words of :func:`words`, in the same order, in one list per slice of about
    ``chunk_chars`` characters (``keep``: as :func:`iter_words`).

    A slice ends before a character at which no word can continue: one whose case folding
    starts with neither a letter, digit nor underscore (white space, punctuation, a CJK
    character). ``str.casefold`` maps each character on its own, so the words of the
    slices are the words of the whole text. A text without such a character for longer
    than ``chunk_chars`` (one giant word) is read in one longer slice.
    """
    start, size = 0, len(text)
    if size <= chunk_chars:
        whole = words(text)
        if keep:
            _KEPT.keep(text, whole)
        yield whole
        return
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
        yield _TOKEN.findall(text[start:cut].casefold())
        start = cut


def shingles(text: str, n: int, tokens: list[str] | None = None) -> list[str]:
    """Word n-grams of the lower-cased text (``tokens``: its :func:`words`, if known)."""
    if tokens is None:
        tokens = words(text)
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    # the i-th shingle joins the i-th items of n shifted copies (zip and join run in C: 0.21 s
    # for the 5,000 bench texts, where joining slices took 0.34 s)
    return list(map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False)))


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
        tokens = _KEPT.take(text)
        if tokens is None:
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


def signature_bytes(sig: list[int]) -> bytes:
    """A signature as the runs store it: its values as big-endian unsigned 64-bit integers
    (``SIGNATURE_DTYPE``), so that comparing the bytes compares the values in order. A
    binary column, not a list: DuckDB scans 20,000 of them about 60 times faster than
    lists of 128 integers (0.002 against 0.080 s for 41,218 signatures, counting the
    non-null ones; measured on the benchmark's runs)."""
    return struct.pack(f">{len(sig)}Q", *sig)


SIGNATURE_DTYPE = ">u8"  # numpy's name of the values of signature_bytes


def band_keys(sig: list[int], settings: NearDedup) -> list[int]:
    """One 64-bit LSH key per band: BLAKE2b over the band's values (as JSON). Documents
    sharing a key in the same band are candidates."""
    out = []
    for band in range(settings.bands):
        chunk = sig[band * settings.rows : (band + 1) * settings.rows]
        out.append(int.from_bytes(hashlib.blake2b(orjson.dumps(chunk), digest_size=8).digest(),
                                  "big"))
    return out


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


def candidate_pairs(con: duckdb.DuckDBPyConnection, part: int = 0, partitions: int = 1,
                    table: str = "near_pairs", buckets: str | None = None) -> None:
    """Table ``near_pairs (a, b)`` (or ``table``), a < b, from the view ``near_input (id,
    signature, bands)``: the members of each bucket (band, key), in id order, each paired
    with the bucket's first and with the ``BUCKET_WINDOW + 1`` members before it. Pairing
    with the first alone would do for connected components, but a document must meet a
    *kept* one, and the first may itself be a near-duplicate; the window bounds the work of
    a huge bucket. A pair needs two different ids (two records may share one).

    With ``partitions`` > 1, only the buckets whose key modulo ``partitions`` is ``part``
    (band keys are uniform 64-bit BLAKE2b values); memory is one partition's buckets.
    ``buckets``: a relation of (id, h, band) rows to read instead of ``near_input`` (one
    partition's, written by :func:`corpuspack.passes.run_split`)."""
    window = BUCKET_WINDOW + 1
    where = f"WHERE h % {int(partitions)} = {int(part)}" if partitions > 1 else ""
    rows = buckets or """(SELECT id, unnest(bands) AS h, unnest(range(len(bands))) AS band
              FROM near_input)"""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE near_members AS
        SELECT band, h, id, row_number() OVER (PARTITION BY band, h ORDER BY id) AS r
        FROM {rows} {where}
        QUALIFY count(*) OVER (PARTITION BY band, h) > 1""")
    # the pairs are made distinct as numbers of the ids, not as the ids, and in passes of
    # a share of the memory limit's candidate rows (by the larger id's number): the bands of one
    # large cluster repeat its pairs (50,000 records that differ by a word: 26 million
    # pairs, 1.6 million distinct; 150,000: 79 and 5 million), and one DISTINCT over them
    # failed the passes' limit ("failed to pin block", 147 and 196 MB)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE near_numbers AS
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM (SELECT DISTINCT id FROM near_members)""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE near_member_numbers AS
        SELECT m.band, m.h, m.r, i.n FROM near_members m JOIN near_numbers i USING (id)""")
    con.execute("DROP TABLE near_members")
    candidates = con.execute(f"SELECT coalesce(sum(least(r - 1, {window} + 1)), 0) "
                             "FROM near_member_numbers WHERE r > 1").fetchall()[0][0]
    passes = max(1, -(-int(candidates) // _rows_per_pass(con)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (a VARCHAR, b VARCHAR)")
    for k in range(passes):
        con.execute(f"""
            INSERT INTO {table}
            SELECT ia.id AS a, ib.id AS b
            FROM (SELECT DISTINCT p.n AS na, q.n AS nb
                  FROM (SELECT band, h, n,
                               unnest(list_distinct([1] || range(greatest(r - {window}, 1),
                                                                 r))) AS pr
                        FROM near_member_numbers
                        WHERE r > 1 AND n % {passes} = {k}) q
                  JOIN near_member_numbers p
                    ON p.band = q.band AND p.h = q.h AND p.r = q.pr
                  WHERE p.n <> q.n) pairs
            JOIN near_numbers ia ON ia.n = pairs.na JOIN near_numbers ib ON ib.n = pairs.nb""")
    con.execute("DROP TABLE near_member_numbers")
    con.execute("DROP TABLE near_numbers")


def _rows_per_pass(con: duckdb.DuckDBPyConnection) -> int:
    """Candidate rows one query of :func:`candidate_pairs` may make, by DuckDB's memory
    limit (:data:`PAIR_ROW_BYTES` each)."""
    from corpuspack.passes import _bytes

    limit = _bytes(str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    return max(1, (limit or 128 << 20) // PAIR_ROW_BYTES)


def load_pairs(con: duckdb.DuckDBPyConnection, paths: list[str]) -> None:
    """Table ``near_pairs (a, b)``: the distinct pairs of the Parquet files of the
    partitions (tables of :func:`candidate_pairs` written out)."""
    con.execute("CREATE OR REPLACE TEMP TABLE near_pairs (a VARCHAR, b VARCHAR)")
    if paths:
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(f"INSERT INTO near_pairs SELECT DISTINCT a, b "
                    f"FROM read_parquet([{listed}])")


def find_clusters(con: duckdb.DuckDBPyConnection, settings: NearDedup,
                  pairs_ready: bool = False, partitions: int = 1,
                  folder: Path | None = None) -> Clusters:
    """Decide the near-duplicates of a corpus.

    Reads the view ``near_input (id, signature, bands)`` (the documents compared) and the
    table ``gone (id)`` (documents dropped already as exact duplicates: neither
    near-duplicates nor kept documents). The candidate pairs (table ``near_pairs`` when
    ``pairs_ready``, else found here, partition after partition of ``partitions``) come
    sorted by their larger id (b): when b is reached, the fate of every smaller id is
    settled. Each pair's estimated Jaccard similarity (the share of equal signature values)
    is checked against the threshold: LSH banding alone only sets a soft threshold.
    ``folder``: where the pairs' similarities are written to be ordered (default: the
    system's temporary folder).
    """
    if not pairs_ready and partitions <= 1:
        candidate_pairs(con)
    elif not pairs_ready:
        con.execute("CREATE OR REPLACE TEMP TABLE near_pairs_all (a VARCHAR, b VARCHAR)")
        for part in range(partitions):
            candidate_pairs(con, part, partitions, table="near_pairs_part")
            con.execute("INSERT INTO near_pairs_all SELECT * FROM near_pairs_part")
        con.execute("CREATE OR REPLACE TEMP TABLE near_pairs AS "
                    "SELECT DISTINCT a, b FROM near_pairs_all")
        con.execute("DROP TABLE near_pairs_all")
        con.execute("DROP TABLE near_pairs_part")
    # one signature per id; of two records with one id, the smallest (value by value)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE near_sigs AS
        SELECT id, signature FROM near_input
        WHERE id IN (SELECT a FROM near_pairs UNION SELECT b FROM near_pairs)
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY signature) = 1""")
    members: dict[str, tuple[str, float]] = {}
    checked = confirmed = 0
    n = settings.num_perm
    with tempfile.TemporaryDirectory(prefix="corpuspack-near-", dir=folder) as tmp:
        for batch in _similarities(con, Path(tmp) / "similar.parquet", n):
            bs, as_ = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            for idb, ida, matches in zip(bs, as_, batch.column(2).to_pylist(), strict=True):
                if idb in members:
                    continue
                if members.get(ida, (ida,))[0] != ida:
                    continue  # a near-duplicate itself: documents are compared with kept ones
                checked += 1
                sim = matches / n
                if sim < settings.threshold:
                    continue
                confirmed += 1
                members[idb] = (ida, round(sim, 4))
                members[ida] = (ida, 1.0)
    return Clusters(members, checked, confirmed)


def _similarities(con: duckdb.DuckDBPyConnection, path: Path, n: int) -> Iterator[Any]:
    """Batches of (b, a, matches): each pair of ``near_pairs`` whose b is not gone, with
    the count of equal values of their signatures, ordered by b, then a.

    The signatures (``n`` values of 8 bytes each) are joined and compared in no order, and
    only the counts are written to ``path`` and ordered: ordering the pairs with their
    signatures failed within the passes' memory limit ("failed to pin block") for one JSONL
    file of 6,000 near-identical records (200,000 pairs, 400 MB of signatures to sort)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    joined = con.sql("""
        SELECT p.b, p.a, sa.signature AS sa, sb.signature AS sb
        FROM near_pairs p JOIN near_sigs sa ON sa.id = p.a JOIN near_sigs sb ON sb.id = p.b
        WHERE p.b NOT IN (SELECT id FROM gone)""").to_arrow_reader(8192)
    schema = pa.schema([("b", pa.string()), ("a", pa.string()), ("matches", pa.int32())])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for batch in joined:
            equal = (_values(batch.column(2), n) == _values(batch.column(3), n)).sum(axis=1)
            writer.write_table(pa.table([batch.column(0).cast(pa.string()),
                                         batch.column(1).cast(pa.string()),
                                         pa.array(equal, pa.int32())], schema=schema))
    listed = "'" + str(path).replace("'", "''") + "'"
    yield from con.sql(f"SELECT b, a, matches FROM read_parquet({listed}) "
                       "ORDER BY b, a").to_arrow_reader(8192)


def _values(column: Any, n: int) -> Any:
    """Signatures of a binary Arrow column (:func:`signature_bytes`) as rows of an array."""
    import numpy as np

    return np.frombuffer(b"".join(column.to_pylist()), dtype=SIGNATURE_DTYPE).reshape(-1, n)


def clusters_of(signatures: dict[str, list[int]], settings: NearDedup,
                dropped: Iterable[str] = ()) -> Clusters:
    """:func:`find_clusters` over signatures held in memory (tests, small uses)."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        ids = sorted(signatures)
        con.register("near_input", pa.table({
            "id": ids,
            "signature": pa.array([signature_bytes(signatures[i]) for i in ids], pa.binary()),
            "bands": pa.array([band_keys(signatures[i], settings) for i in ids],
                              pa.list_(pa.uint64()))}))
        con.register("gone", pa.table({"id": pa.array(list(dropped), pa.string())}))
        return find_clusters(con, settings)
    finally:
        con.close()
