"""indexctl serve: a real uvicorn server on 127.0.0.1 (random free port), a real HTTP client,
/metrics parsed by the Prometheus parser, and a publish during a stream of requests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from python_ext.config import DataRoot
from python_ext.index.build import build_index
from python_ext.search import Searcher
from python_ext.serve import listen_socket
from python_ext.serve.app import create_app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_CACHE: dict[str, Path] = {}


def _ingested(name: str, repo: Path) -> Path:
    if name not in _CACHE or not _CACHE[name].exists():
        import tempfile

        from python_ext.facts.builder import ingest_with_facts

        root = Path(tempfile.mkdtemp(prefix=f"i10-serve-{name}-")) / "data"
        ingest_with_facts(root, repo, embedder="hashing")
        _CACHE[name] = root
    return _CACHE[name]


class Server:
    """uvicorn serving ``app`` in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        sock = listen_socket("127.0.0.1", 0)  # what indexctl serve binds
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def tiny(data_root: DataRoot) -> DataRoot:
    shutil.copytree(_ingested("tiny", FIXTURES / "tiny_repo"), data_root.root)
    build_index(data_root, gpu="off")
    return data_root


@pytest.fixture
def served(tiny: DataRoot) -> Iterator[tuple[Server, Searcher]]:
    searcher = Searcher(tiny, warm=True)
    server = Server(create_app(searcher, reload_interval=0))
    try:
        yield server, searcher
    finally:
        server.stop()


def _metrics(client: httpx.Client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def test_endpoints_answer_over_http(served: tuple[Server, Searcher]) -> None:
    server, searcher = served
    with httpx.Client(base_url=server.url, timeout=30) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["version"] == searcher.state.version
        assert health["rrf_k0"] == 60 and health["rrf_rank_cutoff"] == 10 and health["bm25"] is True

        r = client.get("/search", params={"q": "area of a circle", "k": 3})
        assert r.status_code == 200
        body = r.json()
        direct = searcher.search("area of a circle", 3)
        assert [h["chunk_id"] for h in body["hits"]] == [h.chunk_id for h in direct.hits]
        assert body["channel"] == "hybrid" and body["version"] == searcher.state.version
        hit = body["hits"][0]
        assert {"chunk_id", "uri", "start_line", "end_line", "language", "channel", "channel_ranks"} <= set(
            hit
        )

        # filters: repeated query parameters, or JSON lists in a POST body
        r = client.get("/search", params=[("q", "shape"), ("k", "4"), ("lang", "python"), ("lang", "go")])
        assert {h["language"] for h in r.json()["hits"]} <= {"python", "go"} and len(r.json()["hits"]) == 4
        r = client.post(
            "/search",
            json={
                "q": "shape",
                "k": 2,
                "channel": "faiss",
                "include": ["tinylib/"],
                "exclude": "*.md",
                "content": True,
            },
        )
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]
        assert len(hits) == 2 and all(h["uri"].startswith("tinylib/") and h["content"] for h in hits)
        assert r.json()["filters"]["kind"] == "glob"

        cid = hits[0]["chunk_id"]
        chunk = client.get(f"/chunks/{cid}").json()
        assert chunk["chunk_id"] == cid and chunk["content"] == hits[0]["content"]
        sym = client.get("/symbols/chunks", params={"name": "Shape", "k": 3}).json()
        assert sym["chunks"][0]["role"] == "defines" and len(sym["chunks"]) == 3
        mod = client.get("/modules/chunks", params={"module": "tinylib.geometry"}).json()
        assert mod["chunks"] and all(c["module_id"].startswith("tinylib.geometry") for c in mod["chunks"])
        assert client.post("/reload").json() == {"reloaded": False, "version": searcher.state.version}

        # errors are JSON with a status that says whose fault it is
        for method, path, kwargs, status, text in (
            ("get", "/search", {"params": {"q": "x", "k": 0}}, 400, "-k must be >= 1"),
            ("get", "/search", {"params": {"q": "  "}}, 400, "the query text is empty"),
            ("get", "/search", {"params": {"q": "x", "k": "ten"}}, 400, "k must be an integer"),
            ("get", "/search", {"params": {"q": "x", "lang": "cobol"}}, 400, "unknown language 'cobol'"),
            (
                "get",
                "/search",
                {"params": {"q": "x", "colour": "red"}},
                400,
                "unknown search parameter(s): colour",
            ),
            ("get", "/search", {"params": {"q": "x", "module": "nope"}}, 404, "no chunk is in module 'nope'"),
            ("post", "/search", {"content": b"{not json"}, 400, "the request body is not JSON"),
            ("post", "/search", {"json": ["q"]}, 400, "must be a JSON object"),
            ("get", "/chunks/12345", {}, 404, "are not in index version"),
            ("get", "/chunks/abc", {}, 400, "chunk_id must be an integer"),
            ("get", "/symbols/chunks", {}, 400, "give the symbol as name="),
        ):
            r = getattr(client, method)(path, **kwargs)
            assert r.status_code == status, (path, kwargs, r.text)
            assert text in r.json()["error"], r.json()

        families = _metrics(client)
    latency = families["codeintel_search_latency_seconds"]
    counts = {(s.labels["channel"], s.labels["stage"]): s.value for s in latency if s.name.endswith("_count")}
    # 2 hybrid + 1 faiss searches answered (errors are not observed), every stage by channel
    assert counts[("hybrid", "total")] == 2 and counts[("faiss", "total")] == 1
    for stage in ("embed", "ann", "bm25", "fuse", "hydrate"):
        assert counts[("hybrid", stage)] == 2, stage
    assert counts[("bm25", "total")] == 0 and ("flat", "ann") in counts  # every series exists from the start
    filters = {
        s.labels["filter"]: s.value for s in families["codeintel_search_filters"] if s.name.endswith("_total")
    }
    assert filters == {"none": 1, "language": 1, "glob": 1, "module": 0, "symbol": 0, "combined": 0}
    requests = {
        (s.labels["endpoint"], s.labels["status"]): s.value
        for s in families["codeintel_http_requests"]
        if s.name.endswith("_total")
    }
    assert requests[("/search", "200")] == 3 and requests[("/search", "400")] == 7
    assert requests[("/search", "404")] == 1 and requests[("/chunks", "404")] == 1
    chunks = families["codeintel_index_chunks"][0]
    assert chunks.labels == {"version": searcher.state.version} and chunks.value == searcher.state.ntotal


def test_a_publish_during_a_stream_of_requests_never_mixes_states(tiny: DataRoot, tmp_path: Path) -> None:
    """Clients search while the chunks are replaced by another repository and a new version is
    published: every answer is wholly one version's (its chunk ids, paths and lines)."""
    from python_ext.facts.builder import ingest_with_facts

    v1 = Searcher(tiny).state.version
    searcher = Searcher(tiny, warm=True)
    server = Server(create_app(searcher, reload_interval=0.05))
    answers: list[tuple[int, dict]] = []
    stop = threading.Event()

    def client_loop() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                r = client.get("/search", params={"q": "shape area config", "k": 4})
                answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        ingest_with_facts(tiny, FIXTURES / "scip" / "pkgdemo", embedder="hashing")  # other chunks
        v2 = build_index(tiny, gpu="off").version  # published: CURRENT flips
        deadline = time.monotonic() + 60
        while sum(1 for _, a in answers if a.get("version") == v2) < 20:
            assert time.monotonic() < deadline, "the server never switched to the new version"
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    assert answers and all(status == 200 for status, _ in answers), {s for s, _ in answers}
    meta = {
        v: {r["chunk_id"]: r for r in pq.read_table(tiny.version_dir(v) / "chunk_meta.parquet").to_pylist()}
        for v in (v1, v2)
    }
    seen = {v1: 0, v2: 0}
    for _, body in answers:
        version = body["version"]
        seen[version] += 1
        assert body["ntotal"] == len(meta[version])
        for hit in body["hits"]:
            row = meta[version][hit["chunk_id"]]  # a KeyError here would be a mixed answer
            assert (hit["uri"], hit["start_line"], hit["end_line"]) == (
                row["uri"],
                row["start_line"],
                row["end_line"],
            )
    assert seen[v1] > 0 and seen[v2] >= 20
    assert searcher.reloads == 1 and searcher.state.version == v2


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_indexctl_serve_binds_localhost_and_stops_on_a_signal(tiny: DataRoot, stop: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "python_ext", "serve", "--port", "0", "--data-root", str(tiny.root)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "http://" not in line:
            assert time.monotonic() < deadline and proc.poll() is None, line
            line = proc.stderr.readline()
        url = re.search(r"http://[^\s]+", line).group(0)
        assert url.startswith("http://127.0.0.1:")  # this machine only, by default
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{url}/health", timeout=10).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health["status"] == "ok" and health["ntotal"] == 26
        hits = httpx.get(f"{url}/search", params={"q": "circle", "k": 2}, timeout=30).json()["hits"]
        assert len(hits) == 2
    finally:
        proc.send_signal(getattr(signal, stop))
        code = proc.wait(timeout=60)
    err = proc.stderr.read()
    # graceful either way: Ctrl-C returns 0, SIGTERM ends the process by the signal after shutdown
    assert code == (0 if stop == "SIGINT" else -signal.SIGTERM) and "Traceback" not in err, err


def test_a_failed_reload_keeps_the_old_state_serving(served: tuple[Server, Searcher], tiny: DataRoot) -> None:
    server, searcher = served
    old = searcher.state.version
    broken = build_index(tiny, factory="HNSW8,Flat", gpu="off").version  # published
    (tiny.version_dir(broken) / "vectors.npy").write_bytes(b"tampered")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/reload")
        assert r.status_code == 409 and "vectors sha256" in r.json()["error"]
        health = client.get("/health").json()
        assert health["version"] == old and "vectors sha256" in health["last_reload_error"]
        assert client.get("/search", params={"q": "shape", "k": 2}).json()["version"] == old
        families = _metrics(client)
    failures = [s.value for s in families["codeintel_state_reload_failures"] if s.name.endswith("_total")]
    assert failures == [1.0]
