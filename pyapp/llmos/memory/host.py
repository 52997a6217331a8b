"""Memory inside the OS service: what gets remembered, when, and how it is recalled.

The host owns the vector store (in OS-private storage, ``memory/``), the keyword index and the
embedder, all opened on first use. Writes (conversation turns, tool executions, saved files) go
through one background queue, so a turn never waits for embedding and a failure is reported
as a ``memory.notice`` event instead of breaking the chat. Recall is hybrid: vector similarity,
BM25 keywords and recency, weighted by the ``memory`` settings.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import math
import time
from array import array
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.errors import BinaryFileError, LlmosError, NotFoundError, QuotaError
from llmos.memory.embedder import DIM, MODEL_ID, TextEmbedder
from llmos.memory.keyword import KeywordIndex
from llmos.memory.recall import RecallWeights, citation, fuse
from llmos.memory.store import Filter, NewRecord, Record, Source, VectorStore

if TYPE_CHECKING:
    from llmos.platform import Storage
    from llmos.service import OsService
    from llmos.vfs import Change

FOLDER = "memory"
KEYWORD_SNAPSHOT = "memory/keywords.bin"
SETTINGS_KEY = "memory"
MAX_FILE_BYTES = 1_000_000  # larger files are not indexed (a notice says so)
MAX_ITEM_CHARS = 200_000  # one remembered text (a note, a tool output) at most
SNIPPET_CHARS = 300
SNAPSHOT_EVERY = 100  # keyword changes between snapshot saves (small indexes: every time)
COMPACT_MIN_DEAD = 100
MIN_SECRET_CHARS = 8  # shorter values could match ordinary words
IMPORT_BATCH = 64  # records per store write: an interrupted import keeps whole batches
EXPORT_HEADER = "llmos-memory"
EXPORT_VERSION = 1
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "backend": "auto",
    "inject": 3,
    "min_score": 0.3,
    "weights": {},
    "remember": {"conversations": True, "executions": True, "files": True},
}
# learning/: traces are remembered whole; skills/: as "skill" memories (llmos.skills.context),
# so an imported, untrusted skill's text never reaches the agent as a recalled file.
SKIPPED_FOLDERS = ("user/chats/", "user/learning/", "user/skills/")


@dataclass(frozen=True)
class Hit:
    """One recalled memory, with its source and how each signal scored it."""

    record: Record
    score: float
    vector: float
    keyword: float
    recency: float

    def to_dict(self, snippet: int = SNIPPET_CHARS) -> dict[str, Any]:
        text = self.record.text
        return {
            "id": self.record.id,
            "kind": self.record.kind,
            "text": text if len(text) <= snippet else text[: snippet - 1] + "…",
            "source": self.record.to_dict()["source"],
            "created": self.record.created,
            "score": round(self.score, 4),
            "scores": {
                "vector": round(self.vector, 4),
                "keyword": round(self.keyword, 4),
                "recency": round(self.recency, 4),
            },
        }


class MemoryHost:
    """The memory of one OS service."""

    def __init__(self, service: OsService) -> None:
        self.service = service
        self._store: VectorStore | None = None
        self._keywords: KeywordIndex | None = None
        self._embedder: TextEmbedder | None = None
        self._opening = asyncio.Lock()
        self._queue: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._unsaved = 0  # keyword changes since the snapshot was saved
        self.notices: list[str] = []

    # --- settings ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        saved = self.service.settings.get(SETTINGS_KEY) or {}
        merged = {**DEFAULTS, **saved}
        merged["remember"] = {**DEFAULTS["remember"], **saved.get("remember", {})}
        return merged

    def weights(self) -> RecallWeights:
        return RecallWeights.from_settings(self.settings()["weights"])

    @property
    def enabled(self) -> bool:
        return bool(self.settings()["enabled"])

    # --- opening -----------------------------------------------------------------------------
    async def store(self) -> VectorStore:
        """The vector store and its keyword index, opened once."""
        async with self._opening:
            if self._store is None:
                store = await VectorStore.open(
                    self._storage(),
                    FOLDER,
                    dim=DIM,
                    model=MODEL_ID,
                    index_factory=self.service.vector_index,
                    verify_vectors=False,  # checked just after, in the background
                )
                self._keywords = await self._load_keywords(store)
                self._store = store
                self.schedule("a check of the stored vectors", lambda: self._verify(store))
            return self._store

    async def _verify(self, store: VectorStore) -> None:
        for problem in await store.verify():
            self.notice(problem)

    def _storage(self) -> Storage:
        storage = self.service.memory_storage or self.service.private
        if storage is None:
            raise LlmosError("This OS has no private storage for memory.")
        return storage

    def _engine_factory(self) -> Callable[[str], Any]:
        factory = self.service.embedding_engine
        if factory is None:
            raise LlmosError("No embedding model is available on this platform.")
        return factory

    async def embedder(self) -> TextEmbedder:
        """The embedder (the model loads on its first use)."""
        if self._embedder is None:
            from llmos.memory.tokenizer import WordPieceTokenizer

            engine = self._engine_factory()(str(self.settings()["backend"]))
            self._embedder = TextEmbedder(WordPieceTokenizer.load(), engine)
        return self._embedder

    def reset_embedder(self) -> None:
        """Forget the embedder, so the next use makes one with the current settings."""
        self._embedder = None

    async def _load_keywords(self, store: VectorStore) -> KeywordIndex:
        """The saved keyword index, brought up to date with the store (records added or
        deleted since it was saved), or one rebuilt from the texts when there is none."""
        ids = store.ids()
        try:
            index = KeywordIndex.from_bytes(await self._storage().read(KEYWORD_SNAPSHOT))
        except (NotFoundError, ValueError):
            index = KeywordIndex()
        live = set(ids)
        stale = [i for i in index.ids() if i not in live]
        for record_id in stale:
            index.remove(record_id)
        missing = [i for i in ids if i not in index]
        for start in range(0, len(missing), 512):
            for record in await store.records(missing[start : start + 512]):
                index.add(record.id, record.text)
        self._unsaved = len(stale) + len(missing)
        return index

    # --- writing -----------------------------------------------------------------------------
    async def remember(
        self,
        kind: str,
        text: str,
        source: Source,
        metadata: dict[str, Any] | None = None,
    ) -> list[int]:
        """Store ``text`` (chunked when long) and return the new record ids."""
        text = text.strip()
        if not text:
            raise ValueError("There is nothing to remember: the text is empty.")
        if len(text) > MAX_ITEM_CHARS:
            raise ValueError(
                f"This text is {len(text):,} characters; one memory holds at most "
                f"{MAX_ITEM_CHARS:,}. Save it as a file instead: files are remembered in chunks."
            )
        return await self._add_chunks(kind, text, source, metadata or {})

    def scrub(self, text: str) -> str:
        """``text`` without any secret the OS holds (an API key pasted into a chat must not
        end up in memory or its exports)."""
        for value in self.service.secrets.as_dict().values():
            if isinstance(value, str) and len(value) >= MIN_SECRET_CHARS and value in text:
                text = text.replace(value, "[secret removed]")
        return text

    async def _add_chunks(
        self, kind: str, text: str, source: Source, metadata: dict[str, Any]
    ) -> list[int]:
        store = await self.store()
        text = self.scrub(text)
        source = dataclasses.replace(source, title=self.scrub(source.title))
        pieces = await (await self.embedder()).embed_chunks(text)
        many = len(pieces) > 1
        new = [
            NewRecord(
                kind=kind,
                text=piece.text,
                metadata={**metadata, "chunk": n, "start": piece.start, "end": piece.end}
                if many
                else metadata,
                source=source,
                vector=piece.vector,
            )
            for n, piece in enumerate(pieces)
        ]
        ids = await store.add(new)
        keywords = self._keywords
        assert keywords is not None
        for record_id, item in zip(ids, new, strict=True):
            keywords.add(record_id, item.text)
        self._unsaved += len(ids)
        self._changed()
        return ids

    async def forget(self, ids: Iterable[int]) -> int:
        """Delete records; returns how many existed."""
        store = await self.store()
        wanted = list(ids)
        deleted = await store.delete(wanted)
        keywords = self._keywords
        assert keywords is not None
        for record_id in wanted:
            keywords.remove(record_id)
        self._unsaved += len(wanted)
        if _worth_compacting(store):
            self.schedule("a compaction", self._compact)
        self._changed()
        return deleted

    async def _compact(self) -> None:
        store = await self.store()
        if _worth_compacting(store):
            await store.compact()
            self._changed()

    async def forget_source(self, ref: str, source_type: str | None = None) -> int:
        store = await self.store()
        return await self.forget(store.ids(Filter(source_ref=ref, source_type=source_type)))

    def _changed(self) -> None:
        store = self._store
        if store is not None:
            self.service.emit(
                protocol.event("memory.changed", count=store.count, bytes=store.size_bytes)
            )

    # --- the background queue ----------------------------------------------------------------
    def schedule(self, label: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run ``job`` after the jobs before it; a failure becomes a notice, never an error
        in the caller (a chat turn must not fail because memory did)."""
        if not self.enabled:
            return
        self._queue.append((label, job))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            label, job = self._queue.pop(0)
            try:
                await job()
            except Exception as error:
                self.notice(
                    f"Memory could not store {label}: {protocol.error_info(error)['message']}"
                )
        await self._save_keywords()

    async def idle(self) -> None:
        """Wait until every scheduled write is done (tests, export, shutdown)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.wait([self._worker])

    async def _save_keywords(self, force: bool = False) -> None:
        """Save the keyword index once enough changed: a stale snapshot only costs reading
        the few texts it lacks at the next open, while a save writes all of it (~350 bytes
        per record)."""
        keywords = self._keywords
        if keywords is None or not self._unsaved:
            return
        if not force and self._unsaved < SNAPSHOT_EVERY and len(keywords) > SNAPSHOT_EVERY * 20:
            return
        try:
            await self._storage().write(KEYWORD_SNAPSHOT, keywords.to_bytes())
            self._unsaved = 0
        except QuotaError as error:  # the next open reads the texts the snapshot lacks
            self.notice(str(error))

    def notice(self, text: str) -> None:
        self.notices = [*self.notices[-19:], text]
        self.service.emit(protocol.event("memory.notice", text=text))

    # --- what gets remembered ----------------------------------------------------------------
    def on_turn(self, chat_id: str, title: str, items: list[dict[str, Any]], start: int) -> None:
        """Remember a finished turn: the exchange, and each tool execution in it."""
        wanted = self.settings()["remember"]
        turn = items[start:]
        user = next((i["text"] for i in turn if i["kind"] == "user"), "")
        answers = [i["text"] for i in turn if i["kind"] == "assistant" and i["text"]]
        source = Source("conversation", chat_id, title)
        if wanted["conversations"] and user and answers:
            text = f"User: {user}\nAssistant: {answers[-1]}"
            meta = {"turn": start}
            self.schedule(
                "a conversation turn", lambda: self._store_text("conversation", text, source, meta)
            )
        if not wanted["executions"]:
            return
        for offset, item in enumerate(turn):
            if item["kind"] == "tool" and item.get("status") in ("ok", "error"):
                self._schedule_execution(chat_id, title, start + offset, item)

    def _schedule_execution(
        self, chat_id: str, title: str, index: int, item: dict[str, Any]
    ) -> None:
        ok = item["status"] == "ok"
        arguments = str(item.get("arguments", ""))
        with contextlib.suppress(ValueError):
            parsed = json.loads(arguments)
            if item["name"] == "execute_python" and isinstance(parsed, dict):
                arguments = str(parsed.get("code", arguments))
        text = (
            f"Tool {item['name']} ({'succeeded' if ok else 'failed'}):\n{arguments}\n"
            f"Result:\n{str(item.get('result', ''))[:4000]}"
        )
        source = Source("trace", f"{chat_id}#{index}", title)
        meta = {"tool": item["name"], "success": ok, "chat": chat_id}
        self.schedule("a tool run", lambda: self._store_text("execution", text, source, meta))

    async def _store_text(
        self, kind: str, text: str, source: Source, metadata: dict[str, Any]
    ) -> None:
        await self.remember(kind, text[:MAX_ITEM_CHARS], source, metadata)

    def on_file_change(self, change: Change) -> None:
        """Re-index a user file when it is saved; forget it when it is deleted or moved."""
        if not self.settings()["remember"]["files"]:
            return
        path = change.path
        if not path.startswith("user/") or path.startswith(SKIPPED_FOLDERS):
            return
        if change.kind in ("deleted", "moved"):
            self.schedule(path, lambda: self._forget_file(path))
        if change.kind == "moved" and change.dest:
            dest = change.dest
            self.schedule(dest, lambda: self._index_tree(dest))
        elif change.kind in ("written", "created"):
            self.schedule(path, lambda: self._index_file(path))

    async def _forget_file(self, path: str) -> None:
        """Forget a file, or every file under a folder."""
        store = await self.store()
        ids = store.ids(Filter(source_type="file"))
        inside = path + "/"
        gone = [
            r.id
            for r in await store.records(ids)
            if r.source.ref == path or r.source.ref.startswith(inside)
        ]
        await self.forget(gone)

    async def _index_tree(self, path: str) -> None:
        entry = await self.service.vfs.stat(path)
        if entry is None or not entry.is_dir:
            await self._index_file(path)
            return
        for child in await self.service.vfs.walk(path):
            if not child.is_dir:
                await self._index_file(child.path)

    async def _index_file(self, path: str) -> None:
        vfs = self.service.vfs
        entry = await vfs.stat(path)
        if entry is None or entry.is_dir:
            return
        await self.forget_source(path, "file")
        if entry.size > MAX_FILE_BYTES:
            self.notice(
                f"{path} is {entry.size / 1e6:.1f} MB: memory indexes files up to "
                f"{MAX_FILE_BYTES / 1e6:.0f} MB, so its contents are not searchable."
            )
            return
        try:
            text = await vfs.read_text(path)
        except BinaryFileError:
            return  # images, archives...: nothing to read by meaning
        if "\x00" in text or not text.strip():
            return
        source = Source("file", path, path.rsplit("/", 1)[-1])
        await self._add_chunks("file", text, source, {"size": entry.size})

    # --- recall ------------------------------------------------------------------------------
    async def recall(
        self,
        query: str,
        k: int = 8,
        kinds: Iterable[str] | None = None,
        exclude_ref: str | None = None,
    ) -> list[Hit]:
        """The ``k`` memories that best match ``query``, best first."""
        store = await self.store()
        query = query.strip()
        if not query or store.count == 0:
            return []
        where = Filter(kinds=frozenset(kinds) if kinds else None)
        vector = (await (await self.embedder()).embed_texts([query]))[0]
        wide = max(50, k * 5)
        skip = _excluded(store, exclude_ref)
        vector_hits = [h for h in store.search(vector, wide + len(skip), where) if h[0] not in skip]
        keywords = self._keywords
        assert keywords is not None
        keyword_hits = keywords.search(query, wide, _allowed(store, where, skip))
        candidates = {i for i, _ in vector_hits} | {i for i, _ in keyword_hits}
        missing_kw = candidates - {i for i, _ in keyword_hits}
        keyword_hits = [*keyword_hits, *keywords.score(query, missing_kw).items()]
        vector_hits = [
            *vector_hits,
            *(await _vector_scores(store, vector, candidates, vector_hits)),
        ]
        created = {i: store.created(i) for i in candidates}
        fused = fuse(vector_hits, keyword_hits, created, time.time(), self.weights(), k)
        records = {r.id: r for r in await store.records([s.doc_id for s in fused])}
        return [
            Hit(records[s.doc_id], s.score, s.vector, s.keyword, s.recency)
            for s in fused
            if s.doc_id in records
        ]

    async def recall_for_tool(self, query: str, k: int, kinds: list[str] | None) -> str:
        """The ``recall`` tool's answer: each memory with its id, source and text."""
        hits = await self.recall(query, k, kinds)
        if not hits:
            return "Nothing in memory matches that."
        return "\n\n".join(citation(h.to_dict(1200)) for h in hits)

    async def remember_note(self, text: str, title: str) -> list[int]:
        """The ``remember`` tool: a note, its own source."""
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        source = Source("note", f"note-{time.time_ns()}", title.strip() or f"Note {stamp}")
        return await self.remember("note", text, source)

    async def recall_if_ready(self, query: str, k: int, kinds: Iterable[str]) -> list[Hit]:
        """:meth:`recall`, or nothing when memory is off or its model is not loaded yet (a
        turn never waits for the model's download)."""
        embedder = self._embedder
        if not self.enabled or embedder is None or not embedder.engine.loaded:
            return []
        return await self.recall(query, k, kinds)

    async def context_for(self, text: str, exclude_ref: str) -> list[Hit]:
        """Memories worth showing the agent for a new message (none when memory is empty)."""
        settings = self.settings()
        count = settings["inject"]
        if not self.enabled or count <= 0 or not self.service.embedding_engine:
            return []
        store = await self.store()
        if store.count == 0:
            return []
        engine = (await self.embedder()).engine
        if not engine.loaded:  # never hold a turn up for the download: load it for next time
            self.schedule("loading the embedding model", engine.load)
            return []
        hits = await self.recall(text, count, exclude_ref=exclude_ref)
        return [h for h in hits if h.vector >= float(settings["min_score"])]

    # --- the panel ---------------------------------------------------------------------------
    async def stats(self) -> dict[str, Any]:
        store = await self.store()
        embedder = self._embedder
        return {
            "count": store.count,
            "bytes": store.size_bytes,
            "model": store.model,
            "dim": store.dim,
            "backend": embedder.engine.backend if embedder else "not loaded",
            "problems": list(store.problems),
            "notices": list(self.notices),
            "pending": len(self._queue),
        }

    async def export_jsonl(self) -> str:
        """Every record as JSON lines (vectors as base64 float32) after a header line."""
        await self.idle()
        store = await self.store()
        ids = store.ids()
        lines = [
            json.dumps(
                {
                    EXPORT_HEADER: EXPORT_VERSION,
                    "model": store.model,
                    "dim": store.dim,
                    "count": len(ids),
                }
            )
        ]
        for start in range(0, len(ids), 512):
            for record in await store.records(ids[start : start + 512], with_vectors=True):
                lines.append(json.dumps(_export_record(record), ensure_ascii=False))
        return "\n".join(lines) + "\n"

    async def import_jsonl(self, text: str) -> dict[str, Any]:
        """Add the records of an export. Vectors are kept when the model matches and
        recomputed otherwise; bad lines are skipped and listed. A full disk stops the import
        with what was imported so far kept."""
        store = await self.store()
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError("The file is empty: nothing to import.")
        header = _json_object(lines[0])
        if header is None or header.get(EXPORT_HEADER) is None:
            raise ValueError(
                "This is not an LLMos memory export (its first line is not the header)."
            )
        if not isinstance(header[EXPORT_HEADER], int) or header[EXPORT_HEADER] > EXPORT_VERSION:
            raise ValueError(
                f"This export was written by a newer LLMos (format {header[EXPORT_HEADER]}); "
                f"this version reads format {EXPORT_VERSION}. Nothing was imported."
            )
        same_model = header.get("model") == store.model and header.get("dim") == store.dim
        report: dict[str, Any] = {"imported": 0, "reembedded": 0, "errors": []}
        batch: list[NewRecord] = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                record, needs_vector = _import_record(line, same_model, store.dim)
            except ValueError as error:
                report["errors"].append(f"line {number}: {error}")
                continue
            clean = self.scrub(record.text)
            if clean != record.text:
                record, needs_vector = dataclasses.replace(record, text=clean), True
            title = self.scrub(record.source.title)
            record = dataclasses.replace(
                record, source=dataclasses.replace(record.source, title=title)
            )
            if needs_vector:
                record = await self._with_vector(record)
                report["reembedded"] += 1
            batch.append(record)
            if len(batch) >= IMPORT_BATCH:
                await self._import_batch(batch, report)
                batch = []
        await self._import_batch(batch, report)
        await self._save_keywords(force=True)
        return report

    async def _with_vector(self, record: NewRecord) -> NewRecord:
        vector = (await (await self.embedder()).embed_texts([record.text]))[0]
        return dataclasses.replace(record, vector=vector)

    async def _import_batch(self, batch: list[NewRecord], report: dict[str, Any]) -> None:
        if not batch:
            return
        store = await self.store()
        try:
            ids = await store.add(batch)
        except QuotaError as error:
            raise QuotaError(
                f"{error} The import stopped after {report['imported']} records; they and "
                "everything remembered before are kept."
            ) from error
        keywords = self._keywords
        assert keywords is not None
        for record_id, item in zip(ids, batch, strict=True):
            keywords.add(record_id, item.text)
        report["imported"] += len(ids)
        self._unsaved += len(ids)
        self._changed()


def _worth_compacting(store: VectorStore) -> bool:
    """Deleted records take a third of the store, and at least a hundred: rewrite it."""
    dead = store.rows - store.count
    return dead >= COMPACT_MIN_DEAD and dead * 3 >= store.rows


def _allowed(store: VectorStore, where: Filter, skip: set[int]) -> Callable[[int], bool] | None:
    """The keyword search's filter; ``None`` when every live record may come back (the
    keyword index only holds live records), which spares a set of every id per query."""
    if where.kinds is None:
        return (lambda i: i not in skip) if skip else None
    allowed = set(store.ids(where)) - skip
    return allowed.__contains__


def _excluded(store: VectorStore, ref: str | None) -> set[int]:
    if not ref:
        return set()
    return set(store.ids(Filter(source_ref=ref)))


async def _vector_scores(
    store: VectorStore, query: array[float], candidates: set[int], known: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """Cosines for keyword-only candidates, so every fused item has its real vector score."""
    have = {i for i, _ in known}
    missing = sorted(candidates - have)
    if not missing:
        return []
    records = await store.records(missing, with_vectors=True)
    return [
        (r.id, math.fsum(a * b for a, b in zip(query, r.vector, strict=True)))
        for r in records
        if r.vector is not None
    ]


def _export_record(record: Record) -> dict[str, Any]:
    vector = record.vector or array("f")
    return {**record.to_dict(), "vector": base64.b64encode(vector.tobytes()).decode("ascii")}


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _import_record(line: str, same_model: bool, dim: int) -> tuple[NewRecord, bool]:
    data = _json_object(line)
    if data is None:
        raise ValueError("not a JSON object")
    text, kind = data.get("text"), data.get("kind", "note")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no text")
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    assert isinstance(source, dict)
    vector: array[float] | None = None
    raw = data.get("vector")
    if same_model and isinstance(raw, str):
        try:
            vector = array("f", base64.b64decode(raw, validate=True))
        except ValueError:
            vector = None
        if vector is not None and (len(vector) != dim or not all(math.isfinite(v) for v in vector)):
            vector = None
    created = data.get("created")
    metadata = data.get("metadata")
    record = NewRecord(
        kind=str(kind),
        text=text[:MAX_ITEM_CHARS],
        metadata=metadata if isinstance(metadata, dict) else {},
        source=Source(
            str(source.get("type", "note")),
            str(source.get("ref", "")),
            str(source.get("title", "")),
        ),
        vector=vector or array("f", bytes(4 * dim)),
        created=float(created) if isinstance(created, int | float) else None,
    )
    return record, vector is None
