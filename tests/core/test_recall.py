"""Hybrid recall: meaning, exact words and recency fused into one ranking the user can tune."""

from __future__ import annotations

import pytest
from llmos.memory.keyword import KeywordIndex
from llmos.memory.recall import RecallWeights, Scored, fuse

DAY = 86_400.0
NOW = 1_750_000_000.0

MEMORIES = {
    1: "The server crashed with a timeout error while loading the dataset",
    2: "Build failed: error E4012 in config.yaml, key 'port' is missing",
    3: "Connection errors when the API is slow; retried three times",
    4: "Plotted the monthly sales figures as a bar chart",
}
# Cosines an embedder could give for "E4012": an error code means little to it, so the notes
# about errors in general come out closer than the one that holds the code.
COSINES = {"E4012": [(1, 0.58), (3, 0.55), (2, 0.41)], "config.yaml": [(1, 0.47), (2, 0.44)]}


def keyword_index() -> KeywordIndex:
    index = KeywordIndex()
    for doc_id, text in MEMORIES.items():
        index.add(doc_id, text)
    return index


def recall(
    query: str, weights: RecallWeights, created: dict[int, float] | None = None
) -> list[int]:
    keyword_hits = keyword_index().search(query, 10)
    ages = created if created is not None else dict.fromkeys(MEMORIES, NOW - DAY)
    hits = fuse(COSINES[query], keyword_hits, ages, NOW, weights, 3)
    return [hit.doc_id for hit in hits]


@pytest.mark.parametrize("query", ["E4012", "config.yaml"])
def test_exact_keyword_comes_first_even_when_vectors_disagree(query: str) -> None:
    assert recall(query, RecallWeights())[0] == 2


def test_weights_from_settings_change_the_order() -> None:
    meaning_only = RecallWeights.from_settings({"keyword": 0, "recency": 0})
    assert recall("E4012", meaning_only) == [1, 3, 2]
    words_first = RecallWeights.from_settings({"vector": 0.1, "keyword": 0.9})
    assert recall("E4012", words_first)[0] == 2
    assert RecallWeights.from_settings({}) == RecallWeights()


def test_recency_breaks_ties_then_the_lower_id() -> None:
    created = {10: NOW - 40 * DAY, 11: NOW - 2 * DAY, 12: NOW - 2 * DAY}
    same = [(10, 0.5), (11, 0.5), (12, 0.5)]
    meaning_only = RecallWeights(vector=1.0, keyword=0.0, recency=0.0)
    hits = fuse(same, [], created, NOW, meaning_only, 3)
    assert [hit.doc_id for hit in hits] == [11, 12, 10]
    with_recency = fuse(same, [], created, NOW, RecallWeights(), 3)
    assert [hit.doc_id for hit in with_recency] == [11, 12, 10]
    assert with_recency[0].score > with_recency[2].score


def test_recency_halves_every_half_life() -> None:
    created = {1: NOW, 2: NOW - 30 * DAY, 3: NOW - 60 * DAY, 4: NOW + DAY}
    hits = fuse([(1, 0.3), (2, 0.3), (3, 0.3), (4, 0.3)], [], created, NOW, RecallWeights(), 10)
    recency = {hit.doc_id: hit.recency for hit in hits}
    assert recency[1] == 1.0
    assert recency[2] == pytest.approx(0.5)
    assert recency[3] == pytest.approx(0.25)
    assert recency[4] == 1.0  # a clock set back does not reward the future
    short = RecallWeights(half_life_days=15.0)
    hits = fuse([(2, 0.3)], [], created, NOW, short, 1)
    assert hits[0].recency == pytest.approx(0.25)


def test_each_signal_is_kept_and_a_missing_one_counts_zero() -> None:
    hits = fuse([(1, 0.8), (2, 0.4)], [(2, 7.5), (3, 2.5)], {}, NOW, RecallWeights(), 10)
    by_id = {hit.doc_id: hit for hit in hits}
    assert by_id[2] == Scored(2, by_id[2].score, 0.4, 1.0, 0.0)
    assert by_id[2].score == pytest.approx(0.6 * 0.4 + 0.3 * 1.0)
    assert by_id[3].vector == 0.0
    assert by_id[3].keyword == pytest.approx(1 / 3)  # BM25 over the best BM25
    assert by_id[1].keyword == 0.0
    assert all(hit.recency == 0.0 for hit in hits)  # no creation time, no recency
    assert [hit.doc_id for hit in hits] == [2, 1, 3]  # 0.54, 0.48, 0.1


def test_k_limits_and_nothing_in_gives_nothing_out() -> None:
    assert fuse([], [], {}, NOW, RecallWeights(), 5) == []
    assert fuse([(1, 0.9)], [(1, 3.0)], {}, NOW, RecallWeights(), 0) == []
    assert len(fuse([(i, 0.5) for i in range(20)], [], {}, NOW, RecallWeights(), 5)) == 5


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"keyword": "high"}, "'keyword' must be a finite number, not 'high'"),
        ({"vector": True}, "'vector' must be a finite number"),
        ({"recency": float("nan")}, "'recency' must be a finite number"),
        ({"vector": -0.5}, "'vector' must be 0 or more"),
        ({"half_life_days": 0}, "'half_life_days' must be more than 0 days"),
        ({"vector": 0, "keyword": 0, "recency": 0}, "At least one recall weight"),
        ({"vectors": 0.5}, "Unknown recall weight 'vectors'; the recall weights are vector,"),
        ([0.6, 0.3, 0.1], "must be an object of numbers, not list"),
    ],
)
def test_invalid_settings_say_what_is_wrong(settings: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RecallWeights.from_settings(settings)
