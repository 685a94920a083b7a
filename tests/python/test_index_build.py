"""Index build: round trips on real code embeddings, id map agreement, input validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _index_data import chunk_table, clustered_vectors, write_code_chunks, write_synthetic_chunks

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import FAISS_IDMAP_SCHEMA, EmbeddingInfo
from python_ext.errors import ConfigError, ContractError, GpuUnavailableError, StaleCatalogWarning
from python_ext.index.build import build_index
from python_ext.index.factory import choose_factory
from python_ext.index.gpu import gpu_count
from python_ext.index.idmap import check_idmap, index_ids, read_idmap
from python_ext.index.load import load_index
from python_ext.index.versions import read_manifest
from python_ext.search import search_text


@pytest.fixture(scope="module")
def code_chunks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real code (python_ext + stdlib packages) embedded with the lexical hashing embedder."""
    from python_ext.embed import HashingEmbedder

    root = DataRoot(tmp_path_factory.mktemp("code") / "data")
    n = write_code_chunks(root, HashingEmbedder())
    assert n > 2000
    return root.chunks_dir


@pytest.fixture
def code_root(code_chunks_dir: Path, data_root: DataRoot) -> DataRoot:
    shutil.copytree(code_chunks_dir, data_root.chunks_dir)
    return data_root


def _all_vectors(root: DataRoot) -> tuple[np.ndarray, np.ndarray]:
    parts = list(chunkstore.iter_embedding_batches(root))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.parametrize(
    ("factory", "op", "min_self_hit"),
    [("Flat", "", 1.0), ("IVF32,Flat", "nprobe=8", 0.97), ("HNSW32,Flat", "efSearch=64", 0.97)],
    ids=["flat", "ivf", "hnsw"],
)
def test_round_trip_real_embeddings(code_root: DataRoot, factory: str, op: str, min_self_hit: float) -> None:
    ids, x = _all_vectors(code_root)
    result = build_index(code_root, factory=factory, metric="ip", gpu="off")
    assert result.published and result.manifest["factory"] == factory
    loaded = load_index(code_root, operating_point=op)
    assert loaded.version == result.version and loaded.index.ntotal == len(ids)
    # the id map agrees with the index: ntotal rows, every id once, in add order
    table = read_idmap(loaded.path / "faiss_idmap.parquet")
    assert table.schema.equals(FAISS_IDMAP_SCHEMA)
    assert table.column("faiss_row").to_pylist() == list(range(len(ids)))
    assert np.array_equal(table.column("faiss_id").to_numpy(), ids)
    assert np.array_equal(table.column("chunk_id").to_numpy(), ids)
    assert len(set(table.column("faiss_id").to_pylist())) == len(ids)
    assert set(table.column("build_version").to_pylist()) == {result.version}
    # reconstruct by chunk id returns the stored vector (raw vectors in all three families)
    for row in (0, len(ids) // 2, len(ids) - 1):
        assert np.allclose(loaded.index.reconstruct(int(ids[row])), x[row], atol=1e-6)
    # searching each sampled chunk's own vector returns its chunk id first
    rows = np.random.default_rng(3).choice(len(ids), 300, replace=False)
    _scores, found = loaded.index.search(x[rows], 5)
    self_hit = np.mean(found[:, 0] == ids[rows])
    assert self_hit >= min_self_hit, self_hit
    assert np.all(np.isin(found[found >= 0], ids))


def test_search_text_returns_hydrated_chunks(code_root: DataRoot) -> None:
    build_index(code_root, factory="Flat", gpu="off")
    hits = search_text(code_root, "atomic_symlink os.replace fsync tmp", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].score >= hits[-1].score
    assert hits[0].uri == "python_ext/atomic.py"
    assert hits[0].start_line >= 1 and hits[0].end_line >= hits[0].start_line
    assert hits[0].preview and len(hits[0].preview) <= 240


def test_search_falls_back_to_parquet_without_a_catalog(code_root: DataRoot) -> None:
    import duckdb

    build_index(code_root, factory="Flat", gpu="off")
    code_root.db_path.parent.mkdir(parents=True)
    duckdb.connect(str(code_root.db_path)).close()  # a database that is not a catalog
    with pytest.warns(StaleCatalogWarning, match="records no provenance"):
        hits = search_text(code_root, "atomic_symlink os.replace fsync tmp", k=2)
    assert hits[0].uri == "python_ext/atomic.py" and hits[0].start_line >= 1


def test_auto_factory_rules() -> None:
    assert choose_factory(5_000, 384).factory == "Flat"
    assert choose_factory(100_000, 384).factory == "IVF2048,Flat"
    assert choose_factory(2_000_000, 128).factory == "IVF4096_HNSW32,Flat"
    assert choose_factory(2_000_000, 128, memory_budget=1 << 29).factory == "IVF4096_HNSW32,SQ8"
    small_ivf = choose_factory(60_000, 32)
    assert small_ivf.factory == "IVF1024,Flat" and "4-16*sqrt(N)" in small_ivf.reason


def test_auto_build_medium_corpus_uses_ivf(data_root: DataRoot) -> None:
    write_synthetic_chunks(data_root, 60_000, 16)
    result = build_index(data_root, gpu="off")
    manifest = read_manifest(data_root, result.version)
    assert manifest["factory"] == "IVF1024,Flat"
    assert manifest["train_size"] == 60_000 and manifest["operating_point"] == "nprobe=32"
    assert manifest["ntotal"] == 60_000 and manifest["device"] == "cpu"
    loaded = load_index(data_root)
    check_idmap(loaded.index, read_idmap(loaded.path / "faiss_idmap.parquet"))


def test_manifest_fields(code_root: DataRoot) -> None:
    result = build_index(code_root, factory="HNSW16,Flat", gpu="off", publish=False)
    m = read_manifest(code_root, result.version)
    for key in (
        "version", "created_at", "index_name", "factory", "metric", "dim", "ntotal", "operating_point",
        "idmap_sha256", "chunks_fingerprint", "embedding_model", "device", "build_seconds", "tuning",
    ):  # fmt: skip
        assert key in m, key
    assert m["chunks_fingerprint"] == chunkstore.chunks_fingerprint(code_root)
    assert m["embedding_model"] == "hashing-v1-d256" and m["dim"] == 256 and m["tuning"] is None
    assert not code_root.current_file.exists(), "--no-publish must not flip CURRENT"


def test_l2_metric_accepts_unnormalized(data_root: DataRoot) -> None:
    x = clustered_vectors(500, 8, normalize=False) * 3
    info = EmbeddingInfo(model="synthetic-d8", dim=8, normalized=False, kind="precomputed")
    chunkstore.replace_chunk_set(data_root, chunk_table(x, info))
    result = build_index(data_root, metric="l2", gpu="off")
    loaded = load_index(data_root)
    d, _i = loaded.index.search(x[:3], 1)
    assert result.manifest["metric"] == "l2" and np.allclose(d[:, 0], 0, atol=1e-4)
    assert faiss.downcast_index(loaded.inner).metric_type == faiss.METRIC_L2


# --- refused inputs ---------------------------------------------------------------------------


def test_ip_refuses_unnormalized_vectors(data_root: DataRoot) -> None:
    x = clustered_vectors(50, 8, normalize=False) * 3
    chunkstore.replace_chunk_set(data_root, chunk_table(x, EmbeddingInfo("m", 8, False, "precomputed")))
    path = data_root.chunks_dir / "chunks-00000.parquet"
    first = pq.read_table(path, columns=["id", "embedding"])
    first_id = first.column("id")[0].as_py()
    norm = float(np.linalg.norm(first.column("embedding")[0].as_py()))
    with pytest.raises(ContractError) as err:
        build_index(data_root, metric="ip", gpu="off")
    assert err.value.message == (
        f"{path}: row 0 (chunk id {first_id}): embedding norm {norm:.4f} is not 1; "
        "--metric ip needs L2-normalized vectors"
    )
    assert err.value.hint == "use --metric l2, or embed with normalization"
    assert not data_root.versions_dir.exists() or not any(data_root.versions_dir.iterdir())


def _write_files(root: DataRoot, table: pa.Table, rows_per_file: int) -> None:
    """The chunk set as consecutive files of ``rows_per_file`` rows (as an external writer might
    lay it out), so the tests know which file and row each chunk is in."""
    root.chunks_dir.mkdir(parents=True, exist_ok=True)
    for i in range(0, table.num_rows, rows_per_file):
        pq.write_table(
            table.slice(i, rows_per_file), root.chunks_dir / f"chunks-{i // rows_per_file:05d}.parquet"
        )


def test_nan_vector_refused_with_file_and_row(data_root: DataRoot) -> None:
    x = clustered_vectors(300, 8)
    x[217, 3] = np.nan
    table = chunk_table(x, EmbeddingInfo("m", 8, True, "precomputed"))
    _write_files(data_root, table, rows_per_file=100)
    path = data_root.chunks_dir / "chunks-00002.parquet"
    with pytest.raises(ContractError) as err:
        build_index(data_root, gpu="off")
    assert err.value.message == (
        f"{path}: row 17 (chunk id {table.column('id')[217].as_py()}): embedding contains NaN or inf"
    )
    assert not data_root.current_file.exists()
    assert not data_root.versions_dir.exists()


def test_duplicate_ids_refused_with_both_rows(data_root: DataRoot) -> None:
    x = clustered_vectors(200, 8)
    table = chunk_table(x, EmbeddingInfo("m", 8, True, "precomputed"))
    ids = table.column("id").to_pylist()
    ids[150] = ids[40]
    table = table.set_column(0, table.schema.field("id"), pa.array(ids, pa.int64()))
    _write_files(data_root, table, rows_per_file=100)
    f0, f1 = (data_root.chunks_dir / f"chunks-0000{i}.parquet" for i in (0, 1))
    with pytest.raises(ContractError) as err:
        build_index(data_root, gpu="off")
    assert err.value.message == f"duplicate chunk id {ids[40]}: {f0}: row 40 and {f1}: row 50"


def test_mixed_dims_refused_with_file_and_row(data_root: DataRoot) -> None:
    x = clustered_vectors(20, 8)
    info = EmbeddingInfo("m", 8, True, "precomputed")
    table = chunk_table(x, info)
    rows = [list(map(float, v)) for v in x]
    rows[12] = rows[12][:6]
    emb = pa.array(rows, pa.list_(pa.float32()))
    table = table.set_column(table.schema.get_field_index("embedding"), pa.field("embedding", emb.type), emb)
    data_root.chunks_dir.mkdir(parents=True)
    path = data_root.chunks_dir / "chunks-00000.parquet"
    pq.write_table(table.replace_schema_metadata(info.to_metadata()), path)
    with pytest.raises(ContractError) as err:
        build_index(data_root, gpu="off")
    assert err.value.message == (f"{path}: row 12: embedding has 6 dims, expected 8 (mixed embedding widths)")


def test_bad_factory_string(code_root: DataRoot) -> None:
    with pytest.raises(ConfigError) as err:
        build_index(code_root, factory="IVFbogus", gpu="off")
    assert err.value.message.startswith("--factory 'IVFbogus' is not a valid FAISS factory string for d=256")


@pytest.mark.skipif(gpu_count() > 0, reason="a GPU is visible: --gpu on is valid here")
def test_gpu_on_without_gpu_is_refused(code_root: DataRoot) -> None:
    with pytest.raises(GpuUnavailableError) as err:
        build_index(code_root, gpu="on")
    assert err.value.message == (
        f"--gpu on was given but FAISS sees no GPU (faiss {faiss.__version__}, faiss.get_num_gpus() = 0)"
    )
    assert "CODEINTEL_FAISS=gpu bash scripts/bootstrap.sh" in err.value.hint
    assert not code_root.versions_dir.exists()


def test_index_ids_requires_idmap() -> None:
    from python_ext.errors import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="not an IndexIDMap2"):
        index_ids(faiss.IndexFlatIP(4))


def test_device_add_path_rebuilds_the_id_map(code_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU add path (add without ids on the device, copy back, attach ids) run with a CPU
    clone standing in for the device copy: the result must equal a plain IndexIDMap2 build."""
    from python_ext.index import build as build_mod
    from python_ext.index.gpu import Device

    ids, x = _all_vectors(code_root)
    monkeypatch.setattr(build_mod, "resolve_device", lambda mode: Device(True, "cpu-clone"))
    monkeypatch.setattr(build_mod, "attach_gpu_clustering", lambda *a: None)
    monkeypatch.setattr(build_mod, "to_gpu", lambda index: faiss.clone_index(index))
    monkeypatch.setattr(build_mod, "to_cpu", lambda index: index)
    result = build_index(code_root, factory="IVF32,Flat", gpu="on")
    assert result.manifest["device"] == "cpu-clone" and result.manifest["gpu_steps"] == ["train", "add"]
    loaded = load_index(code_root, operating_point="nprobe=32")
    assert np.array_equal(index_ids(loaded.index), ids)
    assert np.allclose(loaded.index.reconstruct(int(ids[100])), x[100], atol=1e-6)
    _, found = loaded.index.search(x[:50], 1)
    assert np.array_equal(found[:, 0], ids[:50])
