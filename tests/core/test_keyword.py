"""Keyword recall: the exact words a user remembers find their memory, in any script."""

from __future__ import annotations

import math
import random
import struct
from collections import Counter

import pytest
from llmos.memory.keyword import SNAPSHOT_VERSION, KeywordIndex, terms

NOTES = {
    1: "Loaded sales.csv with pandas.read_csv and plotted the monthly totals",
    2: "The build failed with error E4012: missing config.yaml in the project root",
    3: "Wrote config.json for the server; the build then passed",
    4: "Notes about the café on Rue de la Paix and its crème brûlée",
    5: "東京で会議があります。明日の予定を確認してください",
    6: "猫が好きです",
    7: "parseHTTPHeader returns a dict of header names to values",
    8: "हिन्दी में लिखा गया एक छोटा नोट",
    9: "Tokyo meeting moved to Thursday; check the calendar",
}


def index_of(notes: dict[int, str]) -> KeywordIndex:
    index = KeywordIndex()
    for doc_id, text in notes.items():
        index.add(doc_id, text)
    return index


def ids(hits: list[tuple[int, float]]) -> list[int]:
    return [doc_id for doc_id, _score in hits]


# --- terms -----------------------------------------------------------------------------------
def test_terms_fold_case_and_accents_and_drop_noise() -> None:
    assert terms("The CAFÉ is open, a crème brûlée!") == ["cafe", "open", "creme", "brulee"]
    assert terms("\uff26\uff55\uff4c\uff4c width \uff21\uff22\uff23") == [
        "full",
        "width",
        "abc",
    ]  # full-width letters
    assert terms("x = 1 + y") == []  # one-character terms say nothing


def test_identifiers_and_dotted_names_give_their_parts_and_the_whole() -> None:
    assert terms("read_csv") == ["read_csv", "read", "csv"]
    assert sorted(terms("parseHTTPHeader")) == ["header", "http", "parse", "parsehttpheader"]
    assert terms("see main.py") == ["see", "main", "py", "main.py"]
    assert "err-42" in terms("got ERR-42 twice")


def test_cjk_is_indexed_as_pairs_and_scripts_with_marks_stay_whole() -> None:
    assert terms("東京都", for_query=True) == ["東京", "京都"]
    assert set(terms("東京都")) == {"東", "京", "都", "東京", "京都"}  # documents: singles too
    assert terms("猫", for_query=True) == ["猫"]
    assert terms("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs do not split words


# --- search ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("E4012", 2),  # an error code
        ("config.yaml", 2),  # a file name: the whole name beats config.json's "config"
        ("read_csv", 1),
        ("csv", 1),  # a part of an identifier
        ("header parsing http", 7),
        ("cafe creme", 4),  # unaccented query, accented text
        ("Café", 4),
        ("東京", 5),  # Japanese
        ("会議", 5),
        ("猫", 6),  # one character finds the word inside a longer run
        ("हिन्दी", 8),
    ],
)
def test_exact_words_find_their_note_first(query: str, expected: int) -> None:
    hits = index_of(NOTES).search(query, 3)
    assert hits
    assert hits[0][0] == expected


def test_a_file_name_outranks_notes_sharing_a_piece_of_it() -> None:
    hits = index_of(NOTES).search("config.yaml", 5)
    assert ids(hits)[:2] == [2, 3]
    assert hits[0][1] > 2 * hits[1][1]


def test_nothing_to_find_gives_no_hits() -> None:
    assert KeywordIndex().search("anything", 5) == []
    index = index_of(NOTES)
    assert index.search("", 5) == []
    assert index.search("the of and", 5) == []  # stop words only
    assert index.search("zebra", 5) == []
    assert index.search("E4012", 0) == []


def test_remove_makes_a_note_unfindable_and_add_replaces() -> None:
    index = index_of(NOTES)
    index.remove(2)
    assert index.search("E4012", 5) == []
    assert ids(index.search("config", 5)) == [3]
    assert len(index) == len(NOTES) - 1
    index.remove(2)  # removing again, or an unknown id, is harmless
    index.remove(999)
    index.add(3, "A note about gardening")
    assert index.search("config", 5) == []
    assert ids(index.search("gardening", 5)) == [3]
    assert len(index) == len(NOTES) - 1


def test_filter_applies_before_the_best_k_are_chosen() -> None:
    index = KeywordIndex()
    for doc_id in range(20):
        index.add(doc_id, "report " * (1 + doc_id % 5) + f"number{doc_id}")
    hits = index.search("report", 3, allowed=lambda doc_id: doc_id % 2 == 1)
    assert len(hits) == 3
    assert all(doc_id % 2 == 1 for doc_id in ids(hits))


def test_score_gives_search_scores_for_any_documents() -> None:
    index = index_of(NOTES)
    hits = dict(index.search("build config", 10))
    scores = index.score("build config", [2, 3, 1, 404])
    assert scores[2] == hits[2]
    assert scores[3] == hits[3]
    assert scores[1] == 0.0  # holds neither word
    assert scores[404] == 0.0  # not indexed


# --- BM25 against a reference ----------------------------------------------------------------
def reference_bm25(bags: dict[int, Counter[str]], query: str) -> dict[int, float]:
    """Okapi BM25 straight from its definition, over each document's bag of terms."""
    mean = sum(sum(bag.values()) for bag in bags.values()) / len(bags)
    scores: dict[int, float] = {}
    for term in set(terms(query, for_query=True)):
        df = sum(1 for bag in bags.values() if term in bag)
        if not df:
            continue
        idf = math.log(1 + (len(bags) - df + 0.5) / (df + 0.5))
        for doc_id, bag in bags.items():
            tf = bag[term]
            if tf:
                norm = 1.2 * (1 - 0.75 + 0.75 * sum(bag.values()) / mean)
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * 2.2 / (tf + norm)
    return scores


def random_corpus(rng: random.Random, count: int) -> dict[int, str]:
    # Zipf-like: a few words in most notes, many in few, so that pruning has work to do.
    words = [f"w{rank}" for rank in range(300)]
    weights = [1 / (rank + 1) for rank in range(300)]
    return {
        doc_id: " ".join(rng.choices(words, weights, k=rng.randint(3, 25)))
        for doc_id in rng.sample(range(10_000), count)
    }


def assert_matches_reference(index: KeywordIndex, docs: dict[int, str], rng: random.Random) -> None:
    words = sorted({word for text in docs.values() for word in text.split()})
    bags = {doc_id: Counter(terms(text)) for doc_id, text in docs.items()}
    for _ in range(40):
        query = " ".join(rng.choices(words, k=rng.randint(1, 6)))
        k = rng.choice([1, 3, 10])
        allowed = None if rng.random() < 0.5 else (lambda doc_id: doc_id % 3 != 0)
        expected = sorted(
            (
                hit
                for hit in reference_bm25(bags, query).items()
                if allowed is None or allowed(hit[0])
            ),
            key=lambda hit: (-hit[1], hit[0]),
        )[:k]
        got = index.search(query, k, allowed)
        assert ids(got) == ids(expected), query
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_search_is_exact_bm25_through_adds_replacements_and_removals() -> None:
    rng = random.Random(4)
    docs = random_corpus(rng, 300)
    index = index_of(docs)
    assert_matches_reference(index, docs, rng)
    for doc_id in rng.sample(sorted(docs), 100):
        index.remove(doc_id)
        del docs[doc_id]
    for doc_id, text in random_corpus(rng, 60).items():
        index.add(doc_id, text)  # some replace a note that is there
        docs[doc_id] = text
    assert len(index) == len(docs)
    assert_matches_reference(index, docs, rng)


def test_search_stays_exact_after_removals_compact_the_index() -> None:
    rng = random.Random(5)
    docs = random_corpus(rng, 2600)
    index = index_of(docs)
    for doc_id in rng.sample(sorted(docs), 2200):  # more dead than live: compaction
        index.remove(doc_id)
        del docs[doc_id]
    assert len(index) == 400
    assert_matches_reference(index, docs, rng)


# --- snapshots -------------------------------------------------------------------------------
def test_snapshot_round_trip_gives_identical_results() -> None:
    rng = random.Random(6)
    docs = {**random_corpus(rng, 200), **NOTES}
    index = index_of(docs)
    for doc_id in (1, 2, 77):
        index.remove(doc_id)
    restored = KeywordIndex.from_bytes(index.to_bytes())
    assert len(restored) == len(index)
    for query in ["w1 w7", "w150", "config", "東京", "猫", "E4012", "w0 w2 w3 w40"]:
        assert restored.search(query, 10) == index.search(query, 10)
    assert restored.score("w5 w9", docs) == index.score("w5 w9", docs)
    restored.add(2, "error E4012 again")  # a restored index keeps changing
    assert ids(restored.search("E4012", 5)) == [2]
    assert KeywordIndex.from_bytes(KeywordIndex().to_bytes()).search("anything", 5) == []


def test_snapshot_of_another_version_or_damaged_is_refused_clearly() -> None:
    snapshot = index_of(NOTES).to_bytes()
    magic_size = snapshot.index(b"\x00") + 1
    newer = (
        snapshot[:magic_size] + struct.pack("<I", SNAPSHOT_VERSION + 1) + snapshot[magic_size + 4 :]
    )
    with pytest.raises(ValueError, match=f"version {SNAPSHOT_VERSION + 1}.*Rebuild the index"):
        KeywordIndex.from_bytes(newer)
    with pytest.raises(ValueError, match="not a keyword index snapshot"):
        KeywordIndex.from_bytes(b"PK\x03\x04 a zip file")
    middle = len(snapshot) // 2
    flipped = snapshot[:middle] + bytes([snapshot[middle] ^ 1]) + snapshot[middle + 1 :]
    for damaged in (snapshot[:-3], snapshot + b"\x00", snapshot[: magic_size + 6], flipped):
        with pytest.raises(ValueError, match="damaged"):
            KeywordIndex.from_bytes(damaged)
