"""The one index opener: Chroma (embedded or server) for vectors and records, BM25 beside it.

`ingest/` writes through it and `assistant/` reads through it. Chroma is the source of truth:
every chunk's metadata carries its paper's record, so a Chroma server alone is enough for a
reader on another machine (it rebuilds its BM25 cache from the collection when needed).

Freshness: each ingest ends by stamping a new `generation` in the collection metadata, which
both modes read fresh. A reader compares it on every query; on change it reloads BM25 and, in
embedded mode, reopens Chroma (a long-lived PersistentClient never sees other processes' vectors).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from .side_index import PaperTable, SideIndex
from .chunking import Chunk
from .records import Paper, Source

# collection-level metadata
META_MODEL = "askpapers_embed_model"
META_DIM = "askpapers_embed_dim"
META_GENERATION = "askpapers_generation"
META_FORMAT = "askpapers_format"
FORMAT_VERSION = 2

CAT_PREFIX = "cat:"
SRC_PREFIX = "src:"
PAGE_SIZE = 2000  # rows per Chroma get() when scanning the whole collection


class IndexError_(RuntimeError):
    """A problem opening the index that the user must fix (shown as one line)."""


class ModelMismatchError(IndexError_):
    pass


@dataclass
class StoredPaper:
    """What the index knows about one paper, read back from its chunks' metadata."""

    paper: Paper
    content_hash: str
    chunks_present: int
    chunks_expected: int
    has_first: bool = False
    chunk_ids: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.has_first and self.chunks_present == self.chunks_expected


def date_ord(iso: str | None) -> int:
    """'2024-05-01' -> 20240501; unknown -> 0."""
    if not iso:
        return 0
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return 0
    return d.year * 10000 + d.month * 100 + d.day


def chunk_metadata(paper: Paper, chunk: Chunk, content_hash: str) -> dict[str, Any]:
    """Flat metadata (Chroma and llama-index accept only scalars): the record plus filter flags.

    The abstract rides on chunk 0 only: Chroma stores each string value twice (row and index)
    and llama-index's `_node_content` repeats all metadata, so a copy per chunk is costly.
    A chunk's passage is its document minus the title line.
    """
    meta: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "chunk": chunk.index,
        "n_chunks": chunk.count,
        "title": paper.title,
        "title_key": paper.title_key,
        "content_hash": content_hash,
        "authors": json.dumps(paper.authors),
        "date": paper.date or "",
        "date_ord": date_ord(paper.date),
        "categories": json.dumps(paper.categories),
        "arxiv_id": paper.arxiv_id or "",
        "doi": paper.doi or "",
        "url": paper.url or "",
        "sources": json.dumps([[s.name, s.date] for s in paper.sources]),
    }
    if chunk.index == 0:
        meta["abstract"] = paper.abstract
    for cat in paper.categories:
        meta[CAT_PREFIX + cat] = True
    for src in paper.sources:
        meta[SRC_PREFIX + src.name] = True
    return meta


def paper_from_metadata(meta: dict[str, Any]) -> Paper:
    return Paper(
        paper_id=meta["paper_id"],
        title=meta["title"],
        abstract=meta.get("abstract", ""),
        authors=json.loads(meta.get("authors") or "[]"),
        date=meta.get("date") or None,
        categories=json.loads(meta.get("categories") or "[]"),
        arxiv_id=meta.get("arxiv_id") or None,
        doi=meta.get("doi") or None,
        url=meta.get("url") or None,
        sources=[Source(name, d) for name, d in json.loads(meta.get("sources") or "[]")],
    )


class PaperIndex:
    """Chroma collection + BM25 side index for one askpapers index (embedded dir or server)."""

    def __init__(self, settings, embed_model=None) -> None:
        from .embedding import model_signature

        self.settings = settings
        self.signature = model_signature(settings)
        self._embed_model = embed_model
        self._lock = threading.RLock()
        self._retired: list[Any] = []  # old embedded systems, stopped at the next reopen
        self._side: SideIndex | None = None
        self._last_stamp: tuple | None = None
        self._connect()
        self._check_model()
        self._generation = self._read_generation()

    # ------------------------------------------------------------------ opening
    def _connect(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        if url:
            from urllib.parse import urlparse

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
        else:
            path = Path(self.settings.index_dir).expanduser()
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        self.collection = self._client.get_or_create_collection(
            self.settings.collection,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={META_FORMAT: FORMAT_VERSION},
        )
        self._vector_store = None

    @property
    def vector_store(self):
        """llama-index's ChromaVectorStore over the collection (imported on first write only)."""
        if self._vector_store is None or self._vector_store._collection is not self.collection:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vector_store = ChromaVectorStore(chroma_collection=self.collection)
        return self._vector_store

    def _check_model(self) -> None:
        meta = dict(self.collection.metadata or {})
        built_with = meta.get(META_MODEL)
        if built_with is None:
            if self.collection.count() == 0:
                return  # a new collection: the first write records the model
            raise IndexError_(
                f"collection {self.settings.collection!r} was not built by askpapers (no model recorded)"
            )
        if built_with != self.signature:
            raise ModelMismatchError(
                f"index {self.location} was built with embedding model {built_with!r} "
                f"({meta.get(META_DIM)} dimensions) but askpapers is configured for {self.signature!r}; "
                "use the same model, or another --index-dir / collection"
            )

    @property
    def location(self) -> str:
        if self.settings.chroma_url:
            return f"{self.settings.chroma_url} (collection {self.settings.collection})"
        return str(self.settings.index_dir)

    @property
    def embed_model(self):
        if self._embed_model is None:
            from .embedding import embedding_model

            self._embed_model = embedding_model(self.settings)
        return self._embed_model

    # ------------------------------------------------------------------ freshness
    def _read_generation(self) -> str | None:
        # get_collection() reads the collection record fresh in both modes (unlike HNSW vectors)
        col = self._client.get_collection(self.settings.collection)
        return (col.metadata or {}).get(META_GENERATION)

    @property
    def generation(self) -> str | None:
        return self._generation

    def _file_stamp(self) -> tuple | None:
        """Embedded mode: size and mtime of Chroma's SQLite files, which every write touches."""
        if self.settings.chroma_url:
            return None
        base = Path(self.settings.index_dir).expanduser() / "chroma.sqlite3"
        stamp = []
        for path in (base, base.with_name("chroma.sqlite3-wal")):
            try:
                st = os.stat(path)
                stamp.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def refresh(self) -> bool:
        """Pick up another process's ingest. Cheap when nothing changed; True when reloaded."""
        stamp = self._file_stamp()
        if stamp is not None and stamp == self._last_stamp:
            return False  # embedded and no file changed: no need to ask Chroma
        with self._lock:
            self._last_stamp = stamp
            current = self._read_generation()
            if current == self._generation:
                return False
            if not self.settings.chroma_url:
                self._reopen_embedded()
            self._generation = current
            self._side = None
            return True

    def _reopen_embedded(self) -> None:
        from chromadb.api.shared_system_client import SharedSystemClient

        for system in self._retired:  # queries that used these finished long ago
            try:
                system.stop()
            except Exception:
                pass
        self._retired.clear()
        key = str(Path(self.settings.index_dir).expanduser())
        old = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        if old is not None:
            self._retired.append(old)
        self._connect()

    # ------------------------------------------------------------------ writing (ingest)
    def record_model(self) -> None:
        meta = dict(self.collection.metadata or {})
        if meta.get(META_MODEL) == self.signature:
            return
        meta.update({META_MODEL: self.signature, META_DIM: int(self.embed_model.dimension)})
        self.collection.modify(metadata=meta)

    def stored_papers(self, paper_ids: list[str]) -> dict[str, StoredPaper]:
        """The stored state of these papers (missing ids are absent from the result)."""
        found: dict[str, StoredPaper] = {}
        for start in range(0, len(paper_ids), 500):
            batch = paper_ids[start : start + 500]
            res = self.collection.get(where={"paper_id": {"$in": batch}}, include=["metadatas"])
            for cid, meta in zip(res["ids"], res["metadatas"]):
                pid = meta["paper_id"]
                sp = found.get(pid)
                if sp is None or meta.get("content_hash") != sp.content_hash:
                    if sp is not None:  # chunks of two versions: treat as incomplete
                        sp.chunks_expected = -1
                        sp.chunk_ids.append(cid)
                        continue
                    found[pid] = StoredPaper(paper_from_metadata(meta), meta.get("content_hash", ""), 0,
                                             int(meta.get("n_chunks", 0)))
                if int(meta.get("chunk") or 0) == 0:
                    found[pid].paper = paper_from_metadata(meta)  # the chunk that carries the abstract
                    found[pid].has_first = True
                found[pid].chunks_present += 1
                found[pid].chunk_ids.append(cid)
        return found

    def paper_ids_by_title_key(self, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            res = self.collection.get(where={"title_key": {"$in": keys[start : start + 500]}}, include=["metadatas"])
            for meta in res["metadatas"]:
                out.setdefault(meta["title_key"], meta["paper_id"])
        return out

    def chunk_embeddings(self, paper_id: str) -> dict[str, list[float]]:
        res = self.collection.get(where={"paper_id": paper_id}, include=["embeddings"])
        return {cid: list(map(float, emb)) for cid, emb in zip(res["ids"], res["embeddings"])}

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        """Delete chunks by id (a metadata-filtered delete scans the collection: slow at scale)."""
        for start in range(0, len(chunk_ids), 5000):
            self.vector_store.delete_nodes(node_ids=chunk_ids[start : start + 5000])

    def write_chunks(self, items: list[tuple[Paper, Chunk, str, list[float]]]) -> None:
        """Add chunks (paper, chunk, content hash, embedding) through llama-index's ChromaVectorStore."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        nodes = []
        for paper, chunk, content_hash, vector in items:
            meta = chunk_metadata(paper, chunk, content_hash)
            nodes.append(
                TextNode(
                    id_=chunk.chunk_id,
                    text=chunk.text,
                    metadata=meta,
                    embedding=vector,
                    excluded_embed_metadata_keys=list(meta),
                    excluded_llm_metadata_keys=list(meta),
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=paper.paper_id)},
                )
            )
        if nodes:
            self.vector_store.add(nodes)

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
            for cid, meta, doc, vec in zip(ids, res["metadatas"], docs, vectors):
                yield cid, meta, doc, vec
            offset += len(ids)

    def rebuild_side_index(self, generation: str | None = None) -> SideIndex:
        """Rebuild the side index (BM25, records, mean vectors) from the collection and save it."""
        import numpy as np

        table = PaperTable()
        records: list[dict] = []
        sums: list[np.ndarray] = []
        row: dict[str, int] = {}
        for _cid, meta, doc, vector in self.scan(["metadatas", "documents", "embeddings"]):
            pid = meta["paper_id"]
            vec = np.asarray(vector, dtype=np.float32)
            if pid not in row:
                row[pid] = len(table.ids)
                paper = paper_from_metadata(meta)
                table.ids.append(pid)
                table.n_chunks.append(0)
                table.date_ord.append(int(meta.get("date_ord") or 0))
                table.categories.append(paper.categories)
                table.sources.append([s.name for s in paper.sources])
                records.append(paper.to_dict() | {"passages": [""] * int(meta.get("n_chunks") or 1)})
                sums.append(np.zeros_like(vec))
            i = row[pid]
            table.n_chunks[i] += 1
            sums[i] += vec
            passages = records[i]["passages"]
            n = int(meta.get("chunk") or 0)
            if n >= len(passages):
                passages.extend([""] * (n + 1 - len(passages)))
            passages[n] = (doc or "").split("\n", 1)[-1]
            if n == 0:
                records[i]["abstract"] = meta.get("abstract", "")
        vectors = None
        if sums:
            mat = np.vstack(sums)
            vectors = (mat / np.clip(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12, None)).astype(np.float16)
        side = SideIndex.build(table, records, vectors, generation or self._generation or "")
        try:
            side.save(Path(self.settings.side_index_dir))
        except OSError:
            pass  # a read-only cache only costs a rebuild next time
        return side

    def commit(self) -> str:
        """Make this ingest visible: rebuild BM25, then stamp a new generation readers will see."""
        with self._lock:
            generation = uuid.uuid4().hex
            self._side = self.rebuild_side_index(generation)
            meta = dict(self.collection.metadata or {})
            meta[META_GENERATION] = generation
            self.collection.modify(metadata=meta)
            if not self.settings.chroma_url:
                # an embedded client does not always see its own fresh vectors in queries
                # (seen about 1 run in 4 right after an upload); a reopened one does
                self._reopen_embedded()
                self._last_stamp = self._file_stamp()
            self._generation = generation
            return generation

    # ------------------------------------------------------------------ reading (assistant)
    @property
    def side(self) -> SideIndex:
        """The side index of the current generation (loaded from disk, or rebuilt from Chroma)."""
        with self._lock:
            if self._side is None or self._side.generation != (self._generation or ""):
                base = Path(self.settings.side_index_dir)
                if self._generation and SideIndex.saved_generation(base) == self._generation:
                    self._side = SideIndex.load(base)
                else:
                    self._side = self.rebuild_side_index()
            return self._side

    def dense(self, vector: list[float], n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Top `n` chunks by cosine similarity: (chunk id, similarity), best first.

        Reads Chroma directly, asking for distances only: going through llama-index's
        ChromaVectorStore.query fetches and parses every candidate node (≈12 ms for 100 here,
        against ≈2 ms for the distances alone). Writes do go through ChromaVectorStore.
        """
        if n <= 0:
            return []
        kwargs = {"where": where} if where else {}
        try:
            res = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"], **kwargs)
        except Exception as exc:
            if "no elements" in str(exc).lower() or "empty" in str(exc).lower():
                return []
            raise
        return [(cid, 1.0 - dist) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def stats(self) -> dict[str, Any]:
        """Counts from the side index's paper table (no collection scan)."""
        self.refresh()
        table = self.side.table
        sources: dict[str, int] = {}
        categories: dict[str, int] = {}
        for names in table.sources:
            for name in names:
                sources[name] = sources.get(name, 0) + 1
        for cats in table.categories:
            for cat in cats:
                categories[cat] = categories.get(cat, 0) + 1
        meta = self.collection.metadata or {}
        return {
            "location": self.location,
            "collection": self.settings.collection,
            "papers_total": len(table),
            "chunks_total": sum(table.n_chunks),
            "embed_model": meta.get(META_MODEL),
            "embed_dim": meta.get(META_DIM),
            "generation": meta.get(META_GENERATION),
            "sources": dict(sorted(sources.items())),
            "categories": dict(sorted(categories.items(), key=lambda kv: -kv[1])),
        }
