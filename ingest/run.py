"""What one ingest run did: the report it prints (`IngestReport`) and the state it keeps across
its read batches (`RunState`: each touched paper's outcome and the merge counts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from .dedupe import MergeCounts
from .records import Paper, is_title_id

# how a paper fared in a run, weakest first: a paper met again in a later batch keeps the strongest
OUTCOMES = ("unchanged", "sources_updated", "updated", "added")


@dataclass
class IngestReport:
    files_read: int = 0
    files_rejected: int = 0
    records_read: int = 0
    papers_in_batch: int = 0
    added: int = 0
    updated: int = 0
    sources_updated: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    papers_total: int = 0
    chunks_total: int = 0
    merged_by_title: int = 0  # records merged into another paper (new or stored) by title: one had no id
    duplicate_ids: int = 0  # records whose explicit id (arXiv, DOI, the file's id column) came earlier
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def merge_notes(self) -> list[str]:
        """Why records became fewer papers, one clause per reason (none when nothing merged)."""
        notes = []
        if self.merged_by_title:
            notes.append(f"; {self.merged_by_title} records merged into existing papers by title (no id)")
        if self.duplicate_ids:
            notes.append(f"; {self.duplicate_ids} duplicate ids in the input")
        return notes

    def summary(self) -> str:
        return (
            f"{self.files_read} file(s), {self.records_read} records, {self.papers_in_batch} unique papers: "
            f"{self.added} added, {self.updated} updated, {self.sources_updated} with new sources, "
            f"{self.unchanged} unchanged; {self.chunks_embedded} chunks embedded in {self.seconds:.1f} s. "
            f"Index: {self.papers_total} papers, {self.chunks_total} chunks"
            + "".join(self.merge_notes())
            + (f"; {len(self.errors)} problem(s) reported" if self.errors else "")
        )


class RunState:
    """What one ingest run keeps across its read batches: each touched paper's outcome (a small
    int per paper id) and the merge counts, added to the report once at the end (`tally`)."""

    def __init__(self) -> None:
        self.outcome: dict[str, int] = {}
        self.counts = MergeCounts()
        self.chunks_embedded = 0

    def touched(self, paper_id: str) -> bool:
        return paper_id in self.outcome

    def changed(self, paper_id: str) -> bool:
        """Whether this run wrote the paper (a paper it only found unchanged was not)."""
        return self.outcome.get(paper_id, 0) > 0

    def record(self, paper_id: str, outcome: str) -> None:
        self.outcome[paper_id] = max(self.outcome.get(paper_id, 0), OUTCOMES.index(outcome))

    def absorb(self, old_id: str, new_id: str) -> None:
        """`old_id` (a title-only paper of this run) became `new_id`: one paper, the stronger outcome."""
        if old_id in self.outcome:
            self.outcome[new_id] = max(self.outcome.pop(old_id), self.outcome.get(new_id, 0))

    def count_repeats(self, papers: list[Paper]) -> None:
        """Papers an earlier batch of this run already had: a repeated explicit id, or a repeated
        title-only record (counted as `dedupe` counts them inside one batch)."""
        for p in papers:
            if self.touched(p.paper_id):
                if is_title_id(p.paper_id):
                    self.counts.by_title += 1
                else:
                    self.counts.duplicate_ids += 1

    def tally(self, report: IngestReport) -> None:
        by_outcome = Counter(OUTCOMES[i] for i in self.outcome.values())
        report.papers_in_batch += len(self.outcome)
        for name in OUTCOMES:
            setattr(report, name, getattr(report, name) + by_outcome[name])
        report.chunks_embedded += self.chunks_embedded
        report.merged_by_title += self.counts.by_title
        report.duplicate_ids += self.counts.duplicate_ids
