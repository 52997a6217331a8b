"""Native parity of llmos's WordPiece tokenizer with the ``tokenizers`` library on the pinned
all-MiniLM-L6-v2 files: the shipped vocabulary, every corpus text, every chunk of the long ones,
and every code point's words in one text (tests/core/test_tokenizer.py checks ids in Pyodide)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
from llmos.memory.tokenizer import WordPieceTokenizer, normalized_words

import build
from tests.tokenizer_corpus import corpus, reference_sweep_words, reference_tokenizer, sweep_text


@pytest.fixture(scope="module")
def library() -> Any:
    return reference_tokenizer()


@pytest.fixture(scope="module")
def ours() -> WordPieceTokenizer:
    return WordPieceTokenizer.load()


def _shipped_vocab() -> bytes:
    return resources.files("llmos.memory").joinpath("vocab.txt").read_bytes()


def test_the_shipped_vocab_is_the_pinned_wheels_byte_for_byte() -> None:
    pinned = build.fetch_model(build.EMBEDDING_TOKENIZER) / "vocab.txt"
    assert _shipped_vocab() == pinned.read_bytes()


def test_vocab_line_numbers_are_the_librarys_ids(library: Any) -> None:
    lines = _shipped_vocab().decode("utf-8").split("\n")
    assert lines.pop() == ""
    assert dict(zip(lines, range(len(lines)), strict=True)) == library.get_vocab()


def _difference(text: str, ours: list[int], theirs: list[int], library: Any) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), None)
    at = min(len(ours), len(theirs)) if at is None else at
    window = slice(max(0, at - 3), at + 4)
    return (
        f"{text[:100]!r} ({len(ours)} ids, theirs {len(theirs)}), first difference at {at}:\n"
        f"  ours   {[library.id_to_token(i) for i in ours[window]]}\n"
        f"  theirs {[library.id_to_token(i) for i in theirs[window]]}"
    )


def test_every_corpus_text_gives_the_librarys_ids(library: Any, ours: WordPieceTokenizer) -> None:
    texts = corpus()
    assert len(texts) >= 1000
    assert sum(len(ours.tokenize(text)) > 254 for text in texts) >= 10  # truncation is tested
    wrong = []
    for text, encoding in zip(texts, library.encode_batch(list(texts)), strict=True):
        mine = ours.encode(text)
        if mine != encoding.ids:
            wrong.append(_difference(text, mine, encoding.ids, library))
    assert not wrong, f"{len(wrong)} of {len(texts)} texts differ:\n" + "\n".join(wrong[:10])


def test_every_chunk_of_a_long_text_gives_the_librarys_ids(
    library: Any, ours: WordPieceTokenizer
) -> None:
    long_texts = [text for text in corpus() if len(ours.tokenize(text)) > 254]
    chunks = [chunk for text in long_texts for chunk in ours.chunks(text)]
    assert len(chunks) > 2 * len(long_texts)
    wrong = [
        _difference(chunk.text, chunk.ids, encoding.ids, library)
        for chunk, encoding in zip(
            chunks, library.encode_batch([c.text for c in chunks]), strict=True
        )
        if chunk.ids != encoding.ids
    ]
    assert not wrong, f"{len(wrong)} of {len(chunks)} chunks differ:\n" + "\n".join(wrong[:10])


def test_every_code_point_in_one_text_gives_the_librarys_words() -> None:
    theirs = reference_sweep_words()
    mine = normalized_words(sweep_text())
    at = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None)
    if at is None:
        assert len(mine) == len(theirs)
        return
    first = next(i for i, (a, b) in enumerate(zip(mine[at], theirs[at], strict=False)) if a != b)
    shown = slice(max(0, first - 3), first + 4)
    pytest.fail(
        f"word {at} of {len(theirs)} differs at character {first}:\n"
        f"  ours   {[f'U+{ord(c):04X}' for c in mine[at][shown]]}\n"
        f"  theirs {[f'U+{ord(c):04X}' for c in theirs[at][shown]]}"
    )
