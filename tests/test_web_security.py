"""The chat server against a hostile client: login throttling, `/add_papers` with paths it never
received, an upload over the record cap, and cancelling a long upload while questions go on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from assistant.web import FailureWindow
from conftest import write_jsonl

USER, PASSWORD = "ann", "s3cret"
MAX_FAILURES, LOCKOUT = 3, 1.5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- the failure window

def test_lockout_after_n_failures_doubles_and_resets_on_success():
    clock = Clock()
    w = FailureWindow(max_failures=3, lockout_seconds=10, clock=clock)
    assert [w.begin("1.2.3.4") for _ in range(3)] == [0, 0, 0]  # three tries are checked ...
    assert w.begin("1.2.3.4") == pytest.approx(10)  # ... the fourth waits for the window
    assert w.begin("5.6.7.8") == 0  # per client address
    clock.now += 10.1
    assert w.begin("1.2.3.4") == 0  # one more try after the window; wrong again:
    assert w.retry_after("1.2.3.4") == pytest.approx(20)  # the lockout doubled
    clock.now += 20.1
    assert w.begin("1.2.3.4") == 0
    w.succeeded("1.2.3.4")  # a right login forgets the failures
    assert [w.begin("1.2.3.4") for _ in range(2)] == [0, 0] and w.retry_after("1.2.3.4") == 0


def test_lockout_never_exceeds_the_cap():
    clock = Clock()
    w = FailureWindow(max_failures=1, lockout_seconds=60, clock=clock)
    for _ in range(40):
        w.begin("x")
        clock.now += w.retry_after("x") + 0.01
    w.begin("x")
    assert w.retry_after("x") <= 15 * 60


# --------------------------------------------------------------------------- a real server

CAP = 3000  # records per upload: enough that a cancelled upload cannot finish first, even on a quiet machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A page with a login, a CAP-record cap, over a tiny index of its own."""
    from assistant import Assistant
    from assistant import web

    tmp = tmp_path_factory.mktemp("secure")
    seed = write_jsonl(tmp / "seed.jsonl", [{"title": "Frogs Jump Far", "abstract": "Frogs jump far. Green frogs "
                                             "live in ponds and eat flies."}])
    assistant = Assistant(index_dir=tmp / "index", login_max_failures=MAX_FAILURES, login_lockout_seconds=LOCKOUT,
                          upload_max_records=CAP)
    assert assistant.ingest([seed]).added == 1
    demo = web.serve(assistant, port=0, auth=f"{USER}:{PASSWORD}", block=False, quiet=True)
    yield assistant, f"http://127.0.0.1:{demo.server_port}/"
    demo.close()


def login(url: str, password: str) -> httpx.Response:
    return httpx.post(url + "login", data={"username": USER, "password": password}, timeout=30)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[1], auth=(USER, PASSWORD), verbose=False)


def call_raw(url: str, api_name: str, data: list) -> str:
    """Call an endpoint the way a hostile client would, without gradio_client's own uploading."""
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("login", data={"username": USER, "password": PASSWORD}).status_code == 200
        event = http.post(f"gradio_api/call/{api_name}", json={"data": data}).json()["event_id"]
        return http.get(f"gradio_api/call/{api_name}/{event}").text


def papers(n: int, topic: str) -> list[dict]:
    return [{"title": f"Field notes {i} on {topic}", "abstract": f"We observed {topic} number {i} near the river."}
            for i in range(n)]


@pytest.mark.slow
def test_repeated_wrong_logins_are_refused_then_a_right_login_works(server):
    url = server[1]
    started = time.monotonic()
    codes = [login(url, f"guess{i}").status_code for i in range(MAX_FAILURES + 5)]
    assert codes[:MAX_FAILURES] == [400] * MAX_FAILURES  # checked, wrong
    assert codes[MAX_FAILURES:] == [429] * 5  # locked out: not even checked
    locked = login(url, PASSWORD)  # even the right password waits for the window
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= LOCKOUT + 1
    time.sleep(max(0.0, started + LOCKOUT + 0.2 - time.monotonic()))
    assert login(url, PASSWORD).status_code == 200  # after the window; this resets the count
    assert [login(url, "nope").status_code for _ in range(MAX_FAILURES)] == [400] * MAX_FAILURES
    time.sleep(LOCKOUT + 0.2)
    assert login(url, PASSWORD).status_code == 200


@pytest.mark.slow
def test_add_papers_refuses_paths_it_did_not_receive(server, client, tmp_path):
    from gradio.utils import get_upload_folder
    from gradio_client import handle_file

    assistant, url = server
    secret = write_jsonl(tmp_path / "secret.jsonl", [{"title": "Server Secrets", "abstract": "The admin password "
                                                      "of the zebrafish lab is hunter2, written on a sticky note."}])
    planted = Path(get_upload_folder()) / "askpapers-test-planted" / "planted.jsonl"  # in gradio's cache, never uploaded
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(secret.read_text())
    meta = {"_type": "gradio.FileData"}
    for path in (str(planted), str(secret), "/etc/hostname"):
        out = call_raw(url, "add_papers", [[{"path": path, "meta": meta}]])
        assert "papers added" not in out and "records read" not in out
    out = call_raw(url, "add_papers", [[{"path": str(planted), "meta": meta}]])
    assert "planted.jsonl: refused: only files uploaded through this page can be added" in out
    leaked = client.predict("What is the admin password of the zebrafish lab?", api_name="/ask")
    assert "hunter2" not in json.dumps(leaked) and "Server Secrets" not in json.dumps(leaked)
    assert assistant.stats()["papers_total"] == 1

    mine = write_jsonl(tmp_path / "mine.jsonl", papers(2, "otters"))
    status = client.predict([handle_file(str(mine))], api_name="/add_papers")  # a real upload works
    assert "2 papers added" in status and "The index now holds 3 papers" in status
    answer = client.predict("What did they observe near the river about otters?", api_name="/ask")
    assert answer["papers"][0]["title"].startswith("Field notes")


@pytest.mark.slow
def test_a_bare_path_to_add_papers_is_refused_without_a_traceback(server, capfd, caplog):
    out = call_raw(server[1], "add_papers", [["/etc/passwd"]])  # a path where an upload belongs
    assert "papers added" not in out and "records read" not in out
    time.sleep(0.5)
    assert "Traceback" not in capfd.readouterr().err
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("request refused: ")]
    assert len(refused) == 1 and "input_value='/etc/passwd'" in refused[0], refused


@pytest.mark.slow
def test_an_upload_over_the_record_cap_is_refused_in_one_line(server, client, tmp_path):
    from gradio_client import handle_file

    bomb = write_jsonl(tmp_path / "bomb.jsonl", papers(CAP + 1, "beetles"))
    status = client.predict([handle_file(str(bomb))], api_name="/add_papers")
    assert f"bomb.jsonl: {CAP + 1:,} records is over the limit of {CAP:,} records per upload" in status
    assert "0 papers added" in status and status.count('class="ap-err"') == 1


@pytest.mark.slow
def test_cancel_stops_a_long_upload_while_questions_are_answered(server, client, tmp_path):
    from gradio_client import Client, handle_file

    assistant, url = server
    before = assistant.stats()["papers_total"]
    long = write_jsonl(tmp_path / "long.jsonl", papers(CAP, "herons"))  # minutes of embedding: cancelled long before
    job = client.submit([handle_file(str(long))], api_name="/add_papers")
    deadline = time.monotonic() + 120
    while not any("Embedding" in s and f" of {CAP:,} papers" in s for s in job.outputs()):
        assert time.monotonic() < deadline and not job.done(), job.outputs()
        time.sleep(0.2)
    other = Client(url, auth=(USER, PASSWORD), verbose=False)  # another user asks meanwhile
    answer = other.predict("Where do green frogs live?", api_name="/ask")
    assert answer["papers"][0]["title"] == "Frogs Jump Far"
    assert not job.done()  # the upload is still embedding: the question did not wait for it
    final = client.predict(api_name="/cancel_upload")
    assert "Cancelled" in final and f"of {CAP:,} papers processed" in final
    added = assistant.stats()["papers_total"] - before
    assert 0 < added < CAP and f"{added} papers added" in final
    assert assistant.index.needs_commit() is None  # committed: BM25 and stats agree with Chroma


@pytest.mark.slow
def test_a_client_that_cancels_its_call_stops_the_upload(server, client, tmp_path):
    """gradio_client's `job.cancel()` (or a closed tab) closes the handler: the upload stops too."""
    from gradio_client import handle_file

    assistant, _url = server
    before = assistant.stats()["papers_total"]
    job = client.submit([handle_file(str(write_jsonl(tmp_path / "egrets.jsonl", papers(CAP, "egrets"))))],
                        api_name="/add_papers")
    deadline = time.monotonic() + 120
    while not any("Embedding" in s for s in job.outputs()):
        assert time.monotonic() < deadline and not job.done(), job.outputs()
        time.sleep(0.2)
    job.cancel()
    # the next upload waits for the cancelled one to stop and commit, then reports the total
    status = client.predict([handle_file(str(write_jsonl(tmp_path / "one.jsonl", papers(1, "ibises"))))],
                            api_name="/add_papers")
    total = assistant.stats()["papers_total"]
    assert "1 paper added" in status and f"The index now holds {total:,} papers" in status
    assert before + 1 < total < before + CAP + 1
    assert assistant.index.needs_commit() is None
