"""Bounded work per input: one huge or deeply nested file costs memory and time in
proportion to its size, and the streamed computations give exactly what the old ones did."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuspack import neardup
from corpuspack.boilerplate import FirstSeen, iter_lines, word_count, word_pieces
from corpuspack.neardup import NearDedup, shingles, words
from tests.conftest import MULTILINGUAL

# ---------------------------------------------------------------------------------------
# Near-duplicate signature: streamed in batches, identical to the list-based original


def reference_signature(text: str, near: NearDedup) -> list[int] | None:
    """The signature as corpuspack computed it before streaming (all words, all shingles)."""
    from rensa import RMinHash

    tokens = words(text)
    if len(tokens) < near.min_words:
        return None
    grams = shingles(text, near.shingle_words, tokens)
    minhash = RMinHash(num_perm=near.num_perm, seed=near.seed)
    minhash.update(grams)
    values: list[int] = minhash.digest()
    return values


# characters that stress the slicing: case folding that expands (ß, ﬁ, İ), a non-word
# mark that folds into a letter (U+0345), CJK, digits, underscores, punctuation, spaces
_ALPHABET = st.sampled_from(list("aAbBzZ09_ßẞﬁİıΣσς\u0345é\u0301日本語テスト한국"
                                 " \t\n.,;:!?-'’«»…#"))
_TEXTS = st.one_of(
    st.text(_ALPHABET, max_size=400),
    st.lists(st.sampled_from(["word", "Straße", "ﬁsh", "日本", "ͅx", "a_b", "x", "...", " ",
                              "\n", "İstanbul", "ΟΔΟΣ"]), max_size=200).map(" ".join),
    st.text(max_size=300),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, chunk=st.integers(1, 64), n=st.integers(1, 6),
       min_words=st.sampled_from([0, 1, 5, 50]))
def test_streamed_signature_is_identical(text: str, chunk: int, n: int, min_words: int) -> None:
    near = NearDedup(shingle_words=n, min_words=min_words)
    assert list(neardup.iter_words(text, chunk)) == words(text)
    assert neardup.signature(text, near, chunk_chars=chunk) == reference_signature(text, near)


def test_streamed_signature_is_identical_on_real_text_with_default_slices() -> None:
    near = NearDedup()
    for path in sorted(MULTILINGUAL.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        text *= 3 * neardup.WORD_CHUNK_CHARS // len(text) + 1  # several slices
        assert neardup.signature(text, near) == reference_signature(text, near), path.name


# ---------------------------------------------------------------------------------------
# Slices of text, and lines remembered by hash: the same answers as lists and sets


class _Colliding(str):
    """A key whose hash collides with every other one's."""

    def __hash__(self) -> int:
        return 0


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(st.sampled_from(["a", "b", "A", "", "ab", "b a"]), max_size=30),
       collide=st.booleans())
def test_first_seen_answers_like_a_set_even_when_hashes_collide(keys: list[str],
                                                               collide: bool) -> None:
    first = FirstSeen(lambda at: keys[at])
    seen: set[str] = set()
    for position, key in enumerate(keys):
        assert first.repeats(_Colliding(key) if collide else key, position) == (key in seen)
        seen.add(key)


@settings(max_examples=500, deadline=None)
@given(text=_TEXTS, size=st.integers(1, 40))
def test_slices_give_the_words_and_lines_of_the_whole_text(text: str, size: int) -> None:
    assert [w for piece in word_pieces(text, size) for w in piece.split()] == text.split()
    assert list(iter_lines(text, size)) == text.split("\n")
    assert word_count(text) == len(text.split())
