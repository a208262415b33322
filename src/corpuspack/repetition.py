"""Repetition signals of a text, as the Gopher rules (Rae et al., 2021) define them.

Web pages that repeat themselves (spam, keyword lists, boilerplate-heavy pages, text that
loops) have many duplicated lines, paragraphs or word n-grams. Each signal is a fraction:

duplicate_paragraph_fraction
    paragraphs (blocks between blank lines) that repeat an earlier paragraph;
duplicate_line_char_fraction, duplicate_paragraph_char_fraction
    characters of the text in lines or paragraphs that repeat an earlier one;
top_{2,3,4}gram_char_fraction
    characters of the words covered by the most frequent word n-gram (all its occurrences;
    of several as frequent, the first);
duplicate_{5..10}gram_char_fraction
    characters of the words covered by word n-grams that occur more than once (each word
    counted once however many duplicated n-grams cover it).

The n-gram signals are counted on the same words as near-duplicate shingles (lower-cased,
punctuation dropped, each CJK character a word), over the characters of those words.

Memory and time (measured on 20 MB of plain text): lines and paragraphs are read from slices
of the text and remembered by hash (:class:`~corpuspack.boilerplate.FirstSeen`); words
become integer ids and n-grams group numbers in NumPy arrays, grouped by sorting.
The peak is about 12 times the text's size and 2.7 s, where lists of word strings and
Counters of n-gram tuples took 47 times and 6.7 s. An unstable sort and fewer NumPy calls
per level then took 20 M characters of the benchmark's pages from 2.9 to 1.8 s, the peak
of NumPy and Python allocations (tracemalloc) from 139 to 132 MB.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import count
from typing import TYPE_CHECKING, Any

from corpuspack.boilerplate import FirstSeen, iter_lines
from corpuspack.neardup import iter_words
from corpuspack.signals import REGISTRY, REPETITION

TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
_TOP_NAMES = {n: f"top_{n}gram_char_fraction" for n in TOP_NGRAMS}
_DUPLICATE_NAMES = {n: f"duplicate_{n}gram_char_fraction" for n in DUPLICATE_NGRAMS}
# the signals this module computes: the registry's repetition group
NAMES = tuple(s.name for s in REGISTRY if s.group == REPETITION)
_LENGTH = (1 << 40) - 1  # a span of text packed in one int: offset << 40 | length
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ints = npt.NDArray[np.integer[Any]]
# word ids, lengths and n-gram groups: fewer than 2**31 of each in texts of up to 4 GiB
# (NumPy is imported where it is used: the config, and so every command, imports this
# module for the registry, and NumPy's import took 0.13 s of an unchanged build --check)
_SMALL = "int32"


def signals(text: str) -> dict[str, float]:
    """The repetition signals of a normalised text (unrounded)."""
    n_chars = max(1, len(text))
    paragraphs, para_dups, para_chars, line_chars = _repeated_parts(text)
    out = {
        "duplicate_paragraph_fraction": para_dups / max(1, paragraphs),
        "duplicate_line_char_fraction": line_chars / n_chars,
        "duplicate_paragraph_char_fraction": para_chars / n_chars,
    }
    out.update(ngram_signals(iter_words(text, keep=True)))  # the signature splits it alike
    return out


def _repeated_parts(text: str) -> tuple[int, int, int, int]:
    """Paragraphs (the non-blank parts of ``text.split("\n\n")``, stripped), how many repeat
    an earlier one and their characters, and the characters of the lines (stripped, not
    blank) that repeat an earlier line.

    Read line by line: a part of ``split("\n\n")`` is a run of lines between empty lines
    (give or take newlines that stripping removes), found again by its span of the text.
    """
    def key_at(at: int) -> str:
        return text[at >> 40 : (at >> 40) + (at & _LENGTH)].strip()

    lines_seen, paragraphs_seen = FirstSeen(key_at), FirstSeen(key_at)
    paragraphs = para_dups = para_chars = line_chars = 0
    offset, start, end = 0, -1, 0  # start, end: span of the paragraph being read

    def close() -> None:
        nonlocal paragraphs, para_dups, para_chars
        paragraph = text[start:end].strip()
        if paragraph:
            paragraphs += 1
            if paragraphs_seen.repeats(paragraph, start << 40 | (end - start)):
                para_dups += 1
                para_chars += len(paragraph)

    for raw in iter_lines(text):
        at, offset = offset, offset + len(raw) + 1
        line = raw.strip()
        if line and lines_seen.repeats(line, at << 40 | len(raw)):
            line_chars += len(line)
        if raw:
            start, end = (at if start < 0 else start), at + len(raw)
        elif start >= 0:
            close()
            start = -1
    if start >= 0:
        close()
    return paragraphs, para_dups, para_chars, line_chars


def ngram_signals(words: Iterable[str]) -> dict[str, float]:
    """The word n-gram signals of a sequence of words."""
    import numpy as np

    out = dict.fromkeys(_TOP_NAMES.values(), 0.0)
    out.update(dict.fromkeys(_DUPLICATE_NAMES.values(), 0.0))
    ids, lengths = _word_ids(words)
    size = len(ids)
    # chars[i]: characters of the first i words (a run of words' characters is a difference)
    chars = np.zeros(size + 1, dtype=np.int64)
    lengths.cumsum(out=chars[1:])
    del lengths
    total = max(1, int(chars[-1]))
    vocabulary = int(ids.max()) + 1 if size else 1
    # ranks[i]: the group of the n-gram starting at word i (equal n-grams, equal groups)
    ranks = ids
    for n in range(2, DUPLICATE_NGRAMS[0]):
        if size < n:
            return out
        ranks, counts = _group(_keys(ranks[: size - n + 1], ids[n - 1 :], vocabulary))
        top = int(counts.max())
        if n in TOP_NGRAMS and top > 1:
            # of several as frequent, the one seen first (as a Counter would order them):
            # the group of the first n-gram that occurs ``top`` times
            most = (counts[ranks] == top).nonzero()[0]
            starts = most[ranks[most] == ranks[most[0]]]
            out[_TOP_NAMES[n]] = _covered(chars, starts, n) / total
    # Duplicated n-grams, level by level: an (n+1)-gram can repeat only where the n-grams
    # starting at i and i+1 both repeat, so each level groups only those candidates, and
    # grouping a candidate's every occurrence is still exact (they are all candidates).
    n = DUPLICATE_NGRAMS[0]
    if size < n:
        return out
    ranks, counts = _group(_keys(ranks[: size - n + 1], ids[n - 1 :], vocabulary))
    starts = (counts[ranks] > 1).nonzero()[0]
    ranks = ranks[starts]
    for n in DUPLICATE_NGRAMS:
        if n > DUPLICATE_NGRAMS[0]:
            keep = np.zeros(size + 1, dtype=bool)
            keep[starts] = True
            follows = keep[starts + 1]  # the (n-1)-gram at i + 1 repeats too
            starts, ranks = starts[follows], ranks[follows]
            ranks, counts = _group(_keys(ranks, ids[starts + n - 1], vocabulary))
            repeated = counts[ranks] > 1
            starts, ranks = starts[repeated], ranks[repeated]
        if not len(starts):
            break
        out[_DUPLICATE_NAMES[n]] = _covered(chars, starts, n) / total
    return out


def _word_ids(words: Iterable[str]) -> tuple[Ints, Ints]:
    """Each word as a number (the same for the same word, numbered in order of first
    appearance), and each word's length."""
    import numpy as np

    vocabulary: defaultdict[str, int] = defaultdict(count().__next__)  # a new word: next id
    ids = np.fromiter(map(vocabulary.__getitem__, words), _SMALL)
    word_lengths = np.fromiter(map(len, vocabulary), _SMALL, len(vocabulary))
    return ids, word_lengths[ids]


def _keys(ranks: Ints, last: Ints, vocabulary: int) -> Ints:
    """An n-gram as one int64 from its first n - 1 words' group and its last word's id."""
    return ranks.astype("int64") * vocabulary + last


def _group(keys: Ints) -> tuple[Ints, Ints]:
    """Equal keys grouped: each key's group number and each group's size.

    By sorting, holding about 30 bytes per key (``np.unique`` held twice that). The sort
    need not be stable: the groups are numbered in the order of their keys, so the order of
    equal keys changes nothing (a stable sort took 4 times as long on 3,000 keys and 17
    times on 100,000). Keys are at most (words) x (distinct words): within int64 for texts
    of up to about three billion words.
    """
    import numpy as np

    order = keys.argsort()
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    del ordered
    heads = new.nonzero()[0]  # where each group starts, in sorted order
    groups = np.empty(len(keys), dtype=_SMALL)
    groups[order] = new.cumsum(dtype=_SMALL) - 1
    counts = np.empty(len(heads), dtype=_SMALL)
    np.subtract(heads[1:], heads[:-1], out=counts[:-1])
    counts[-1:] = len(keys) - heads[-1:]
    return groups, counts


def _covered(chars: Ints, starts: Ints, n: int) -> int:
    """Characters of the words covered by the n-grams at ``starts`` (increasing), each word
    once; ``chars``: the characters of the first i words, for each i.

    The n-grams have one length, so each ends after the one before: an n-gram adds the
    words from the end of the one before (or its start, if later) to its end.
    """
    import numpy as np

    ends = starts + n
    begins = starts.copy()
    np.maximum(begins[1:], ends[:-1], out=begins[1:])
    return int(chars[ends].sum() - chars[begins].sum())
