"""Title-key lookups in the side index (ingest/store/side/title_keys.py): exact, through
replacements, merges, hash collisions, and format-10 segments that have no title-key arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ingest.records import title_key
from ingest.store.side import title_keys
from ingest.store.side.build import papers_from_chunks
from ingest.store.side.manifest import FORMAT, MANIFEST, READABLE_FORMATS, side_dir
from ingest.store.side.segment import Segment, write_arrays
from ingest.store.side.store import commit_changes, empty, load
from test_side_records import _chunk_rows, _sample_papers


def _expected(side, keys):
    """Title key -> sorted live paper ids, by reading every live record (what the arrays must give)."""
    out: dict[str, list[str]] = {}
    for pid in side.table.ids:
        key = title_key(side.record(pid)["title"] or "")
        if key in keys:
            out.setdefault(key, []).append(pid)
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture
def rows():
    return papers_from_chunks(_chunk_rows(_sample_papers()[:12]))


def _all_keys(side):
    return sorted({title_key(side.record(pid)["title"] or "") for pid in side.table.ids}) + ["no such title"]


def test_title_ids_match_the_records_across_commits_replacements_and_merges(tmp_path, rows):
    side = commit_changes(empty("g"), tmp_path, rows[:8], set(), "g", None, None)
    assert side.has_title_keys()
    keys = _all_keys(side)
    assert side.title_ids(keys) == _expected(side, keys) and "no such title" not in side.title_ids(keys)
    # replace one paper by a retitled version, remove another: their old rows stay, dead (no merge)
    old_key = title_key(rows[1].record["title"])
    retitled = rows[1]
    retitled.record = retitled.record | {"title": "A wholly new title for this paper"}
    side = commit_changes(side, tmp_path, [retitled], {rows[2].paper_id}, "g", None, None)
    assert len(side.segments) == 2 and side.manifest()["segments"][0]["dead"]
    keys = _all_keys(side) + [title_key(rows[2].record["title"]), old_key]
    got = side.title_ids(keys)
    assert got == _expected(side, keys)
    assert got[title_key("A wholly new title for this paper")] == [retitled.paper_id]
    assert rows[2].paper_id not in {pid for ids in got.values() for pid in ids}
    assert retitled.paper_id not in got.get(old_key, [])
    # more commits until the segments merge: the merged arrays answer the same
    side = commit_changes(side, tmp_path, rows[8:], set(), "g", None, None)  # merges the two newest
    assert len(side.segments) == 2 and len(side.segments[1]) == 5
    keys = _all_keys(side) + [old_key]
    assert side.title_ids(keys) == _expected(side, keys)
    # a fresh load reads the same arrays from disk
    import ingest.store.side.store as store

    store._open.clear()
    assert load(tmp_path).title_ids(keys) == _expected(side, keys)


def test_two_papers_of_one_title_and_a_hash_collision_are_both_exact(tmp_path, rows, monkeypatch):
    twin = rows[1]
    twin.record = twin.record | {"title": rows[0].record["title"]}
    side = commit_changes(empty("g"), tmp_path, rows[:4], set(), "g", None, None)
    key = title_key(rows[0].record["title"])
    assert side.title_ids([key]) == {key: sorted([rows[0].paper_id, twin.paper_id])}
    # every key hashing alike: the stored titles still decide
    monkeypatch.setattr(title_keys, "key_hashes", lambda keys: np.zeros(len(list(keys)), dtype=np.uint64))
    side = commit_changes(empty("h"), tmp_path / "b", rows[:4], set(), "h", None, None)
    keys = _all_keys(side)
    assert side.title_ids(keys) == _expected(side, keys)


def _strip_title_arrays(base, name):
    """Rewrite a segment as format 10 wrote it: no title-key arrays."""
    directory = side_dir(base) / name
    old = Segment(directory)
    lines = list(old.raw_records(np.arange(len(old))))
    write_arrays(base / "old", old.ids, np.asarray(old.rows), (old.category_names, old.cat_ptr, old.cat_code),
                 (old.source_names, old.src_ptr, old.src_code), old.vectors,
                 (old.terms, old.post_ptr, old.post_doc, old.post_tf), lines)
    del old
    for part in (base / "old").iterdir():
        part.replace(directory / part.name)
    (base / "old").rmdir()


def _format_10(tmp_path, rows):
    side = commit_changes(empty("g"), tmp_path, rows, set(), "g", None, None)
    name = side.manifest()["segments"][0]["name"]
    _strip_title_arrays(tmp_path, name)
    manifest = json.loads((side_dir(tmp_path) / MANIFEST).read_text())
    (side_dir(tmp_path) / MANIFEST).write_text(json.dumps(manifest | {"format": 10}))
    import ingest.store.side.store as store

    store._open.clear()
    return name


def test_a_format_10_side_index_opens_answers_through_chroma_and_a_merge_upgrades_it(tmp_path, rows):
    assert FORMAT == 11 and 10 in READABLE_FORMATS
    name = _format_10(tmp_path, rows[:6])
    old = load(tmp_path)
    assert old.manifest()["format"] == 10 and not old.has_title_keys()  # lookups ask Chroma
    assert [old.record(r.paper_id) for r in rows[:6]] == [r.record for r in rows[:6]]
    # a small commit beside it (no merge): the old segment stays as it is, keyless
    side = commit_changes(old, tmp_path, rows[6:7], set(), "g", None, None)
    assert [s.name for s in side.segments][0] == name and len(side.segments) == 2
    assert not side.has_title_keys() and side.manifest()["format"] == FORMAT
    # the commit whose merge rewrites it computes the old rows' keys from their records
    side = commit_changes(side, tmp_path, rows[7:], set(), "g", None, None)  # 5 + 1 >= 6: one segment
    assert len(side.segments) == 1 and side.has_title_keys()
    keys = _all_keys(side)
    assert side.title_ids(keys) == _expected(side, keys)
    import ingest.store.side.store as store

    store._open.clear()
    assert load(tmp_path).title_ids(keys) == _expected(side, keys)  # read back by a new process
