"""Shared test fixtures. Every test runs with the network off: connecting anywhere but loopback fails."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "daily-papers"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

for key in [k for k in os.environ if k.startswith("ASKPAPERS_")]:
    del os.environ[key]
os.environ.update({"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False",
                   "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})

from ingest.settings import Settings  # noqa: E402

Settings.model_config["env_file"] = None  # a developer's .env must not leak into tests

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"network is off in tests: refused connection to {host}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


def make_settings(tmp: Path, **kw) -> Settings:
    return Settings(index_dir=tmp, **kw)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory) -> Path:
    """An embedded index of the five bundled sample pages (built once per test session)."""
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    d = tmp_path_factory.mktemp("sample-index")
    report = ingest([SAMPLES], index=PaperIndex(make_settings(d)), progress=False)
    assert report.papers_total == 365 and not report.errors
    return d


@pytest.fixture(scope="session")
def sample_assistant(sample_index_dir):
    from assistant import Assistant

    return Assistant(index_dir=sample_index_dir)


@pytest.fixture
def tiny_papers() -> list[dict]:
    return [
        {"title": "Hypernetworks for Embedding New Tokens",
         "abstract": "We train a hypernetwork that predicts embeddings for tokens missing from the vocabulary. "
                     "It improves perplexity on twelve low-resource languages.",
         "categories": "cs.CL", "id": "2401.00001", "update_date": "2024-01-05"},
        {"title": "Solar Wind Turbulence at Small Scales",
         "abstract": "Magnetometer data from three spacecraft reveal an anisotropic cascade of solar wind "
                     "turbulence below the ion gyroradius.",
         "categories": "physics.space-ph", "id": "0704.0002", "update_date": "2007-04-02"},
        {"title": "Contrastive Decoding Reduces Hallucination",
         "abstract": "Contrasting an expert language model with an amateur model at decoding time reduces "
                     "hallucinated statements by 4.5 points on TruthfulQA.",
         "categories": "cs.CL cs.LG", "update_date": "2024-06-10"},
    ]


# the 365-paper sample index takes ~30 s to build: tests on it are end-to-end (make test-all)
SAMPLE_INDEX_FIXTURES = {"sample_index_dir", "sample_assistant"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SAMPLE_INDEX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on 127.0.0.1 (its URL), one per test module."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert exe, "the chroma CLI is installed with chromadb"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer its heartbeat in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
