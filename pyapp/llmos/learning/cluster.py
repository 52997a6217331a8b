"""Grouping similar traces: by what was asked (embedding cosine) and by what was done (the
sequence of tools called). Two traces belong together only when both agree, so "summarize
sales.csv" and "summarize orders.csv" meet, while "summarize this CSV" answered in prose and
one answered with code stay apart."""

from __future__ import annotations

import re
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmos.learning.traces import Trace
from llmos.memory.embedder import cosine, normalise

# Tools that say nothing about how a task was solved.
BOOKKEEPING = frozenset({"recall", "remember", "load_skill"})
MEANING = 0.6  # mean cosine of a trace's request to a cluster's requests
SHAPE = 0.5  # mean tool-sequence similarity to a cluster's traces
WORD_DIM = 512


@dataclass
class Cluster:
    """Traces that asked for the same kind of thing and did it the same way."""

    traces: list[Trace] = field(default_factory=list)
    vectors: list[Sequence[float]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.traces]

    @property
    def successes(self) -> list[Trace]:
        """Successful traces that applied no skill: the raw material for a new one."""
        return [t for t in self.traces if t.outcome == "success" and not t.skills_applied]

    def shape(self) -> list[str]:
        return tool_shape(self.traces[0].tools) if self.traces else []

    def meaning_to(self, vector: Sequence[float]) -> float:
        return sum(cosine(vector, v) for v in self.vectors) / max(1, len(self.vectors))

    def summary(self) -> dict[str, object]:
        return {
            "traces": self.ids,
            "successes": len(self.successes),
            "tools": self.shape(),
            "requests": [t.request[:120] for t in self.traces[:3]],
        }


def tool_shape(tools: Sequence[str]) -> list[str]:
    """The tool names that matter, with repeats in a row collapsed (one retry is not a new
    step)."""
    shape: list[str] = []
    for name in tools:
        if name not in BOOKKEEPING and (not shape or shape[-1] != name):
            shape.append(name)
    return shape


def sequence_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How alike two tool sequences are: 2·LCS / (|a| + |b|), 1.0 for two empty ones."""
    x, y = tool_shape(a), tool_shape(b)
    if not x and not y:
        return 1.0
    previous = [0] * (len(y) + 1)
    for name in x:
        row = [0]
        for j, other in enumerate(y):
            row.append(previous[j] + 1 if name == other else max(previous[j + 1], row[j]))
        previous = row
    return 2 * previous[-1] / (len(x) + len(y))


def cluster_traces(
    traces: Sequence[Trace],
    vectors: Sequence[Sequence[float]],
    *,
    meaning: float = MEANING,
    shape: float = SHAPE,
) -> list[Cluster]:
    """Greedy average-linkage grouping in the order given (oldest first, so clusters are
    stable as traces arrive): each trace joins the closest cluster it fits, else starts one."""
    clusters: list[Cluster] = []
    for trace, vector in zip(traces, vectors, strict=True):
        best: tuple[float, Cluster] | None = None
        for cluster in clusters:
            near = cluster.meaning_to(vector)
            alike = sum(sequence_similarity(trace.tools, t.tools) for t in cluster.traces)
            alike /= len(cluster.traces)
            if near >= meaning and alike >= shape and (best is None or near + alike > best[0]):
                best = (near + alike, cluster)
        target = best[1] if best else Cluster()
        if best is None:
            clusters.append(target)
        target.traces.append(trace)
        target.vectors.append(vector)
    return clusters


def word_vectors(texts: Sequence[str]) -> list[array[float]]:
    """Bag-of-words vectors (hashed), for when no embedding model is available: similar
    wording still meets, though meaning alone does not."""
    out = []
    for text in texts:
        counts = [0.0] * WORD_DIM
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            counts[zlib.crc32(word.encode()) % WORD_DIM] += 1.0
        out.append(normalise(counts))
    return out
