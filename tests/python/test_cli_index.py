"""`indexctl index …` and `indexctl search` through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import pytest
from _index_data import write_code_chunks

from python_ext.config import DataRoot


def _flat(text: str) -> str:
    """Rich wraps long stderr lines; compare messages with whitespace collapsed."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def code_chunks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from python_ext.embed import HashingEmbedder

    root = DataRoot(tmp_path_factory.mktemp("cli") / "data")
    write_code_chunks(root, HashingEmbedder())
    return root.chunks_dir


@pytest.fixture
def root(code_chunks_dir: Path, data_root: DataRoot) -> DataRoot:
    shutil.copytree(code_chunks_dir, data_root.chunks_dir)
    return data_root


def test_help(run_cli) -> None:
    result = run_cli("index", "-h")
    assert result.exit_code == 0
    for cmd in ("build", "tune", "versions", "publish", "rollback", "gc", "info", "export-idmap"):
        assert cmd in result.stdout
    assert run_cli("search", "-h").exit_code == 0


def test_build_tune_search_info(run_cli, root: DataRoot) -> None:
    out = run_cli("index", "build", "--out", root.root, "--factory", "IVF32,Flat", "--gpu", "off", "--json")
    assert out.exit_code == 0, out.stderr
    built = json.loads(out.stdout)
    assert built["published"] is True and built["factory"] == "IVF32,Flat" and built["device"] == "cpu"
    assert built["ntotal"] > 2000 and built["operating_point"] == "nprobe=8"

    out = run_cli("index", "tune", "--out", root.root, "--target-recall", "0.9", "-k", "10", "--json")
    assert out.exit_code == 0, out.stderr
    tuned = json.loads(out.stdout)
    assert tuned["version"] == built["version"] and tuned["target_met"] is True
    assert tuned["recall_at_k"] >= 0.9 and tuned["operating_point"].startswith("nprobe=")

    out = run_cli("index", "info", "--out", root.root, "--json")
    info = json.loads(out.stdout)
    assert info["version"] == built["version"] and info["published"] is True
    assert info["operating_point"] == tuned["operating_point"] and info["tuning"]["target_met"] is True
    assert set(info["files"]) >= {"index.faiss", "faiss_idmap.parquet", "version.json", "tuning.json",
                                  "tuning_frontier.parquet"}  # fmt: skip

    out = run_cli("search", "parse email header address", "-k", "3", "--out", root.root, "--json")
    assert out.exit_code == 0, out.stderr
    hits = json.loads(out.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    # catalog column names, the channel that ranked it and where each fused channel had it
    assert {"rank", "chunk_id", "score", "channel", "channel_ranks", "uri", "start_line", "end_line",
            "location", "language", "symbols", "module_id", "preview"} <= set(hits[0])  # fmt: skip
    assert "source" not in hits[0] and hits[0]["channel"] == "hybrid"
    assert set(hits[0]["channel_ranks"]) <= {"faiss", "bm25"} and hits[0]["channel_ranks"]
    assert hits[0]["uri"].startswith("email/")

    out = run_cli("search", "parse email header address", "-k", "2", "--out", root.root)
    assert out.exit_code == 0 and "email/" in out.stdout and "hybrid" in out.stdout
    assert f"{hits[0]['uri']}:{hits[0]['start_line']}-{hits[0]['end_line']}" in out.stdout


def test_versions_publish_rollback_gc_export(run_cli, root: DataRoot) -> None:
    assert json.loads(run_cli("index", "versions", "--out", root.root, "--json").stdout) == []
    v1 = json.loads(run_cli("index", "build", "--out", root.root, "--factory", "Flat", "--json").stdout)[
        "version"
    ]
    v2 = json.loads(
        run_cli("index", "build", "--out", root.root, "--factory", "HNSW16,Flat", "--json").stdout
    )["version"]
    rows = json.loads(run_cli("index", "versions", "--out", root.root, "--json").stdout)
    assert [(r["version"], r["published"]) for r in rows] == [(v1, False), (v2, True)]

    out = run_cli("index", "rollback", "--out", root.root, "--json")
    no_catalog = {"refreshed": False, "reason": f"no catalog at {root.db_path}"}
    assert out.exit_code == 0
    assert json.loads(out.stdout) == {"published": v1, "previous": v2, "catalog": no_catalog}
    out = run_cli("index", "publish", v2, "--out", root.root, "--json")
    assert json.loads(out.stdout) == {"published": v2, "previous": v1, "catalog": no_catalog}
    assert (root.faiss_dir / "CURRENT").read_text().strip() == v2

    out = run_cli("index", "export-idmap", "--out", root.root, "--json")
    exported = json.loads(out.stdout)
    assert exported["version"] == v2 and exported["rows"] > 2000 and len(exported["idmap_sha256"]) == 64

    out = run_cli("index", "gc", "--keep", "0", "--out", root.root, "--json")
    assert json.loads(out.stdout) == {"removed": [v1], "kept": [v2], "published": v2}


def test_errors(run_cli, root: DataRoot) -> None:
    out = run_cli("search", "anything", "--out", root.root)
    assert out.exit_code == 1
    assert _flat(out.stderr).startswith(
        f"Error: no index version is published ({root.current_file} does not exist) "
        "Hint: build one with `indexctl index build`"
    )
    out = run_cli("index", "publish", "nope", "--out", root.root)
    assert out.exit_code == 1
    assert _flat(out.stderr).startswith(
        f"Error: index version 'nope' not found (or incomplete) under {root.versions_dir}"
    )
    out = run_cli("index", "build", "--out", root.root, "--metric", "cosine")
    assert out.exit_code == 2  # a bad flag value is a usage error
    assert _flat(out.stderr).startswith("Error: --metric must be ip or l2 (got 'cosine')")
    run_cli("index", "build", "--out", root.root, "--factory", "Flat")
    out = run_cli("index", "rollback", "--out", root.root)
    assert out.exit_code == 1 and "no version older than the published" in _flat(out.stderr)
    out = run_cli("search", "x", "--operating-point", "efSearch=8", "--out", root.root)
    assert out.exit_code == 1
    assert _flat(out.stderr).startswith(
        "Error: operating point 'efSearch=8' is not accepted by this IndexFlatIP index: "
        "could not set parameter efSearch Hint: parameters this index accepts: none (and k_factor=N"
    )
    out = run_cli("index", "tune", "--out", root.root, "--target-recall", "1.5")
    assert out.exit_code == 2 and _flat(out.stderr).startswith(
        "Error: --target-recall must be in (0, 1] (got 1.5)"
    )


@pytest.mark.skipif(faiss.get_num_gpus() > 0, reason="a GPU is visible: --gpu on is valid here")
def test_gpu_on_without_gpu(run_cli, root: DataRoot) -> None:
    out = run_cli("index", "build", "--out", root.root, "--gpu", "on")
    assert out.exit_code == 1
    assert _flat(out.stderr).startswith(
        f"Error: --gpu on was given but FAISS sees no GPU (faiss {faiss.__version__}, "
        "faiss.get_num_gpus() = 0) Hint: use --gpu auto or --gpu off"
    )
    assert not root.versions_dir.exists()
