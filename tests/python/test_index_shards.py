"""Sharded index versions (``index build --shards S``): the same neighbours as the single index
on the same chunks, served as one index by search, tune, eval and the id map export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pyarrow.parquet as pq
import pytest
from _index_data import chunk_table, clustered_vectors, write_synthetic_chunks

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo
from python_ext.errors import ConfigError, IndexMismatchError
from python_ext.index.build import build_index
from python_ext.index.idmap import export_idmap, index_ids, read_idmap
from python_ext.index.load import load_index
from python_ext.index.shards import check_shard_options, is_sharded, plan_shards, shard_indexes
from python_ext.index.tune import tune_index
from python_ext.index.versions import read_manifest

N, D = 6000, 32


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = DataRoot(tmp_path_factory.mktemp("shards") / "data")
    write_synthetic_chunks(root, N, D, seed=11)
    return root.chunks_dir


@pytest.fixture
def syn_root(synthetic_dir: Path, data_root: DataRoot) -> DataRoot:
    shutil.copytree(synthetic_dir, data_root.chunks_dir)
    return data_root


def assert_same_neighbours(da: np.ndarray, ia: np.ndarray, db: np.ndarray, ib: np.ndarray) -> None:
    """Same scores; the same ids wherever the score is not tied (compressed codes such as PQ
    give many vectors the same score, and merged shards may order a tie differently)."""
    assert np.allclose(da, db, atol=1e-5)
    for row in range(len(da)):
        values, counts = np.unique(np.round(da[row], 5), return_counts=True)
        tied = set(values[counts > 1]) | {np.round(da[row, -1], 5)}
        untied = [j for j in range(da.shape[1]) if np.round(da[row, j], 5) not in tied]
        assert np.array_equal(ia[row, untied], ib[row, untied]), row
        assert set(ia[row]) - set(ib[row]) <= set(ia[row, [j for j in range(da.shape[1]) if j not in untied]])


def _vectors(root: DataRoot) -> tuple[np.ndarray, np.ndarray]:
    parts = list(chunkstore.iter_embedding_batches(root))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.parametrize(
    ("factory", "layout", "points"),
    [
        ("Flat", "shards", [""]),
        ("IVF32,Flat", "shards", ["nprobe=1", "nprobe=5", "nprobe=32"]),
        ("IVF32_HNSW8,Flat", "shards", ["nprobe=3,quantizer_efSearch=4", "nprobe=8,quantizer_efSearch=64"]),
        ("IVF16,PQ8x4", "shards", ["nprobe=2", "nprobe=16"]),
        ("IVF32,Flat", "ondisk", ["nprobe=1", "nprobe=6"]),
        ("IVF32_HNSW8,Flat", "ondisk", ["nprobe=4,quantizer_efSearch=8"]),
    ],
    ids=["flat", "ivf", "ivf-hnsw-quantizer", "ivfpq", "ivf-ondisk", "ivf-hnsw-ondisk"],
)
def test_sharded_equals_single_index(
    syn_root: DataRoot, factory: str, layout: str, points: list[str]
) -> None:
    """Trained once on the same sample, the shards hold exactly the single index's vectors, so
    every operating point returns the same ids and scores."""
    ids, x = _vectors(syn_root)
    single = build_index(syn_root, factory=factory, gpu="off", publish=False)
    sharded = build_index(syn_root, factory=factory, gpu="off", shards=3, layout=layout, workers=1)
    m = sharded.manifest
    assert m["sharding"]["count"] == 3 and m["sharding"]["layout"] == layout
    assert [p["ntotal"] for p in m["sharding"]["parts"]] == [2000, 2000, 2000]  # even split of 1 file
    assert m["ntotal"] == N and m["operating_point"] == single.manifest["operating_point"]
    xq = x[::37]
    for point in points:
        a = load_index(syn_root, single.version, operating_point=point)
        b = load_index(syn_root, operating_point=point)
        assert b.version == sharded.version
        da, ia = a.index.search(xq, 10)
        db, ib = b.index.search(xq, 10)
        if "PQ" in factory:
            assert_same_neighbours(da, ia, db, ib)
        else:
            assert np.array_equal(ia, ib), point
            assert np.allclose(da, db, atol=1e-5), point
    # the id map is the chunk-file order, exactly as for the single index
    assert np.array_equal(index_ids(b.index), ids)
    assert np.array_equal(read_idmap(b.path / "faiss_idmap.parquet").column("chunk_id").to_numpy(), ids)
    # no IndexIDMap2 (its chunk id -> row hash map) in a sharded version
    assert type(b.index) is faiss.IndexIDMap
    files = sorted(p.name for p in b.path.iterdir())
    if layout == "ondisk":
        assert "index.ivfdata" in files and not [f for f in files if "shard" in f]
        assert not is_sharded(b.index)
    else:
        assert [f for f in files if f.startswith("shard-")] == [f"shard-0000{i}.faiss" for i in range(3)]
        assert is_sharded(b.index) and len(shard_indexes(b.index)) == 3


def test_hnsw_shards_are_one_graph_each(syn_root: DataRoot) -> None:
    """HNSW builds a graph per shard: not the single index's neighbours, but still accurate."""
    ids, x = _vectors(syn_root)
    build_index(syn_root, factory="HNSW16,Flat", gpu="off", shards=2, workers=1)
    loaded = load_index(syn_root, operating_point="efSearch=64")
    xq = x[::29]
    _, found = loaded.index.search(xq, 10)
    _, exact = faiss.knn(xq, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    recall = np.mean([len(set(f) & set(ids[e])) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.95


def test_worker_processes_give_the_same_shards(syn_root: DataRoot) -> None:
    in_process = build_index(syn_root, factory="IVF32,Flat", gpu="off", shards=2, workers=1, publish=False)
    pooled = build_index(syn_root, factory="IVF32,Flat", gpu="off", shards=2, workers=2)
    assert pooled.manifest["sharding"]["workers"] == 2
    for a, b in zip(
        in_process.manifest["sharding"]["parts"], pooled.manifest["sharding"]["parts"], strict=True
    ):
        assert a["sha256"] == b["sha256"]


def test_partitioned_chunk_files_become_the_shards(data_root: DataRoot) -> None:
    """With as many chunk partitions as index shards, index shard s is chunk file s."""
    x = clustered_vectors(3000, 16, seed=2)
    info = EmbeddingInfo(model="synthetic-d16", dim=16, normalized=True, kind="precomputed")
    chunkstore.replace_chunk_set(data_root, chunk_table(x, info), shards=3)
    files = chunkstore.chunk_files(data_root)
    assert len(files) == 3
    result = build_index(data_root, factory="Flat", gpu="off", shards=3, workers=1)
    parts = result.manifest["sharding"]["parts"]
    assert result.manifest["sharding"]["split"] == "chunk files"
    assert [p["ntotal"] for p in parts] == [pq.ParquetFile(f).metadata.num_rows for f in files]
    assert plan_shards([5, 5], 3).split == "rows" and plan_shards([5, 5], 3).bounds == (0, 3, 6, 10)


def test_tune_and_search_a_sharded_version(syn_root: DataRoot) -> None:
    single = build_index(syn_root, factory="IVF64,Flat", gpu="off", publish=False)
    built = build_index(syn_root, factory="IVF64,Flat", gpu="off", shards=4, workers=1)
    tuned = tune_index(syn_root, target_recall=0.95, n_queries=200, gpu="off")
    assert tuned.version == built.version and tuned.target_met
    reference = tune_index(syn_root, version=single.version, target_recall=0.95, n_queries=200, gpu="off")
    # recall is a property of the neighbours, which are the same: a setting measured on both
    # gives the same recall (FAISS's explore skips settings by timing, so the sets differ)
    recall = {p.operating_point: p.recall_at_k for p in tuned.points}
    both = [p for p in reference.points if p.operating_point in recall]
    assert both
    for p in both:
        assert recall[p.operating_point] == pytest.approx(p.recall_at_k)
    loaded = load_index(syn_root)
    assert loaded.operating_point == tuned.chosen.operating_point
    ids, x = _vectors(syn_root)
    _, found = loaded.index.search(x[:20], 1)
    assert np.array_equal(found[:, 0], ids[:20])


def test_search_and_eval_treat_a_sharded_version_like_a_single_one(
    tiny_repo: Path, data_root: DataRoot
) -> None:
    from eval_data import build_tiny_data_root

    from python_ext.evaluate.pools import read_pool
    from python_ext.evaluate.queries import build_queries
    from python_ext.evaluate.run import run_eval
    from python_ext.index.versions import publish
    from python_ext.search.searcher import search_text

    build_tiny_data_root(tiny_repo, data_root, index=False)
    build_queries(data_root)
    single = build_index(data_root, factory="Flat", gpu="off")
    hits_single = {
        channel: search_text(data_root, "parse the configuration file", k=5, channel=channel)
        for channel in ("faiss", "hybrid")
    }
    run_single = run_eval(data_root, k=5)
    sharded = build_index(data_root, factory="Flat", gpu="off", shards=3, workers=1)
    assert sharded.manifest["sharding"]["count"] == 3
    for channel, hits in hits_single.items():
        assert search_text(data_root, "parse the configuration file", k=5, channel=channel) == hits, channel
    run_sharded = run_eval(data_root, k=5)
    assert run_sharded.masked_chunks > 0  # the masked copy of the sharded index was searched

    def faiss_hits(run_id: str) -> dict[str, list[tuple[float, int]]]:
        hits: dict[str, list[tuple[float, int]]] = {}
        for r in sorted(read_pool(data_root, run_id).to_pylist(), key=lambda r: (r["query_id"], r["rank"])):
            if r["source"] == "faiss":
                hits.setdefault(r["query_id"], []).append((round(r["score"], 5), r["chunk_id"]))
        return hits

    a, b = faiss_hits(run_single.run_id), faiss_hits(run_sharded.run_id)
    assert a.keys() == b.keys()
    for query, ranked in a.items():
        scores = [score for score, _ in ranked]
        assert [score for score, _ in b[query]] == scores, query
        # a tie may also reach past the cut: the last score counts as tied
        untied = [i for i, score in enumerate(scores) if scores.count(score) == 1 and score != scores[-1]]
        assert [ranked[i][1] for i in untied] == [b[query][i][1] for i in untied], query
    metrics = {m.source: m.recall_at_k for m in run_single.metrics}
    assert {m.source: m.recall_at_k for m in run_sharded.metrics} == metrics
    publish(data_root, single.version)


def test_export_idmap_of_a_sharded_version(syn_root: DataRoot) -> None:
    built = build_index(syn_root, factory="IVF32,Flat", gpu="off", shards=3, workers=1)
    before = read_idmap(syn_root.version_dir(built.version) / "faiss_idmap.parquet")
    result = export_idmap(syn_root)
    after = read_idmap(syn_root.version_dir(built.version) / "faiss_idmap.parquet")
    assert result.rows == N
    for column in ("faiss_row", "faiss_id", "chunk_id", "build_version"):
        assert after.column(column).equals(before.column(column))
    assert read_manifest(syn_root, built.version)["idmap_sha256"] == result.idmap_sha256
    load_index(syn_root)  # the re-exported id map is verified against the shards


def test_changed_or_missing_shard_is_refused_at_load(syn_root: DataRoot) -> None:
    built = build_index(syn_root, factory="Flat", gpu="off", shards=2, workers=1)
    folder = syn_root.version_dir(built.version)
    shard = folder / "shard-00001.faiss"
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError) as err:
        load_index(syn_root)
    assert err.value.message.startswith(f"{shard}: shard 1 sha256 ")
    shard.unlink()
    with pytest.raises(IndexMismatchError, match=r"shard-00001.faiss: the shard 1 of version .* is missing"):
        load_index(syn_root)


def test_moved_data_root_still_loads_the_on_disk_layout(syn_root: DataRoot, tmp_path: Path) -> None:
    built = build_index(syn_root, factory="IVF32,Flat", gpu="off", shards=2, layout="ondisk", workers=1)
    moved = DataRoot(tmp_path / "moved")
    shutil.move(syn_root.root, moved.root)
    loaded = load_index(moved, operating_point="nprobe=32")
    ids, x = _vectors(moved)
    _, found = loaded.index.search(x[:30], 1)
    assert loaded.version == built.version and np.array_equal(found[:, 0], ids[:30])


def test_shard_options_are_checked_before_training(syn_root: DataRoot) -> None:
    with pytest.raises(ConfigError, match="--layout ondisk needs an IVF factory"):
        build_index(syn_root, factory="Flat", gpu="off", shards=2, layout="ondisk")
    with pytest.raises(ConfigError, match=r"--shards 200 is more than the 100 vectors"):
        check_shard_options(200, "shards", 100)
    with pytest.raises(ConfigError, match="--shards must be between 1 and 1024"):
        build_index(syn_root, gpu="off", shards=0)
    with pytest.raises(ConfigError, match="--layout must be one of shards, ondisk"):
        build_index(syn_root, gpu="off", shards=2, layout="disk")
    assert not syn_root.versions_dir.exists() or not any(syn_root.versions_dir.iterdir())


def test_cli_build_shards_json(syn_root: DataRoot, run_cli) -> None:
    result = run_cli(
        "index",
        "build",
        "--shards",
        "2",
        "--workers",
        "1",
        "--factory",
        "IVF16,Flat",
        "--gpu",
        "off",
        "--data-root",
        syn_root.root,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["shards"] == 2 and out["layout"] == "shards" and out["ntotal"] == N
    manifest = read_manifest(syn_root, out["version"])
    assert manifest["index_type"] == "IDMap,Shards2(IVF16,Flat)"
    bad = run_cli("index", "build", "--shards", "2", "--layout", "ondisk", "--data-root", syn_root.root)
    assert bad.exit_code == 2 and "--layout ondisk needs an IVF factory" in bad.stderr  # ConfigError: usage
