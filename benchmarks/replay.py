"""The recorded replies of an LLM run, replayed through the current askpapers code: no LLM called.

    python benchmarks/answers.py QUESTIONS --index-dir IDX --replay RUN --out NEW

A run of benchmarks/answers.py with `--llm-base-url` records every reply of the model as the
answer's `draft` (and, for a follow-up, the standalone question it wrote). Replaying sends each
prompt askpapers builds now to a `ReplayClient`, which answers with the reply recorded for that
question, so the checking, repair and arbitration code (`generative.finish`) is measured on real
small-model output in seconds, where the model takes minutes an answer. What it cannot show: how
the model would answer a prompt askpapers builds differently now (the replies are the ones
written for the prompts of the recorded run). Times are the replay's own, not the model's.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.llm import LLMError
from benchmarks.llm_peer import AskpapersSystem, message_tokens

_LAST = re.compile(r"Last question:\s*(.+?)\s*(?:\n\s*\n|\nStandalone question:|$)", re.S)
_ASKED = re.compile(r"\nQuestion:\s*(.+?)\s*(?:\n\s*\n|$)", re.S)


class ReplayClient:
    """A chat client answering from a run file: the recorded draft for an answer prompt, the
    recorded standalone question for a condensing prompt, an LLMError for anything unrecorded
    (askpapers then shows the offline answer, as for a model that fails)."""

    def __init__(self, records: list[dict], system: str, model: str) -> None:
        self.model = model
        self.prompt_tokens = 0
        self.drafts: dict[str, str] = {}
        self.standalone: dict[str, str] = {}
        for r in records:
            if r.get("system") != system:
                continue
            answer = r.get("answer") or {}
            standalone = answer.get("standalone_question")
            if answer.get("draft"):  # a follow-up's answer prompt asks its standalone question
                for asked in {answer["question"], standalone} - {None}:
                    self.drafts[asked] = answer["draft"]
            if standalone:
                self.standalone[answer["question"]] = standalone

    def stream(self, messages: list[dict], *args, **kwargs):
        self.prompt_tokens += message_tokens(messages)
        text = str(messages[-1].get("content", ""))
        last = _LAST.search(text)
        if last:
            reply = self.standalone.get(last.group(1).strip())
        else:
            asked = _ASKED.findall(text)
            reply = self.drafts.get(asked[-1].strip()) if asked else None
        if reply is None:
            raise LLMError("no reply recorded for this prompt")
        yield reply

    def complete(self, messages: list[dict], max_tokens: int = 200) -> str:
        return "".join(self.stream(messages)).strip()


def replay_system(settings, records: list[dict], run_file: Path) -> AskpapersSystem:
    """askpapers with the LLM of the run file's "askpapers + MODEL" answers, replayed."""
    names = [r["system"] for r in records if str(r.get("system", "")).startswith("askpapers + ")]
    if not names:
        raise SystemExit(f"{run_file} holds no 'askpapers + <model>' answers to replay")
    system = names[0]
    client = ReplayClient(records, system, system.removeprefix("askpapers + "))
    replayed = AskpapersSystem(f"{system} (replayed)", settings.model_copy(update={"llm_base_url": "replay"}),
                               client)
    replayed.assistant._client = client  # condensing follow-ups goes through the replayed replies too
    return replayed
