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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import compress
from operator import itemgetter

from corpuspack.neardup import words as tokens

TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
NAMES = ("duplicate_paragraph_fraction", "duplicate_line_char_fraction",
         "duplicate_paragraph_char_fraction",
         *(f"top_{n}gram_char_fraction" for n in TOP_NGRAMS),
         *(f"duplicate_{n}gram_char_fraction" for n in DUPLICATE_NGRAMS))


def _duplicates(parts: list[str]) -> tuple[int, int]:
    """How many of ``parts`` repeat an earlier one, and their characters."""
    seen: set[str] = set()
    count = chars = 0
    for part in parts:
        if part in seen:
            count += 1
            chars += len(part)
        else:
            seen.add(part)
    return count, chars


def signals(text: str) -> dict[str, float]:
    """The repetition signals of a normalised text (unrounded)."""
    n_chars = max(1, len(text))
    paragraphs = [p for p in (p.strip() for p in text.split("\n\n")) if p]
    lines = [line for line in (line.strip() for line in text.split("\n")) if line]
    para_dups, para_chars = _duplicates(paragraphs)
    _, line_chars = _duplicates(lines)
    out = {
        "duplicate_paragraph_fraction": para_dups / max(1, len(paragraphs)),
        "duplicate_line_char_fraction": line_chars / n_chars,
        "duplicate_paragraph_char_fraction": para_chars / n_chars,
    }
    out.update(ngram_signals(tokens(text)))
    return out


def ngram_signals(words: list[str]) -> dict[str, float]:
    """The word n-gram signals of a list of words."""
    out = dict.fromkeys((f"top_{n}gram_char_fraction" for n in TOP_NGRAMS), 0.0)
    out.update(dict.fromkeys((f"duplicate_{n}gram_char_fraction" for n in DUPLICATE_NGRAMS),
                             0.0))
    lengths = [len(w) for w in words]
    total = max(1, sum(lengths))
    for n in TOP_NGRAMS:
        if len(words) < n:
            return out
        grams = list(_ngrams(words, n))
        top, count = max(Counter(grams).items(), key=itemgetter(1))
        if count > 1:  # occurrences may overlap ("a a" in "a a a"): count each word once
            starts = [i for i, gram in enumerate(grams) if gram == top]
            out[f"top_{n}gram_char_fraction"] = _covered(lengths, starts, n) / total
    # Duplicated n-grams, level by level: an (n+1)-gram can repeat only where the n-grams
    # starting at i and i+1 both repeat, so each level counts only those candidates, and
    # counting a candidate's every occurrence is still exact (they are all candidates).
    first = DUPLICATE_NGRAMS[0]
    if len(words) < first:
        return out
    grams = list(_ngrams(words, first))
    counts = Counter(grams)
    starts = [i for i, gram in enumerate(grams) if counts[gram] > 1]
    for n in DUPLICATE_NGRAMS:
        if n > first:
            found = set(starts)
            candidates = [(i, tuple(words[i : i + n])) for i in starts if i + 1 in found]
            counts = Counter(gram for _, gram in candidates)
            starts = [i for i, gram in candidates if counts[gram] > 1]
        if not starts:
            break
        out[f"duplicate_{n}gram_char_fraction"] = _covered(lengths, starts, n) / total
    return out


def _covered(lengths: list[int], starts: list[int], n: int) -> int:
    """Characters of the words covered by the n-grams at ``starts``, each word once."""
    covered = bytearray(len(lengths))
    for i in starts:
        covered[i : i + n] = b"\x01" * n
    return sum(compress(lengths, covered))


def _ngrams(words: list[str], n: int) -> Iterator[tuple[str, ...]]:
    return zip(*(words[k:] for k in range(n)), strict=False)
