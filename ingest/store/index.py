"""`PaperIndex`: open, write, commit, refresh and count one askpapers index.

Chroma is the source of truth: every chunk's metadata carries its paper's record, so a Chroma
server alone is enough for a reader on another machine (it rebuilds its side index from the
collection when needed). The side index (ingest/store/side/) is derived from Chroma.

Crash safety: an ingest's first write marks the collection pending (`begin_write`); `commit`
saves the side index atomically, then stamps a new generation and clears the mark in one
metadata write. A kill at any moment leaves either the mark (the next ingest commits, see
`needs_commit`) or a committed index. tests/test_faults.py kills ingests at every step.

Incremental commits: before each write reaches Chroma, the papers and chunk ids it touches are
appended to a journal named by the pending token (ingest/store/side/journal.py). The commit
fetches only those papers' chunks, by id, and adds one side-index segment for them; a re-run
after a kill resumes the same journal. Without a usable journal (another machine wrote, an
older format, a read-only cache) the commit rebuilds the side index from a full scan.

Freshness: readers compare the stamped generation before each query (embedded: only when
Chroma's files changed); on change they reload the side index and, in embedded mode, reopen
Chroma (a long-lived PersistentClient never sees other processes' vectors).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..chunking import Chunk, parse_chunk_id
from ..faults import kill_point
from ..records import Paper
from .chroma import ChromaConnection, IndexError_
from .codec import SRC_PREFIX, StoredPaper, chunk_metadata, stored_papers
from .commit import open_journal, record_write, update_side_index
from .lookup import LookupView, open_view
from .opening import open_side
from .stats import IndexStats
from .side import Journal, SideIndex, remove_journals

if TYPE_CHECKING:
    from ..settings import Settings

# collection-level metadata
META_MODEL = "askpapers_embed_model"
META_DIM = "askpapers_embed_dim"
META_GENERATION = "askpapers_generation"
META_FORMAT = "askpapers_format"
META_PENDING = "askpapers_pending"  # set before an ingest's first write, cleared by its commit
FORMAT_VERSION = 2


class ModelMismatchError(IndexError_):
    pass




class PaperIndex:
    """Chroma collection + side index for one askpapers index (embedded dir or server)."""

    def __init__(self, settings: Settings, embed_model=None) -> None:
        from ..embedding import model_signature

        self.settings = settings
        self.signature = model_signature(settings)
        self._embed_model = embed_model
        self._lock = threading.RLock()
        self._side: SideIndex | None = None
        self._last_stamp: tuple | None = None
        self._writing = False  # this object marked the index pending and has not committed yet
        self._journal: Journal | None = None  # where this object's writes are recorded (None: unknown)
        self._view: LookupView | None = None  # what an ingest's lookups read instead of Chroma (lookup.py)
        self.chroma = ChromaConnection(settings, {META_FORMAT: FORMAT_VERSION})
        self._check_model()
        self._generation = self.chroma.metadata().get(META_GENERATION)

    # ------------------------------------------------------------------ opening
    @property
    def collection(self):
        return self.chroma.collection

    @property
    def location(self) -> str:
        return self.chroma.location

    @property
    def embed_model(self):
        if self._embed_model is None:
            from ..embedding import embedding_model

            self._embed_model = embedding_model(self.settings)
        return self._embed_model

    def _check_model(self) -> None:
        meta = self.chroma.metadata()
        built_with = meta.get(META_MODEL)
        if built_with is None:
            if self.chroma.count() == 0:
                return  # a new collection: the first write records the model
            raise IndexError_(
                f"collection {self.settings.collection!r} was not built by askpapers (no model recorded)")
        if built_with != self.signature:
            raise ModelMismatchError(
                f"index {self.location} was built with embedding model {built_with!r} "
                f"({meta.get(META_DIM)} dimensions) but askpapers is configured for {self.signature!r}; "
                "use the same model, or another --index-dir / collection")

    # ------------------------------------------------------------------ freshness
    @property
    def generation(self) -> str | None:
        return self._generation

    def refresh(self) -> bool:
        """Pick up another process's ingest. Cheap when nothing changed; True when reloaded."""
        stamp = self.chroma.file_stamp()
        if stamp is not None and stamp == self._last_stamp:
            return False  # embedded and no file changed: no need to ask Chroma
        with self._lock:
            self._last_stamp = stamp
            current = self.chroma.metadata().get(META_GENERATION)
            if current == self._generation:
                return False
            self.follow(current)
            self._side = None
            return True

    # ------------------------------------------------------------------ writing (ingest)
    def begin_write(self) -> None:
        """Mark the index pending (and record the model) before the first write of an ingest.

        Every write goes through `delete_chunks`/`write_chunks`, which call this first, so a kill
        at any later moment leaves the mark; the next ingest then commits even if it has nothing
        new to write, and the side index catches up with Chroma. Only `commit` clears it.

        The journal of the pending token is started (durably) before the mark is set, or resumed
        when an interrupted ingest left the mark and its journal here.
        """
        if self._writing:
            return
        meta = self.chroma.metadata()
        token = meta.get(META_PENDING)
        base = Path(self.settings.side_index_dir)
        changes: dict[str, Any] = {}
        if token:
            self._journal = open_journal(lambda: Journal.resume(base, token))
        else:
            token = uuid.uuid4().hex
            self._journal = open_journal(lambda: Journal.create(base, token, meta.get(META_GENERATION),
                                                                self.chroma.count() == 0))
            changes[META_PENDING] = token
        if meta.get(META_MODEL) != self.signature:
            changes.update({META_MODEL: self.signature, META_DIM: int(self.embed_model.dimension)})
        if changes:
            self.chroma.set_metadata(**changes)
        self._writing = True
        kill_point("marked")

    def _record(self, paper_ids: list[str], chunk_ids: list[str], keys: dict[str, str] | None = None) -> None:
        """Journal a write before it reaches Chroma (see ingest/store/commit.py); `keys`: the title
        key of each written paper (what lookups of this process's writes need)."""
        self._journal = record_write(self._journal, paper_ids, chunk_ids)
        if self._view is not None:
            self._view.add(paper_ids, chunk_ids, keys)

    def plan_replacements(self, replaced: dict[str, str]) -> None:
        """Journal replacements (title-only paper id -> the id of the record replacing it) before
        the new papers are written, so that the next commit finishes one a kill cut short between
        writing the new paper and deleting the old (see commit._finish_replacements)."""
        self.begin_write()
        self._journal = record_write(self._journal, list(replaced), [], replaced)

    def needs_commit(self) -> str | None:
        """Why the index must be committed before it can be trusted, or None when it is consistent."""
        meta = self.chroma.metadata()
        if meta.get(META_PENDING):
            return "an earlier ingest did not finish"
        if meta.get(META_GENERATION) is None:
            return "the index was never committed"
        saved = SideIndex.saved_manifest(Path(self.settings.side_index_dir))
        if saved and saved.get("generation") == meta[META_GENERATION] and saved.get("chunks") != self.chroma.count():
            return "the side index disagrees with Chroma"
        return None

    def _lookup_view(self) -> LookupView | None:
        """The committed side index and the papers written since (see ingest/store/lookup.py), or
        None when lookups must ask Chroma (no usable journal or committed side index here)."""
        if self._writing and self._journal is None:
            return None  # this object's writes were not journaled
        meta = self.chroma.metadata()
        view = self._view
        if view is not None and (view.generation, view.token) == (meta.get(META_GENERATION), meta.get(META_PENDING)):
            return view
        current = view.side if view is not None else self._side
        self._view = open_view(Path(self.settings.side_index_dir), meta, self.chroma.count, current)
        return self._view

    def stored_papers(self, paper_ids: list[str]) -> dict[str, StoredPaper]:
        """The stored state of these papers (missing ids are absent from the result): from the side
        index for committed papers, from Chroma by chunk id for papers written since."""
        view = self._lookup_view()
        if view is None:
            rows = self._where_rows("paper_id", paper_ids)
            return stored_papers(rows)
        return view.stored(paper_ids, self._rows_by_ids)

    def _rows_by_ids(self, ids: list[str]) -> Iterator[tuple[str, dict]]:
        """(chunk id, metadata) of those chunk ids that are stored (a lookup by id: no scan)."""
        for start in range(0, len(ids), 1000):
            res = self.collection.get(ids=ids[start : start + 1000], include=["metadatas"])
            yield from zip(res["ids"], res["metadatas"])

    def _where_rows(self, key: str, values: list[str]) -> list[tuple[str, dict]]:
        """(chunk id, metadata) of the chunks whose metadata `key` is one of `values` (Chroma `where`)."""
        rows: list[tuple[str, dict]] = []
        for start in range(0, len(values), 500):
            res = self.chroma.get({key: {"$in": values[start : start + 500]}}, ["metadatas"])
            rows.extend(zip(res["ids"], res["metadatas"]))
        return rows

    def paper_ids_by_title_key(self, keys: list[str]) -> dict[str, list[str]]:
        """Every stored paper id of each title key (more than one after an interrupted replacement),
        sorted. From the side index's title-key arrays when it can answer, else a Chroma `where`."""
        view = self._lookup_view()
        if view is not None and view.side.has_title_keys():
            return view.title_ids(keys, self._rows_by_ids)
        out: dict[str, set[str]] = {}
        for _cid, meta in self._where_rows("title_key", keys):
            if meta.get("title_key"):  # (a stale key on a chunk rewritten in layout 4 reads as none)
                out.setdefault(meta["title_key"], set()).add(meta["paper_id"])
        return {k: sorted(v) for k, v in out.items()}

    def title_only_ids(self, keys: list[str]) -> dict[str, list[str]]:
        """The stored title-only paper id of each title key that has one (`title:<key>`): what a
        record with an explicit id replaces. From the side index when it can answer."""
        from ..records import TITLE_ID_PREFIX, is_title_id

        if self._lookup_view() is None:
            return {k: [i for i in ids if is_title_id(i)] for k, ids in self.paper_ids_by_title_key(keys).items()
                    if any(is_title_id(i) for i in ids)}
        found = self.stored_papers([TITLE_ID_PREFIX + k for k in keys])
        return {pid[len(TITLE_ID_PREFIX):]: [pid] for pid in found}

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self.begin_write()
            self._record([parse_chunk_id(cid)[0] for cid in chunk_ids], chunk_ids)
            self.chroma.delete(chunk_ids)

    def write_chunks(self, items: list[tuple[Paper, Chunk, str, list[float]]],
                     added: dict[str, int] | None = None, drop_keys: tuple[str, ...] = (),
                     new_ids: frozenset[str] = frozenset()) -> None:
        """Write chunks (paper, chunk, content hash, embedding) as llama-index nodes; a stored chunk of
        the same id is replaced. `added` gives a paper's first-added time (papers absent: now);
        `drop_keys` are metadata keys to remove from the stored chunks; `new_ids`, chunk ids known
        not to be stored (no keys to remove: see ChromaConnection.upsert)."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        added, now = added or {}, int(time.time())
        nodes = []
        for paper, chunk, content_hash, vector in items:
            meta = chunk_metadata(paper, chunk, content_hash, added.get(paper.paper_id, now))
            nodes.append(TextNode(
                id_=chunk.chunk_id, text=chunk.text, metadata=meta, embedding=vector,
                excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=list(meta),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=paper.paper_id)}))
        if nodes:
            self.begin_write()
            self._record([paper.paper_id for paper, *_rest in items], [node.node_id for node in nodes],
                         {paper.paper_id: paper.title_key for paper, *_rest in items})
            self.chroma.upsert(nodes, drop_keys, new_ids)

    def papers_with_source(self, name: str) -> dict[str, StoredPaper]:
        """The stored papers read from the source file `name` (asks Chroma, not the side index, so
        papers an interrupted write left uncommitted are found too)."""
        res = self.chroma.get({SRC_PREFIX + name: True}, ["metadatas"])
        return stored_papers(list(zip(res["ids"], res["metadatas"])))

    def chunk_rows(self, paper_ids: list[str]) -> list[tuple[str, dict, str, list[float]]]:
        """Every stored chunk of these papers: (chunk id, metadata, document, embedding)."""
        rows: list[tuple[str, dict, str, list[float]]] = []
        for start in range(0, len(paper_ids), 500):
            res = self.chroma.get({"paper_id": {"$in": paper_ids[start : start + 500]}},
                                  ["metadatas", "documents", "embeddings"])
            rows.extend(zip(res["ids"], res["metadatas"], res["documents"],
                            ([float(x) for x in e] for e in res["embeddings"])))
        return rows

    def scan(self, include: list[str]) -> Iterator[tuple[str, dict, str | None, Any]]:
        return self.chroma.scan(include)

    def rebuild_side_index(self, generation: str | None = None, save: bool = True) -> SideIndex:
        """Rebuild the side index (BM25, records, mean vectors) from a scan of the collection (and save it)."""
        base = Path(self.settings.side_index_dir)
        side = SideIndex.from_chunks(self.chroma.scan(["metadatas", "documents", "embeddings"]),
                                     generation or self._generation or "", base)
        kill_point("scanned")
        if save:
            try:
                side.save(base)
            except OSError:
                pass  # a read-only cache only costs a rebuild next time
        return side

    def commit(self, reopen: bool = True) -> str:
        """Make this ingest visible: update the side index (incrementally from the journal, else by a
        rebuild from Chroma) and save it atomically, then stamp a new generation and clear the
        pending mark in one metadata write, then drop the journal.

        A kill before the stamp leaves the mark and the journal (the next ingest commits again);
        a kill after it leaves a side index saved for the stamped generation. `reopen=False`: an
        ingest's commit of one input part, more writes to follow (an embedded client is reopened
        only at the last, as reopening drops the loaded HNSW index).
        """
        with self._lock:
            generation = uuid.uuid4().hex
            self._side = update_side_index(self, generation)
            kill_point("side-saved")
            self.chroma.set_metadata(**{META_GENERATION: generation, META_PENDING: None})
            self._writing = False
            self._view = None
            kill_point("stamped")
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            try:
                remove_journals(Path(self.settings.side_index_dir))
            except OSError:
                pass
            kill_point("journal-removed")
            if self.chroma.embedded and reopen:
                # an embedded client does not always see its own fresh vectors in queries
                # (seen about 1 run in 4 right after an upload); a reopened one does
                self.chroma.reopen()
                self._last_stamp = self.chroma.file_stamp()
            self._generation = generation
            return generation

    # ------------------------------------------------------------------ reading (assistant)
    @property
    def side(self) -> SideIndex:
        """The side index of the current generation (loaded from disk, or rebuilt from Chroma)."""
        with self._lock:
            if self._side is None or self._side.generation != (self._generation or ""):
                self._side = open_side(self)
            return self._side

    def follow(self, generation: str | None) -> None:
        """Read `generation` from now on (another process committed it): an embedded client is
        reopened, as it does not always see another process's fresh vectors."""
        if self.chroma.embedded:
            self.chroma.reopen()
        self._generation = generation

    def papers(self) -> Iterator[dict]:
        """Every committed paper's record (no passages) with `added` and `n_chunks`: the library.

        Read from the side index of the current generation (another process's finished ingest or
        removal is picked up first), so listing needs no collection scan."""
        self.refresh()
        return self.side.papers()

    def dense(self, vector: list[float], n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Top `n` chunks by cosine similarity: (chunk id, similarity), best first (never raises
        for another process's concurrent writes; see ChromaConnection.query)."""
        return self.chroma.query(vector, n, where)

    def index_stats(self) -> IndexStats:
        """Counts from the side index's paper table (no collection scan)."""
        self.refresh()
        side = self.side
        sources, categories = side.counts("sources"), side.counts("categories")
        meta = self.chroma.metadata()
        return IndexStats(
            location=self.location, collection=self.settings.collection, papers_total=len(side.table),
            chunks_total=side.chunks, embed_model=meta.get(META_MODEL),
            embed_dim=meta.get(META_DIM), generation=meta.get(META_GENERATION),
            sources=dict(sorted(sources.items())),
            categories=dict(sorted(sorted(categories.items()), key=lambda kv: -kv[1])))

    def stats(self) -> dict[str, Any]:
        """`index_stats()` as the dict the CLI, API and page print."""
        return self.index_stats().to_dict()
