"""Tuning: FAISS operating points against exact ground truth, frontier and manifest updates,
operating point applied on load; load-time integrity errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pyarrow.parquet as pq
import pytest
from _index_data import write_code_chunks, write_synthetic_chunks

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import TUNING_FRONTIER_SCHEMA
from python_ext.errors import IndexMismatchError, OperatingPointError
from python_ext.index.build import build_index
from python_ext.index.gpu import Device
from python_ext.index.load import apply_operating_point, load_index
from python_ext.index.tune import exact_ground_truth, tune_index
from python_ext.index.versions import list_versions, read_current, read_manifest


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = DataRoot(tmp_path_factory.mktemp("syn") / "data")
    write_synthetic_chunks(root, 20_000, 32, seed=5)
    return root.chunks_dir


@pytest.fixture
def syn_root(synthetic_dir: Path, data_root: DataRoot) -> DataRoot:
    shutil.copytree(synthetic_dir, data_root.chunks_dir)
    return data_root


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_streamed_ground_truth_equals_exact_search(syn_root: DataRoot) -> None:
    parts = list(chunkstore.iter_embedding_batches(syn_root, batch_rows=3000))
    x = np.concatenate([p[1] for p in parts])
    xq = x[::997]
    _, gt = exact_ground_truth(syn_root, xq, 10, "ip", Device(False, "cpu"), batch_rows=3000)
    _, ref = faiss.knn(xq, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    assert np.array_equal(np.sort(gt, axis=1), np.sort(ref, axis=1))


def test_tune_meets_target_on_held_out_queries(syn_root: DataRoot) -> None:
    built = build_index(syn_root, factory="IVF256,Flat", gpu="off")
    result = tune_index(syn_root, target_recall=0.95, k=10, n_queries=300, gpu="off")
    assert result.version == built.version and result.target_met
    assert result.chosen.recall_at_k >= 0.95
    m = read_manifest(syn_root, built.version)
    assert m["operating_point"] == result.chosen.operating_point and m["operating_point_source"] == "tuned"
    assert m["operating_point"].startswith("nprobe=")
    assert m["tuning"]["target_met"] is True and m["tuning"]["query_source"] == "sampled_chunks"
    assert m["idmap_sha256"] == built.manifest["idmap_sha256"]  # index and id map untouched

    folder = syn_root.version_dir(built.version)
    frontier = pq.read_table(folder / "tuning_frontier.parquet")
    assert frontier.schema.equals(TUNING_FRONTIER_SCHEMA)
    rows = frontier.to_pylist()
    assert sum(r["is_chosen"] for r in rows) == 1 and len(rows) == m["tuning"]["points"] >= 3
    chosen = next(r for r in rows if r["is_chosen"])
    faster = [r for r in rows if r["ms_per_query"] < chosen["ms_per_query"]]
    assert all(r["recall_at_k"] < 0.95 for r in faster), (
        "the chosen point must be the fastest meeting the target"
    )
    assert any(r["is_pareto"] for r in rows)
    tuning = json.loads((folder / "tuning.json").read_text())
    assert tuning["chosen"]["operating_point"] == chosen["operating_point"]

    # the operating point is applied on load, and independent held-out queries reach the target
    loaded = load_index(syn_root)
    assert loaded.operating_point == chosen["operating_point"]
    nprobe = int(chosen["operating_point"].split("=")[1])
    assert faiss.extract_index_ivf(loaded.inner).nprobe == nprobe
    ids = np.concatenate([p[0] for p in chunkstore.iter_embedding_batches(syn_root)])
    x = np.concatenate([p[1] for p in chunkstore.iter_embedding_batches(syn_root)])
    rng = np.random.default_rng(99)
    held_out = x[rng.choice(len(x), 200, replace=False)] + 0.05 * rng.standard_normal((200, 32)).astype(
        "float32"
    )
    faiss.normalize_L2(held_out)
    _, truth_rows = faiss.knn(held_out, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = loaded.index.search(held_out, 10)
    assert _recall(found, ids[truth_rows]) >= 0.9


def test_tune_hnsw_family(syn_root: DataRoot) -> None:
    build_index(syn_root, factory="HNSW16,Flat", gpu="off")
    result = tune_index(syn_root, target_recall=0.9, k=5, n_queries=200, gpu="off")
    assert result.target_met and result.chosen.operating_point.startswith("efSearch=")


def test_tune_compares_factories_and_keeps_best(syn_root: DataRoot) -> None:
    first = build_index(syn_root, factory="Flat", gpu="off").version
    result = tune_index(
        syn_root, factories=["IVF128,Flat", "HNSW16,Flat"], target_recall=0.9, k=10, n_queries=200, gpu="off"
    )
    assert result.published and read_current(syn_root) == result.version
    assert result.factory in ("IVF128,Flat", "HNSW16,Flat")
    assert {c["factory"] for c in result.summary["comparison"]} == {"IVF128,Flat", "HNSW16,Flat"}
    meeting = [c for c in result.summary["comparison"] if c["target_met"]]
    chosen = next(c for c in meeting if c["factory"] == result.factory)
    # the fastest that meets the target (the summary rounds to 4 decimals: a tie there is a tie)
    assert chosen["ms_per_query"] == min(c["ms_per_query"] for c in meeting)
    assert [v.version for v in list_versions(syn_root)] == [first, result.version]  # loser deleted
    frontier = pq.read_table(syn_root.version_dir(result.version) / "tuning_frontier.parquet")
    assert set(frontier.column("factory").to_pylist()) == {"IVF128,Flat", "HNSW16,Flat"}


def test_tune_flat_is_exact(syn_root: DataRoot) -> None:
    build_index(syn_root, factory="Flat", gpu="off")
    result = tune_index(syn_root, n_queries=50, gpu="off")
    assert result.chosen.operating_point == "" and result.chosen.recall_at_k == 1.0


# --- load-time integrity and operating point errors ------------------------------------------


def test_idmap_sha_mismatch_refused_at_load(syn_root: DataRoot) -> None:
    v = build_index(syn_root, factory="Flat", gpu="off").version
    path = syn_root.version_dir(v) / "faiss_idmap.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    want = read_manifest(syn_root, v)["idmap_sha256"]
    with pytest.raises(IndexMismatchError) as err:
        load_index(syn_root)
    assert err.value.message.startswith(f"{path}: id map sha256 ")
    assert err.value.message.endswith(f"does not match version.json idmap_sha256 {want[:16]}… (version {v})")
    assert "indexctl index export-idmap" in err.value.hint


def test_operating_point_errors(syn_root: DataRoot) -> None:
    build_index(syn_root, factory="IVF64,Flat", gpu="off")
    loaded = load_index(syn_root)
    with pytest.raises(OperatingPointError) as err:
        apply_operating_point(loaded.index, "efSearch=32")
    assert err.value.message == (
        "operating point 'efSearch=32' is not accepted by this IndexIVFFlat index: "
        "could not set parameter efSearch"
    )
    assert err.value.hint == "parameters this index accepts: nprobe (and k_factor=N for the exact re-rank)"
    # k_factor is search's own parameter: split off before FAISS sees the string, and checked
    assert apply_operating_point(loaded.index, "nprobe=4,k_factor=3") == 3
    assert faiss.extract_index_ivf(loaded.index).nprobe == 4
    for bad in ("k_factor=0", "k_factor=2.5", "k_factor=x", "k_factor=4096"):
        with pytest.raises(OperatingPointError, match="k_factor must be an integer from 1 to 1024"):
            apply_operating_point(loaded.index, f"nprobe=4,{bad}")
    with pytest.raises(OperatingPointError) as err:
        apply_operating_point(loaded.index, "nprobe")
    assert err.value.message == "operating point 'nprobe': 'nprobe' is not NAME=VALUE"
    with pytest.raises(OperatingPointError) as err:
        load_index(syn_root, operating_point="nprobe=lots")
    assert err.value.message == "operating point 'nprobe=lots': value of nprobe is not a number: 'lots'"


def test_bad_operating_point_in_manifest_refused_at_load(syn_root: DataRoot) -> None:
    v = build_index(syn_root, factory="HNSW16,Flat", gpu="off").version
    path = syn_root.version_dir(v) / "version.json"
    manifest = json.loads(path.read_text())
    manifest["operating_point"] = "nprobe=4"
    path.write_text(json.dumps(manifest))
    with pytest.raises(OperatingPointError, match="is not accepted by this IndexHNSWFlat index"):
        load_index(syn_root)


def test_tune_refuses_changed_chunks(syn_root: DataRoot) -> None:
    build_index(syn_root, factory="Flat", gpu="off")
    write_synthetic_chunks(syn_root, 20_000, 32, seed=6)
    with pytest.raises(IndexMismatchError, match="changed since version"):
        tune_index(syn_root, n_queries=20, gpu="off")


@pytest.mark.minilm
def test_minilm_round_trip_on_real_code(data_root: DataRoot) -> None:
    """The real all-MiniLM-L6-v2 over python_ext's sources: build, tune, search by meaning."""
    pytest.importorskip("sentence_transformers")
    from _index_data import REPO_ROOT

    from python_ext.embed import get_embedder
    from python_ext.search import search_text

    roots = (REPO_ROOT / "python_ext" / "atomic.py", REPO_ROOT / "python_ext" / "index")
    n = write_code_chunks(data_root, get_embedder("minilm"), roots=roots, window=30)
    build_index(data_root, factory="HNSW16,Flat", gpu="off")
    result = tune_index(data_root, target_recall=0.95, k=10, n_queries=min(200, n), gpu="off")
    assert result.target_met
    hits = search_text(data_root, "write a file atomically with a temporary file and rename", k=5)
    assert "python_ext/atomic.py" in [h.uri for h in hits]


def test_tune_uses_eval_queries_when_present(data_root: DataRoot) -> None:
    """Evaluation queries (text) are embedded with the corpus's embedder and used as held-out
    queries; without the file, --queries eval is refused."""
    import pyarrow as pa

    from python_ext.atomic import atomic_write_parquet
    from python_ext.contracts import EVAL_QUERIES_SCHEMA
    from python_ext.embed import HashingEmbedder
    from python_ext.errors import ConfigError

    write_code_chunks(data_root, HashingEmbedder())
    build_index(data_root, factory="IVF32,Flat", gpu="off")
    with pytest.raises(ConfigError) as err:
        tune_index(data_root, queries="eval", gpu="off")
    assert err.value.message == f"--queries eval: no usable evaluation queries at {data_root.queries_path}"
    texts = ["parse an email header", "asyncio event loop run until complete", "json decode error position",
             "logging handler emit record", "http client request headers"] * 8  # fmt: skip
    table = pa.table(
        {
            "query_id": [f"q{i}" for i in range(len(texts))],
            "text": texts,
            "positives": [[1] for _ in texts],
            "origin": ["user"] * len(texts),
            "meta": [None] * len(texts),
        },
        schema=EVAL_QUERIES_SCHEMA,
    )
    atomic_write_parquet(data_root.queries_path, table)
    result = tune_index(data_root, target_recall=0.9, k=10, gpu="off")
    assert result.summary["query_source"] == "eval_queries" and result.summary["n_queries"] == len(texts)
    assert result.target_met
