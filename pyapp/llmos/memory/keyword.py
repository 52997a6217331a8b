"""Keyword search over memory records: the terms of a text and an incremental BM25 index.

Vectors find what a text *means*; this finds the exact words a user remembers: an error code, a
file name, a function. :func:`terms` turns any text into keyword terms (Latin, accented, CJK,
code identifiers) and :class:`KeywordIndex` ranks documents by Okapi BM25 over them, adding and
removing documents one at a time and saving itself as a compact snapshot so that opening a large
memory does not tokenise every text again.
"""

from __future__ import annotations

import math
import re
import struct
import sys
import unicodedata
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from heapq import nlargest
from itertools import pairwise

K1 = 1.2
B = 0.75
# Bump when the snapshot layout or what terms() yields changes: an old snapshot then holds terms
# a new query would not produce, so it must be rebuilt from the texts, never read.
SNAPSHOT_VERSION = 1
_MAGIC = b"LLMOS-BM25\x00"
_PREFIX = struct.Struct("<11sI")  # magic and version: the first bytes of every version
# terms, documents, [term id, tf] entries, vocabulary bytes; CRC-32 of everything after it
_COUNTS = struct.Struct("<QQQQI")

# Lucene's English stop set: words too common to say anything about a text.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
})
# fmt: on

# Han, kana and Hangul: written without spaces between words, so they are indexed as
# overlapping character pairs (the usual CJK bigram scheme), which needs no dictionary.
_CJK = (
    "\u1100-\u11ff\u3005-\u3007\u3040-\u30fa\u30fc-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
# Marks removed as accents after NFKD: Latin/Greek/Cyrillic diacritics, Hebrew and Arabic
# vowel signs. Other scripts' marks (Devanagari vowel signs...) are part of their letters.
_ACCENTS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u064b-\u065f\u0670]+"
)
# ASCII text (most of it) is split by str.translate + str.split, ~2x faster than a regex.
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "_")}
)
_WORD = re.compile(r"\w+")
# The patterns below start with a rare character class so that a text without any costs ~1 us:
# an identifier (read_csv, getId, HTTPServer) and a dotted or dashed name (main.py, ERR-42).
_IDENTIFIER_HINT = re.compile(r"[A-Z_](?:(?<=_)|(?<=[a-z0-9][A-Z])|(?=[A-Z][a-z]))")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_COMPOUND_HINT = re.compile(r"[.\-]\w")
_COMPOUND = re.compile(r"(?<![\w.\-])\w++(?:[.\-]\w++)+")


def terms(text: str, *, for_query: bool = False) -> list[str]:
    """The keyword terms of ``text``, as a bag (repeats count, order carries no meaning).

    Case-folded, accents stripped (``Café`` and ``cafe`` match), split on anything that is not
    a letter or digit; one-character terms and :data:`STOP_WORDS` are dropped. Runs of CJK
    characters give overlapping character pairs, so Chinese, Japanese and Korean text is
    searchable without a dictionary; a document's terms also hold each CJK character alone,
    which a query's hold only for a lone character (``猫`` finds ``猫が好き``, while ``東京``
    looks for the pair, not for either character). Identifiers give their parts too
    (``read_csv`` -> ``read_csv``, ``read``, ``csv``; ``parseHTTPHeader`` -> ``parse``,
    ``http``, ``header``), and dotted or dashed names give the whole name too (``main.py``),
    so an exact file name or error code outranks texts that share a piece of it.
    """
    folded = _fold(text)
    if folded.isascii():
        words = folded.translate(_ASCII_SEPARATORS).split()
        found = [w for w in words if len(w) > 1 and w not in STOP_WORDS]
    else:
        found = []
        for cjk, word in _tokens().findall(folded):
            if cjk:
                _add_cjk(cjk, found, for_query)
            elif _keep(word):
                found.append(word)
    if _IDENTIFIER_HINT.search(text):
        found += _identifier_parts(text)
    if _COMPOUND_HINT.search(folded):
        found += [c for c in _COMPOUND.findall(folded) if _keep(c)]
    return found


def _fold(text: str) -> str:
    """Case-folded, compatibility-decomposed (full-width letters...) and without accents."""
    if text.isascii():
        return text.lower()
    decomposed = _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return unicodedata.normalize("NFC", decomposed)  # recompose Hangul syllables and kana


@cache
def _tokens() -> re.Pattern[str]:
    """A CJK run, or a word: letters and digits with the marks that belong to them."""
    # Built on first use (~10 ms): Python's \w leaves out combining marks, which would cut
    # Hindi or Thai words apart at every vowel sign.
    marks = "".join(
        re.escape(chr(c)) for c in range(0x300, 0x10000) if unicodedata.category(chr(c))[0] == "M"
    )
    return re.compile(f"([{_CJK}]+)|((?:[^\\W{_CJK}]|[{marks}])+)")


def _keep(term: str) -> bool:
    return len(term) > 1 and term not in STOP_WORDS


def _identifier_parts(text: str) -> list[str]:
    """Identifiers' parts: read_csv -> read, csv; getHTTPId -> get, http, id."""
    found: list[str] = []
    for word in _WORD.findall(text):
        if _IDENTIFIER_HINT.search(word):
            parts = [p for piece in word.split("_") for p in _CAMEL.split(piece) if p]
            if len(parts) > 1:
                found += [p for p in map(_fold, parts) if _keep(p)]
    return found


def _add_cjk(run: str, found: list[str], for_query: bool) -> None:
    if len(run) == 1 or not for_query:
        found += run
    found += [run[i : i + 2] for i in range(len(run) - 1)]


class KeywordIndex:
    """An Okapi BM25 index (k1 = 1.2, b = 0.75) over documents named by integer ids.

    Scores are exactly those of an index built from scratch over the documents present:
    ``remove`` and a replacing ``add`` keep document frequencies, the document count and the
    mean length exact, and leave only a dead entry in the postings that searches skip; dead
    entries are dropped once they outnumber the live ones.
    """

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}  # term -> term id
        self._terms: list[str] = []  # term id -> term
        self._postings: list[array[int]] = []  # term id -> [slot, tf, slot, tf, ...]
        self._df: array[int] = array("I")  # term id -> number of live documents holding it
        # Each added document takes the next slot; a removed one leaves its slot dead until
        # compaction renumbers the live ones.
        self._slot_of: dict[int, int] = {}  # doc id -> slot, live documents only
        self._doc_ids: array[int] = array("q")  # slot -> doc id
        self._lengths: array[int] = array("I")  # slot -> number of terms
        self._live = bytearray()  # slot -> 1 while the document is in the index
        self._doc_terms: array[int] = array("I")  # [term id, tf, ...] of every slot in turn
        self._doc_start: array[int] = array("Q", [0])  # slot -> its first entry in _doc_terms
        self._total_length = 0  # of the live documents, for the mean length

    def __len__(self) -> int:
        """The number of documents in the index."""
        return len(self._slot_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    def ids(self) -> list[int]:
        """The ids of the documents in the index."""
        return list(self._slot_of)

    # --- changes -----------------------------------------------------------------------------
    def add(self, doc_id: int, text: str) -> None:
        """Index ``text`` as document ``doc_id``, replacing what that id held before."""
        self.remove(doc_id)
        self._add_counts(doc_id, Counter(terms(text)).items())

    def remove(self, doc_id: int) -> None:
        """Take document ``doc_id`` out of the index; an unknown id is ignored."""
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return
        for term_id, _tf in _pairs(self._slot_terms(slot)):
            self._df[term_id] -= 1
        self._total_length -= self._lengths[slot]
        self._live[slot] = 0
        if len(self._doc_ids) - len(self._slot_of) > max(len(self._slot_of), 1024):
            self._compact()

    def _add_counts(self, doc_id: int, counts: Iterable[tuple[str, int]]) -> None:
        slot = len(self._doc_ids)
        vocab, postings, df = self._vocab, self._postings, self._df
        entries: list[int] = []
        for term, tf in counts:
            term_id = vocab.get(term)
            if term_id is None:
                term_id = self._new_term(term)
            postings[term_id].extend((slot, tf))
            df[term_id] += 1
            entries += (term_id, tf)
        length = sum(entries[1::2])
        self._slot_of[doc_id] = slot
        self._doc_ids.append(doc_id)
        self._lengths.append(length)
        self._live.append(1)
        self._doc_terms.extend(entries)
        self._doc_start.append(len(self._doc_terms))
        self._total_length += length

    def _new_term(self, term: str) -> int:
        term_id = self._vocab[term] = len(self._terms)
        self._terms.append(term)
        self._postings.append(array("I"))
        self._df.append(0)
        return term_id

    def _slot_terms(self, slot: int) -> array[int]:
        return self._doc_terms[self._doc_start[slot] : self._doc_start[slot + 1]]

    def _compact(self) -> None:
        """Rebuild without dead slots or unused terms; no score changes."""
        fresh = KeywordIndex()
        for slot in range(len(self._doc_ids)):
            if self._live[slot]:
                counts = [(self._terms[t], tf) for t, tf in _pairs(self._slot_terms(slot))]
                fresh._add_counts(self._doc_ids[slot], counts)
        self.__dict__.update(fresh.__dict__)

    # --- queries -----------------------------------------------------------------------------
    def search(
        self, query: str, k: int, allowed: Callable[[int], bool] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(doc_id, score)`` for ``query``, best first, ties by lower id.

        Only documents holding a query term are returned. ``allowed``, when given, keeps only
        the ids it accepts (a metadata filter), before the best ``k`` are chosen.
        """
        plan = self._plan(query) if k > 0 else []
        if not plan:
            return []
        accepts = _Verdicts(self._doc_ids, allowed)
        scores = self._top_candidates(plan, k, accepts)
        kth_best = _kth_best(scores, k, accepts)
        hits = [
            (self._doc_ids[slot], score)
            for slot, score in scores.items()
            if score >= kth_best and accepts(slot)
        ]
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]

    def score(self, query: str, doc_ids: Iterable[int]) -> dict[int, float]:
        """The BM25 score of each of ``doc_ids`` for ``query``, the same :meth:`search` gives;
        0.0 for a document without any query term or not in the index."""
        plan = self._plan(query)
        slots = {doc_id: self._slot_of.get(doc_id) for doc_id in doc_ids}
        scores = self._score_slots({s: 0.0 for s in slots.values() if s is not None}, plan)
        return {doc_id: 0.0 if slot is None else scores[slot] for doc_id, slot in slots.items()}

    def _plan(self, query: str) -> list[tuple[int, float]]:
        """``(term id, idf * (k1 + 1))`` of the query's distinct indexed terms, rarest first.

        The second number bounds what the term can add to a score; rarest first lets
        :meth:`_top_candidates` stop reading postings early.
        """
        plan = []
        for term in dict.fromkeys(terms(query, for_query=True)):
            term_id = self._vocab.get(term)
            if term_id is not None and self._df[term_id]:
                plan.append((term_id, self._idf(term_id) * (K1 + 1)))
        plan.sort(key=lambda step: -step[1])
        return plan

    def _idf(self, term_id: int) -> float:
        df = self._df[term_id]
        return math.log(1.0 + (len(self._slot_of) - df + 0.5) / (df + 0.5))

    def _length_norm(self) -> tuple[float, float]:
        """BM25's ``k1 * (1 - b + b * length / mean length)`` as ``(a, c)``: ``a + c * length``."""
        mean_length = self._total_length / len(self._slot_of) if self._slot_of else 0.0
        return K1 * (1 - B), K1 * B / (mean_length or 1.0)

    def _top_candidates(
        self, plan: list[tuple[int, float]], k: int, accepts: _Verdicts
    ) -> dict[int, float]:
        """Slot -> full score, for every slot that can be among the best ``k`` (MaxScore).

        Postings are read term by term, rarest first. Once the terms left could not lift an
        unseen document to the k-th best score seen, no unseen document can make the top k:
        the documents seen that still can take the rest of their score from their own terms,
        which costs less than reading a common term's postings.
        """
        scores: dict[int, float] = {}
        left = sum(bound for _term_id, bound in plan)
        terms_per_doc = len(self._doc_terms) / 2 / len(self._doc_ids)
        closed = False  # True once no unseen document can make the top k
        for done, (term_id, bound) in enumerate(plan, start=1):
            self._read_postings(scores, term_id, bound, closed)
            left -= bound
            rest = plan[done:]
            if not rest:
                break
            kth_best = _kth_best(scores, k, accepts)
            if left < kth_best:
                closed = True
                scores = {slot: s for slot, s in scores.items() if s + left >= kth_best}
                if len(scores) * terms_per_doc < sum(self._df[t] for t, _bound in rest):
                    return self._score_slots(scores, rest)
        return scores

    def _read_postings(
        self, scores: dict[int, float], term_id: int, scale: float, closed: bool
    ) -> None:
        """Add one term's share to ``scores`` from its postings (the hot loop: kept bare);
        ``closed``: to the slots in ``scores`` only."""
        get, lengths, live = scores.get, self._lengths, self._live
        constant, per_length = self._length_norm()
        if not scores:  # the first term: a comprehension is ~15% faster
            scores.update(
                {
                    slot: scale * tf / (tf + (constant + per_length * lengths[slot]))
                    for slot, tf in _pairs(self._postings[term_id])
                    if live[slot]
                }
            )
            return
        for slot, tf in _pairs(self._postings[term_id]):
            so_far = get(slot)
            if so_far is None:
                if closed or not live[slot]:
                    continue
                so_far = 0.0
            scores[slot] = so_far + scale * tf / (tf + (constant + per_length * lengths[slot]))

    def _score_slots(
        self, scores: dict[int, float], plan: list[tuple[int, float]]
    ) -> dict[int, float]:
        """Add the ``plan`` terms' shares to the given slots' scores, from their own terms.

        Shares are added in plan order, as :meth:`_read_postings` adds them, so that a score
        is the same to the last bit whichever way it was computed.
        """
        constant, per_length = self._length_norm()
        for slot, so_far in scores.items():
            holds = dict(_pairs(self._slot_terms(slot)))
            norm = constant + per_length * self._lengths[slot]
            total = so_far
            for term_id, scale in plan:
                tf = holds.get(term_id)
                if tf:
                    total += scale * tf / (tf + norm)
            scores[slot] = total
        return scores

    # --- snapshots ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """A compact snapshot of the index (its postings, not its texts), for :meth:`from_bytes`."""
        if len(self._doc_ids) != len(self._slot_of) or 0 in self._df:
            self._compact()  # a snapshot holds live documents and used terms only
        vocabulary = "\x00".join(self._terms).encode("utf-8")
        posting_start = array("Q", [0])
        for postings in self._postings:
            posting_start.append(posting_start[-1] + len(postings))
        counts = (len(self._terms), len(self._doc_ids), len(self._doc_terms), len(vocabulary))
        columns = [self._doc_ids, self._lengths, self._doc_start, self._doc_terms, posting_start]
        body = b"".join(
            [
                vocabulary,
                *(_little(column) for column in columns),
                *(_little(postings) for postings in self._postings),
            ]
        )
        header = _PREFIX.pack(_MAGIC, SNAPSHOT_VERSION) + _COUNTS.pack(*counts, zlib.crc32(body))
        return header + body

    @classmethod
    def from_bytes(cls, data: bytes) -> KeywordIndex:
        """The index a :meth:`to_bytes` snapshot holds.

        Raises ``ValueError`` for anything but a complete snapshot of this version; the caller
        then rebuilds the index from the texts.
        """
        reader = _Reader(memoryview(data))
        n_terms, n_slots, n_doc_terms, vocabulary_size = _read_header(reader)
        index = cls()  # the checksum matched: the parts below are what to_bytes wrote
        try:
            vocabulary = str(reader.take(vocabulary_size), "utf-8")
        except UnicodeDecodeError:
            raise ValueError(_CORRUPT) from None
        index._terms = vocabulary.split("\x00") if n_terms else []
        index._vocab = {term: term_id for term_id, term in enumerate(index._terms)}
        index._doc_ids = reader.column("q", n_slots)
        index._lengths = reader.column("I", n_slots)
        index._doc_start = reader.column("Q", n_slots + 1)
        index._doc_terms = reader.column("I", n_doc_terms)
        posting_start = reader.column("Q", n_terms + 1)
        postings = reader.column("I", posting_start[-1])  # one read, then one slice per term
        reader.finish()
        index._postings = [postings[start:end] for start, end in pairwise(posting_start)]
        index._df = array("I", [len(term_postings) // 2 for term_postings in index._postings])
        index._slot_of = dict(zip(index._doc_ids, range(n_slots), strict=True))
        index._live = bytearray(b"\x01" * n_slots)
        index._total_length = sum(index._lengths)
        _check(index, postings, n_terms)
        return index


_CORRUPT = "This keyword index snapshot is damaged; rebuild the index from the records."


def _read_header(reader: _Reader) -> tuple[int, int, int, int]:
    if bytes(reader.data[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("This is not a keyword index snapshot.")
    _magic, version = _PREFIX.unpack(reader.take(_PREFIX.size))
    if version != SNAPSHOT_VERSION:
        raise ValueError(
            f"This keyword index snapshot has version {version}; this LLMos reads version "
            f"{SNAPSHOT_VERSION} only. Rebuild the index from the records."
        )
    *counts, checksum = _COUNTS.unpack(reader.take(_COUNTS.size))
    if zlib.crc32(reader.data[reader.offset :]) != checksum:
        raise ValueError(_CORRUPT)
    n_terms, n_slots, n_doc_terms, vocabulary_size = counts
    return n_terms, n_slots, n_doc_terms, vocabulary_size


def _check(index: KeywordIndex, postings: array[int], n_terms: int) -> None:
    """Refuse a snapshot whose parts disagree (cheap checks: its checksum matched)."""
    consistent = (
        len(index._terms) == n_terms == len(index._vocab)
        and len(index._slot_of) == len(index._doc_ids)
        and index._doc_start[0] == 0
        and index._doc_start[-1] == len(index._doc_terms) == len(postings)
        and sum(map(len, index._postings)) == len(postings)
    )
    if not consistent:
        raise ValueError(_CORRUPT)


class _Reader:
    """Reads a snapshot front to back; running past its end means it is damaged."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int) -> memoryview:
        end = self.offset + size
        if end > len(self.data):
            raise ValueError(_CORRUPT)
        chunk, self.offset = self.data[self.offset : end], end
        return chunk

    def column(self, typecode: str, count: int) -> array[int]:
        values = array(typecode)
        values.frombytes(self.take(count * values.itemsize))
        if sys.byteorder == "big":
            values.byteswap()
        return values

    def finish(self) -> None:
        if self.offset != len(self.data):
            raise ValueError(_CORRUPT)


class _Verdicts:
    """``allowed`` asked once per slot (or never, without a filter)."""

    def __init__(self, doc_ids: array[int], allowed: Callable[[int], bool] | None) -> None:
        self.doc_ids, self.allowed = doc_ids, allowed
        self.known: dict[int, bool] = {}

    def __call__(self, slot: int) -> bool:
        if self.allowed is None:
            return True
        verdict = self.known.get(slot)
        if verdict is None:
            verdict = self.known[slot] = bool(self.allowed(self.doc_ids[slot]))
        return verdict


def _kth_best(scores: dict[int, float], k: int, accepts: _Verdicts) -> float:
    """The k-th best accepted score, or -inf when fewer than ``k`` are accepted."""
    if accepts.allowed is None:
        best = nlargest(k, scores.values())
    else:
        best = nlargest(k, (score for slot, score in scores.items() if accepts(slot)))
    return best[-1] if len(best) == k else -math.inf


def _pairs(flat: array[int]) -> Iterator[tuple[int, int]]:
    items = iter(flat)
    return zip(items, items, strict=True)


def _little(values: array[int]) -> bytes:
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()
