"""Hybrid recall: one ranking from what a memory means, the words it holds and how recent it is.

The vector index finds memories close in meaning, the keyword index (BM25) those that share the
query's exact words, and recency favours what happened lately. :func:`fuse` merges the two hit
lists into one ranking with :class:`RecallWeights`, which come from the user's settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class RecallWeights:
    """How much each signal counts in a recalled memory's score.

    Why these defaults: meaning is the best single signal, so the cosine leads (0.6). Among
    one query's candidates all-MiniLM-L6-v2's cosines sit in a narrow band (about 0.3-0.7),
    so they move scores apart by 0.6 x 0.4 = 0.24 at most, while the keyword score, scaled to
    0..1 within the candidates, moves them by up to 0.3: the memory holding the query's exact
    rare words (an error code, a file name) comes first unless another is much closer in
    meaning, and among memories without them meaning alone decides. Recency (0.1) is worth
    less than either, so it orders memories that are otherwise alike, the newer first; with a
    30-day half-life a month-old memory keeps half of it.
    """

    vector: float = 0.6
    keyword: float = 0.3
    recency: float = 0.1
    half_life_days: float = 30.0

    @classmethod
    def from_settings(cls, values: Mapping[str, Any] | object) -> RecallWeights:
        """Weights from a settings object such as ``{"keyword": 0.5}``; missing keys keep
        their default. ``ValueError`` says which value is wrong and why (settings are JSON a
        user may have edited, so any value may arrive)."""
        if not isinstance(values, Mapping):
            raise ValueError(
                f"Recall weights must be an object of numbers, not {type(values).__name__}."
            )
        known = [field.name for field in fields(cls)]
        unknown = sorted(str(key) for key in values if key not in known)
        if unknown:
            raise ValueError(
                f"Unknown recall weight {', '.join(map(repr, unknown))}; "
                f"the recall weights are {', '.join(known)}."
            )
        weights = cls(**{key: _number(key, value) for key, value in values.items()})
        weights._check()
        return weights

    def _check(self) -> None:
        for name in ("vector", "keyword", "recency"):
            if getattr(self, name) < 0:
                raise ValueError(f"The recall weight {name!r} must be 0 or more.")
        if self.vector == self.keyword == self.recency == 0:
            raise ValueError("At least one recall weight (vector, keyword, recency) must be > 0.")
        if self.half_life_days <= 0:
            raise ValueError("The recall weight 'half_life_days' must be more than 0 days.")


def _number(name: str, value: object) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value) if abs(value) < 1e300 else math.inf
    if not math.isfinite(number):
        raise ValueError(f"The recall weight {name!r} must be a finite number, not {value!r}.")
    return number


@dataclass(frozen=True)
class Scored:
    """A recalled document: its fused ``score`` and the three signals it was made of."""

    doc_id: int
    score: float
    vector: float  # cosine similarity, -1..1; 0 when the vector search did not return it
    keyword: float  # BM25 divided by the best BM25 among the candidates, 0..1
    recency: float  # 0.5 ** (age in days / half-life): 1 now, 0.5 one half-life ago


def fuse(  # noqa: PLR0917 (six inputs, each one of the recall's)
    vector_hits: Sequence[tuple[int, float]],
    keyword_hits: Sequence[tuple[int, float]],
    created: Mapping[int, float],
    now: float,
    weights: RecallWeights,
    k: int,
) -> list[Scored]:
    """The ``k`` best of the documents in either hit list, best first.

    ``vector_hits`` are ``(doc_id, cosine)``, ``keyword_hits`` ``(doc_id, bm25)``; a document
    missing from one list gets 0 for that signal (the caller may put its real score in the
    list instead: :meth:`KeywordIndex.score` gives BM25 for any document). ``created`` and
    ``now`` are in seconds; a document with no creation time gets no recency. Ties go to the
    more recent document, then to the lower id.
    """
    if k <= 0:
        return []
    cosine = dict(vector_hits)
    bm25 = dict(keyword_hits)
    best_bm25 = max(bm25.values(), default=0.0)
    candidates = dict.fromkeys([*cosine, *bm25])
    scored = []
    for doc_id in candidates:
        vector = cosine.get(doc_id, 0.0)
        keyword = bm25.get(doc_id, 0.0) / best_bm25 if best_bm25 > 0 else 0.0
        recency = _recency(created.get(doc_id), now, weights.half_life_days)
        score = weights.vector * vector + weights.keyword * keyword + weights.recency * recency
        scored.append(Scored(doc_id, score, vector, keyword, recency))
    scored.sort(key=lambda hit: (-hit.score, -hit.recency, hit.doc_id))
    return scored[:k]


def _recency(created: float | None, now: float, half_life_days: float) -> float:
    if created is None:
        return 0.0
    age_days = max(0.0, now - created) / SECONDS_PER_DAY  # a clock set back counts as now
    return float(0.5 ** (age_days / half_life_days))


def citation(item: Mapping[str, Any], chars: int = 300) -> str:
    """A recalled item (``Hit.to_dict()`` shape) as the model sees it:
    ``[m12] (file: notes.md) text``."""
    source = item["source"]
    text = str(item["text"])
    if len(text) > chars:
        text = text[: chars - 1] + "…"
    return f"[m{item['id']}] ({source['type']}: {source['title'] or source['ref']}) {text}"
