"""The WordPiece tokenizer with the shipped vocabulary: ids, truncation, chunks, bad input, and
parity with the ``tokenizers`` library, natively and inside Pyodide.

Pyodide has no ``tokenizers``: there the reference comes from a file that
``tests/test_core_in_pyodide.py`` writes on the host before the run (the same data
``tests.tokenizer_corpus.reference`` computes natively).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from llmos.memory.tokenizer import Chunk, WordPieceTokenizer, normalize, normalized_words

# Where tests/test_core_in_pyodide.py puts the reference inside Pyodide.
PYODIDE_REFERENCE = Path("/reference/tokenizer.json")
CLS, SEP, UNK, MASK = 101, 102, 100, 103


@pytest.fixture(scope="module")
def tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer.load()


@pytest.fixture(scope="module")
def vocab() -> str:
    return resources.files("llmos.memory").joinpath("vocab.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def unbounded(vocab: str) -> WordPieceTokenizer:
    """The shipped vocabulary without truncation: every piece of a text."""
    return WordPieceTokenizer.from_vocab(vocab, max_tokens=1 << 30)


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    if sys.platform == "emscripten":
        return json.loads(PYODIDE_REFERENCE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    from tests.tokenizer_corpus import reference

    return reference()


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Hello, world!", [CLS, 7592, 1010, 2088, 999, SEP]),
        ("Unbelievable tokenization", [CLS, 23653, 19204, 3989, SEP]),
        ("Crème Brûlée at the Café", [CLS, 13675, 21382, 7987, 9307, 2063, 2012, 1996, 7668, SEP]),
        ("naïve  résumé\u200b!", [CLS, 15743, 13746, 999, SEP]),
        ("ΟΔΟΣ", [CLS, 1169, 29722, 29730, 29733, SEP]),
        ("北京 東京 서울", [CLS, 1781, 1755, 1879, 1755, 1461, 30008, 29999, 30014, 30022, SEP]),
        ("Ask [MASK] or [mask].", [CLS, 3198, MASK, 2030, 1031, 7308, 1033, 1012, SEP]),
        ("🥲 " + "x" * 101, [CLS, UNK, UNK, SEP]),
    ],
)
def test_known_texts_encode_to_the_models_ids(
    tokenizer: WordPieceTokenizer, text: str, ids: list[int]
) -> None:
    assert tokenizer.encode(text) == ids


def test_tokenize_gives_the_wordpieces_without_specials(tokenizer: WordPieceTokenizer) -> None:
    assert tokenizer.tokenize("Supercalifragilisticexpialidocious, tokenization!") == [
        *["super", "##cal", "##if", "##rag", "##ilis", "##tic", "##ex", "##pia", "##lid"],
        *["##oc", "##ious", ",", "token", "##ization", "!"],
    ]


def test_encode_truncates_to_256_ids_in_all(tokenizer: WordPieceTokenizer) -> None:
    unit = tokenizer.encode("alpha beta gamma delta")[1:-1]
    assert len(unit) == 4
    assert tokenizer.max_tokens == 256
    for words, kept in [(254, 254), (255, 254), (1000, 254), (253, 253)]:
        text = " ".join(["alpha beta gamma delta"] * (words // 4 + 1)).split()[:words]
        assert tokenizer.encode(" ".join(text)) == [CLS, *(unit * 300)[:kept], SEP]
    assert len(tokenizer.tokenize("alpha " * 1000)) == 1000


def test_empty_or_blank_text_has_no_chunks(tokenizer: WordPieceTokenizer) -> None:
    for text in ["", "   ", "\n\t\u3000", "\u200b\u200d\ufeff"]:
        assert tokenizer.encode(text) == [CLS, SEP]
        assert tokenizer.tokenize(text) == []
        assert tokenizer.chunks(text) == []


def test_a_text_that_fits_is_one_chunk_equal_to_encode(tokenizer: WordPieceTokenizer) -> None:
    text = "  Short notes about the meeting.\n"
    assert tokenizer.chunks(text) == [Chunk(text, 0, len(text), tokenizer.encode(text))]


def _assert_chunks_tile(text: str, chunks: list[Chunk], unbounded: WordPieceTokenizer) -> None:
    """Windows in order, each a real substring re-encoding to its own ids, covering the text."""
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.ids[0] == CLS
        assert chunk.ids[-1] == SEP
        assert chunk.ids == unbounded.encode(chunk.text)  # so no window cut a word's pieces
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start < before.end <= after.end


def test_chunks_are_windows_sharing_overlap_pieces(
    unbounded: WordPieceTokenizer, vocab: str
) -> None:
    small = WordPieceTokenizer.from_vocab(vocab, max_tokens=16)
    text = " ".join(f"word{i % 10} is here." for i in range(40))  # single-piece words
    chunks = small.chunks(text, overlap=4)
    assert len(chunks) > 5
    assert all(len(chunk.ids) == 16 for chunk in chunks[:-1])
    _assert_chunks_tile(text, chunks, unbounded)
    for before, after in itertools.pairwise(chunks):
        assert before.ids[1:-1][-4:] == after.ids[1:-1][:4]
    stitched = chunks[0].ids[1:-1] + [i for c in chunks[1:] for i in c.ids[1:-1][4:]]
    assert stitched == unbounded.encode(text)[1:-1]


def test_chunks_keep_each_words_pieces_together(unbounded: WordPieceTokenizer, vocab: str) -> None:
    small = WordPieceTokenizer.from_vocab(vocab, max_tokens=12)
    text = "Tokenization of unbelievable supercalifragilistic words, naïvely. " * 12
    chunks = small.chunks(text, overlap=3)
    assert len(chunks) > 5
    assert all(len(chunk.ids) <= 12 for chunk in chunks)
    _assert_chunks_tile(text, chunks, unbounded)


def test_a_word_longer_than_a_window_is_cut_all_the_same(
    unbounded: WordPieceTokenizer, vocab: str
) -> None:
    tiny = WordPieceTokenizer.from_vocab(vocab, max_tokens=5)
    text = "supercalifragilisticexpialidocious"  # 11 pieces, 3 to a window
    chunks = tiny.chunks(text, overlap=1)
    assert len(chunks) == 5
    assert all(len(chunk.ids) <= 5 for chunk in chunks)
    stitched = chunks[0].ids[1:-1] + [i for chunk in chunks[1:] for i in chunk.ids[2:-1]]
    assert stitched == unbounded.encode(text)[1:-1]
    assert all(chunk.text == text for chunk in chunks)


def test_overlap_must_leave_room_to_move(tokenizer: WordPieceTokenizer) -> None:
    for overlap in (-1, 254, 1000):
        with pytest.raises(ValueError, match="overlap"):
            tokenizer.chunks("some text", overlap=overlap)


def test_a_5_mb_text_chunks_in_full(tokenizer: WordPieceTokenizer) -> None:
    rng = random.Random(5)
    words = ["memory", "naïve", "token", "東京", "🙂", "x=1;", "supercalifragilistic", "42,000"]
    text = " ".join(rng.choice(words) for _ in range(800_000))[: 5 * 2**20]
    chunks = tokenizer.chunks(text)
    assert len(chunks) > 1000
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    assert all(len(chunk.ids) <= 256 for chunk in chunks)
    assert all(a.start < b.start < a.end for a, b in itertools.pairwise(chunks))
    middle = chunks[len(chunks) // 2]
    assert middle.ids == tokenizer.encode(middle.text)


def test_binary_garbage_gives_ids_not_errors(tokenizer: WordPieceTokenizer) -> None:
    garbage = random.Random(7).randbytes(20_000)
    for text in [garbage.decode("latin-1"), garbage.decode("utf-8", "surrogateescape")]:
        ids = tokenizer.encode(text)
        assert ids[0] == CLS
        assert ids[-1] == SEP
        assert len(ids) == 256
        assert all(0 <= i < 30522 for i in ids)
        assert tokenizer.chunks(text)[-1].end == len(text)


def test_a_vocabulary_of_our_own(vocab: str) -> None:
    small = WordPieceTokenizer.from_vocab("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\n")
    assert small.tokenize("Unaffable affable") == ["un", "##aff", "##able", "[UNK]"]
    assert small.encode("unaffable") == [2, 5, 6, 7, 3]
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        WordPieceTokenizer.from_vocab("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    with pytest.raises(ValueError, match="max_tokens"):
        WordPieceTokenizer.from_vocab(vocab, max_tokens=2)
    assert WordPieceTokenizer.load() is WordPieceTokenizer.load()


def test_the_corpus_gives_the_librarys_ids(
    tokenizer: WordPieceTokenizer, reference: dict[str, Any]
) -> None:
    texts, expected = reference["texts"], reference["ids"]
    assert len(texts) >= 1000
    wrong = [
        f"#{n} {text[:80]!r}\n  ours   {tokenizer.encode(text)[:24]}\n  theirs {ids[:24]}"
        for n, (text, ids) in enumerate(zip(texts, expected, strict=True))
        if tokenizer.encode(text) != ids
    ]
    assert not wrong, f"{len(wrong)} of {len(texts)} texts differ:\n" + "\n".join(wrong[:10])


def _every_code_point(marker: str) -> list[int]:
    return [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and chr(c) != marker]


def test_every_code_point_normalises_as_the_library_does(reference: dict[str, Any]) -> None:
    table = reference["normalized"]
    marker = table["marker"]
    codes = _every_code_point(marker)
    expected = {code: chr(code) for code in codes}
    for first, last in table["gone"]:
        expected.update(dict.fromkeys(range(first, last + 1), ""))
    expected.update({int(code): text for code, text in table["mapped"].items()})
    ours = normalize(f" {marker} ".join(chr(code) for code in codes)).split(f" {marker} ")
    wrong = [
        f"U+{code:04X}: ours {text.strip()!r}, theirs {expected[code]!r}"
        for code, text in zip(codes, ours, strict=True)
        if text.strip() != expected[code]
    ]
    assert not wrong, f"{len(wrong)} code points differ:\n" + "\n".join(wrong[:20])


def test_every_code_point_in_one_text_gives_the_librarys_words(reference: dict[str, Any]) -> None:
    """Marks next to marks: NFD reorders them by combining class, the library's table is older."""
    text = "".join(map(chr, _every_code_point(reference["normalized"]["marker"])))
    words = normalized_words(text)
    fingerprint = hashlib.sha256("\n".join(words).encode("utf-8", "surrogatepass")).hexdigest()
    assert {"words": len(words), "sha256": fingerprint} == reference["sweep"], (
        "tests/test_tokenizer_parity.py shows where natively"
    )
