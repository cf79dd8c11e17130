"""The Chroma connection: embedded (PersistentClient) or server (HttpClient), one collection.

Everything that talks to Chroma goes through `ChromaConnection`: fresh collection metadata,
paged reads, queries that survive another process's writes, and writes in the lean layout of
ingest/store/codec.py (no document: `LeanCollection` gives a chunk's text back from its
metadata, so readers see documents in any layout). The one private attribute of chromadb that askpapers touches is here, in
`_embedded_system` and `_forget_embedded_system` (tests/test_store.py fails when chromadb changes it).
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PAGE_SIZE = 2000  # rows per Chroma get() when scanning the whole collection
QUERY_ATTEMPTS = 4  # a query failing while another process writes is retried this often
DELETE_BATCH = 5000  # ids per Chroma delete() call
OPEN_PATIENCE = 60.0  # seconds an embedded open retries while another process holds SQLite's write lock
OPEN_LOCK = "open.lock"  # in an embedded index's directory: processes open (and create) it one at a time

log = logging.getLogger(__name__)
_live: weakref.WeakSet = weakref.WeakSet()  # open connections, so a reopen never stops a system another uses


class IndexError_(RuntimeError):
    """A problem opening the index that the user must fix (shown as one line)."""


class ChromaConnection:
    """One Chroma collection, embedded (`settings.index_dir`) or on a server (`settings.chroma_url`)."""

    def __init__(self, settings, initial_metadata: dict[str, Any]) -> None:
        self.settings = settings
        self._initial_metadata = initial_metadata
        self._retired: list[Any] = []  # old embedded systems, stopped at a later reopen
        self._system = None  # embedded: chromadb's System behind this connection's client
        self._legacy: bool | None = None  # holds chunks of an older layout (see _has_legacy_rows)
        self._connect()

    @property
    def embedded(self) -> bool:
        return not self.settings.chroma_url

    @property
    def location(self) -> str:
        if self.settings.chroma_url:
            return f"{self.settings.chroma_url} (collection {self.settings.collection})"
        return str(self.settings.index_dir)

    def _connect(self, forget: bool = False) -> None:
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            self._connect_server(chroma_settings)
            self.collection = LeanCollection(self._get_or_create())
        else:
            self._connect_embedded(chroma_settings, forget)

    def _connect_server(self, chroma_settings) -> None:
        import chromadb
        from urllib.parse import urlparse

        url = self.settings.chroma_url
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            self._client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
            self._client.heartbeat()
        except Exception as exc:  # connection refused, DNS, TLS...
            raise IndexError_(f"cannot reach the Chroma server at {url}: {exc}") from None

    def _connect_embedded(self, chroma_settings, forget: bool) -> None:
        """A PersistentClient of the index directory and its collection, opened (and created) while
        no other process opens it.

        `forget`: drop chromadb's cached System of the path first (a reopen), so the new client
        is fresh; it is retired (stopped at a later reopen), not stopped now.
        """
        import chromadb

        from .location import make_index_dir

        path = make_index_dir(Path(self.settings.index_dir))
        with _opening(path):
            if forget:
                old = _forget_embedded_system(str(path))
                if old is not None:
                    self._retired.append(old)
            # a start that failed leaves its System in chromadb's cache, unstarted: forget it,
            # or the next PersistentClient of the path would reuse it
            self._client = _while_locked(
                lambda: chromadb.PersistentClient(path=str(path), settings=chroma_settings), path,
                on_locked=lambda: _forget_embedded_system(str(path)))
            self._system = _embedded_system(str(path))
            _live.add(self)
            self.collection = LeanCollection(self._get_or_create())

    def _get_or_create(self):
        return _while_locked(lambda: self._client.get_or_create_collection(
            self.settings.collection, configuration={"hnsw": {"space": "cosine"}}, metadata=self._initial_metadata),
            self.location)

    def reopen(self) -> None:
        """Embedded mode: a new client, which sees vectors other processes (or this one) just wrote.

        A long-lived PersistentClient never sees them. The old system is stopped at a later
        reopen, not now (queries in other threads may still be using it), and never while
        another connection of this process still uses it.
        """
        in_use = {id(c._system) for c in list(_live) if c is not self}
        keep = [system for system in self._retired if id(system) in in_use]
        for system in self._retired:
            if id(system) not in in_use:
                try:
                    system.stop()
                except Exception as exc:  # noqa: BLE001 - a system that fails to stop is only a leak
                    log.debug("stopping an old Chroma system: %s", exc)
        self._retired = keep
        self._connect(forget=self.embedded)

    # --- collection metadata (read fresh: get_collection() is fresh in both modes, unlike HNSW)
    def metadata(self) -> dict[str, Any]:
        return dict(self._client.get_collection(self.settings.collection).metadata or {})

    def set_metadata(self, **changes: Any) -> None:
        """Change some metadata keys in one write (None removes a key); Chroma's modify() replaces all."""
        meta = self.metadata()
        meta.update(changes)
        self.collection.modify(metadata={k: v for k, v in meta.items() if v is not None})

    def count(self) -> int:
        return self.collection.count()

    def file_stamp(self) -> tuple | None:
        """Embedded mode: size and mtime of Chroma's SQLite files, which every write touches."""
        if not self.embedded:
            return None
        base = Path(self.settings.index_dir) / "chroma.sqlite3"
        stamp = []
        for path in (base, base.with_name("chroma.sqlite3-wal")):
            try:
                st = os.stat(path)
                stamp.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    # --- reads
    def get(self, where: dict, include: list[str]) -> dict:
        return self.collection.get(where=where, include=include)

    def embeddings_of(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of these chunks, by id (a lookup by id: no collection scan)."""
        if not chunk_ids:
            return {}
        res = self.collection.get(ids=list(chunk_ids), include=["embeddings"])
        return {cid: [float(x) for x in emb] for cid, emb in zip(res["ids"], res["embeddings"])}

    def scan(self, include: list[str]) -> Iterator[tuple[str, dict, str | None, Any]]:
        """Every chunk (id, metadata, document, embedding), in pages; absent fields are None."""
        offset = 0
        while True:
            res = self.collection.get(include=include, limit=PAGE_SIZE, offset=offset)
            ids = res["ids"]
            if not ids:
                return
            none = [None] * len(ids)
            docs = res.get("documents") if "documents" in include else none
            vectors = res.get("embeddings") if "embeddings" in include else none
            yield from zip(ids, res["metadatas"], docs, vectors)
            offset += len(ids)

    def query(self, vector: list[float], n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Top `n` chunks by cosine similarity: (chunk id, similarity), best first.

        Reads Chroma directly, asking for distances only: going through llama-index's
        ChromaVectorStore.query fetches and parses every candidate node (≈12 ms for 100 here,
        against ≈2 ms for the distances alone). While another process writes, an embedded query
        can fail with `InternalError: Error finding id`: it is retried, and after the last
        attempt the search goes on without dense hits rather than fail.
        """
        if n <= 0:
            return []
        kwargs = {"where": where} if where else {}
        for attempt in range(QUERY_ATTEMPTS):
            try:
                res = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"], **kwargs)
                return [(cid, 1.0 - dist) for cid, dist in zip(res["ids"][0], res["distances"][0])]
            except Exception as exc:
                text = str(exc).lower()
                if "no elements" in text or "empty" in text:
                    return []
                if not is_transient(exc):
                    raise
                if attempt == QUERY_ATTEMPTS - 1:
                    log.warning("dense search skipped: %s", exc)
                    return []
                time.sleep(0.05 * (attempt + 1))
        return []

    # --- writes
    def upsert(self, nodes: list, drop_keys: tuple[str, ...] = (), new_ids: frozenset[str] = frozenset()) -> None:
        """Write chunks (llama-index nodes: id, metadata, embedding), replacing any stored chunk of the
        same id, in the lean layout of ingest/store/codec.py: the metadata as given, no document.

        Chroma's upsert merges metadata: a key the new metadata lacks stays. So every key of the
        layouts the chunk does not set is sent as None (removed), as are the `drop_keys` it does not
        set (e.g. the `src:` flag of a removed source), except for `new_ids`, chunks the caller knows are not
        stored (each cleared key costs a lookup: 0.5 s per 1,500 chunks at 100k papers). An old
        chunk's document stays, unread. Writing the new version before deleting anything is what
        keeps a killed re-ingest from losing a paper's merged record (see ingest/pipeline.py).
        """
        from .codec import cleared_keys

        legacy = self._has_legacy_rows()
        step = self._client.get_max_batch_size()
        for start in range(0, len(nodes), step):
            part = nodes[start : start + step]
            metadatas = [dict(node.metadata) if node.node_id in new_ids else
                         {k: None for k in drop_keys} | cleared_keys(node.metadata, legacy) | dict(node.metadata)
                         for node in part]
            self.collection.upsert(ids=[n.node_id for n in part], embeddings=[n.get_embedding() for n in part],
                                   metadatas=metadatas)

    def _has_legacy_rows(self) -> bool:
        """Whether the collection holds chunks of an older layout (llama-index's keys), whose old
        keys a rewrite must remove; asked once per connection (a lookup in Chroma's index)."""
        if self._legacy is None:
            from .codec import LEGACY_KEYS

            self._legacy = bool(self.collection.get(where={LEGACY_KEYS[1]: "TextNode"}, limit=1, include=[])["ids"])
        return self._legacy

    def delete(self, chunk_ids: list[str]) -> None:
        """Delete chunks by id (a metadata-filtered delete scans the collection: slow at scale).

        Every paper's chunk 0, which carries its record (codec.py), goes in the last calls: a kill
        between two calls never leaves a paper's later chunks without it (a paper with no record)."""
        from ..chunking import parse_chunk_id

        ordered = sorted(chunk_ids, key=lambda cid: parse_chunk_id(cid)[1] == 0)  # stable: chunk 0s last
        for start in range(0, len(ordered), DELETE_BATCH):
            self.collection.delete(ids=ordered[start : start + DELETE_BATCH])


class LeanCollection:
    """The chromadb collection, except that `get` returns each chunk's metadata as layout 3 reads it
    (`codec.expand`) and its document (its text as embedded: title, newline, passage) rebuilt from
    the metadata when the lean layout stored none.

    A passage is a span of its paper's abstract, and in layout 4 only chunk 0 carries the title:
    when a page of results lacks a paper's chunk 0, it is fetched by id (one more call per page at
    most). Everything else is the chromadb collection's own.
    """

    def __init__(self, collection) -> None:
        self._collection = collection

    def __getattr__(self, name: str):
        return getattr(self._collection, name)

    def get(self, ids=None, where=None, limit=None, offset=None, where_document=None,
            include=("metadatas", "documents")) -> dict:
        from .codec import expand

        include = list(include)
        asked_metadatas = "metadatas" in include
        if "documents" in include and not asked_metadatas:
            include.append("metadatas")
        res = self._collection.get(ids=ids, where=where, limit=limit, offset=offset, where_document=where_document,
                                   include=include)
        if "metadatas" in include:
            res["metadatas"] = [expand(m) for m in res["metadatas"]]
        if "documents" in include:
            res["documents"] = self._documents(res["metadatas"], res["documents"])
        if not asked_metadatas:
            res["metadatas"] = None
        return res

    def _documents(self, metadatas: list[dict], documents: list[str | None]) -> list[str | None]:
        from ..chunking import chunk_id
        from .codec import PASSAGE, SPAN, abstract_of, document_of, expand

        firsts = {m["paper_id"]: m for m in metadatas if int(m.get("chunk") or 0) == 0}
        missing = sorted({m["paper_id"] for m in metadatas if (SPAN in m or PASSAGE in m) and m["paper_id"] not in firsts})
        for start in range(0, len(missing), 1000):
            ids = [chunk_id(pid, 0) for pid in missing[start : start + 1000]]
            for meta in self._collection.get(ids=ids, include=["metadatas"])["metadatas"]:
                meta = expand(meta)
                firsts[meta["paper_id"]] = meta
        heads = {pid: (abstract_of(m), m.get("title", "")) for pid, m in firsts.items()}  # once a paper
        docs = []
        for meta, doc in zip(metadatas, documents):
            abstract, title = heads.get(meta["paper_id"], ("", ""))
            docs.append(document_of(meta, doc, abstract, title))
        return docs


def is_transient(exc: Exception) -> bool:
    """A query error that another process's concurrent write can cause (worth a retry)."""
    from chromadb.errors import InternalError

    return isinstance(exc, InternalError) or "error finding id" in str(exc).lower()


@contextmanager
def _opening(path: Path) -> Iterator[None]:
    """Open an embedded index alone among processes (`flock` on OPEN_LOCK in its directory).

    chromadb creates its SQLite tables on the first open of a directory, and two processes that
    create the same new index at once fail ("table collections already exists", or "database is
    locked"): e.g. two `askpapers ingest` started together into a new index. Held only while
    opening (milliseconds to seconds); never longer than OPEN_PATIENCE. A read-only index
    without the lock file, or a system without `fcntl`, opens unlocked.
    """
    from .flock import NoLocks, fcntl, wait_lock

    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(path / OPEN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            fd = os.open(path / OPEN_LOCK, os.O_RDONLY)
        except OSError:  # a read-only directory: no process can create the index there
            yield
            return
    try:
        try:
            taken = wait_lock(fd, OPEN_PATIENCE, 0.05)
        except NoLocks as exc:  # a filesystem without locks (some NFS, FUSE, SMB mounts): open as before
            log.debug("no lock on %s (%s): opening unlocked", path / OPEN_LOCK, exc)
            taken = True
        if not taken:
            raise IndexError_(f"another process has been opening the index at {path} for "
                              f"{OPEN_PATIENCE:.0f} s; try again when it has finished")
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (code 5) as chromadb raises it, from Rust or Python."""
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "(code: 5)" in text


def _while_locked(open_: Any, where: Any, on_locked: Any = None) -> Any:
    """Call `open_`, again while another process holds the SQLite lock (up to OPEN_PATIENCE s).

    SQLite's busy timeout does not cover every case: a connection that read and then wants to
    write while another process commits gets "database is locked" at once (the deadlock SQLite
    refuses to wait on), e.g. `askpapers ingest` opening the index while another ingest writes.
    `on_locked` runs after each failed try (to undo what it left behind).
    """
    deadline = time.monotonic() + OPEN_PATIENCE
    pause = 0.05
    while True:
        try:
            return open_()
        except Exception as exc:  # noqa: BLE001 - only a lock is retried; anything else goes on up
            if not _is_locked(exc):
                raise
            if on_locked is not None:
                on_locked()
            if time.monotonic() >= deadline:
                raise IndexError_(f"the index at {where} stayed locked by another process for "
                                  f"{OPEN_PATIENCE:.0f} s; try again when it has finished") from None
            log.debug("index locked by another process, opening again: %s", exc)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _embedded_system(path: str):
    """chromadb's cached System for `path` (see `_forget_embedded_system` for why it is read)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    return SharedSystemClient._identifier_to_system.get(path)


def _forget_embedded_system(path: str):
    """Drop chromadb's cached system for `path` so the next PersistentClient opens a fresh one.

    Why private: chromadb caches one System per path in `SharedSystemClient._identifier_to_system`
    and every PersistentClient of that path reuses it, so a new client is as stale as the old;
    the public `clear_system_cache()` would drop the systems of every other index in the process
    too. Returns the old system (stop it once no query uses it), or None.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_refcount.pop(path, None)
    return SharedSystemClient._identifier_to_system.pop(path, None)
