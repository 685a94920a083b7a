"""Operating points and k are checked before FAISS sees them (issue 12).

Reproductions: `efSearch=0`, `nan` and `1e12` silently gave wrong results (FAISS casts the value
to an int: 1e12 wrapped to -2147483648 and both returned -1 labels); `-k 1099511627776` tried to
allocate 4 TiB.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest
from _index_data import write_synthetic_chunks

from python_ext.config import DataRoot
from python_ext.errors import ConfigError, OperatingPointError
from python_ext.index.build import build_index
from python_ext.index.load import apply_operating_point, load_index, parse_operating_point


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DataRoot]:
    out = {}
    for factory in ("HNSW16,Flat", "IVF16,Flat"):
        root = DataRoot(tmp_path_factory.mktemp(factory.split(",")[0]) / "data")
        write_synthetic_chunks(root, 1500, 16)
        build_index(root, factory=factory, gpu="off")
        out[factory] = root
    return out


@pytest.mark.parametrize(
    ("factory", "point", "message"),
    [
        ("HNSW16,Flat", "efSearch=0", "efSearch must be a whole number from 1 to 65536 (got 0)"),
        ("HNSW16,Flat", "efSearch=1e12", "efSearch must be a whole number from 1 to 65536 (got 1e12)"),
        ("HNSW16,Flat", "efSearch=nan", "efSearch=nan is not a finite number"),
        ("HNSW16,Flat", "efSearch=inf", "efSearch=inf is not a finite number"),
        ("HNSW16,Flat", "efSearch=12.5", "efSearch must be a whole number"),
        ("IVF16,Flat", "nprobe=0", "nprobe must be a whole number from 1"),
        ("IVF16,Flat", "nprobe=1e12", "nprobe must be a whole number from 1"),
        ("IVF16,Flat", "nprobe=17", "nprobe=17 is more than the 16 lists of this IndexIVFFlat index"),
        ("IVF16,Flat", "nprobe=-3", "nprobe must be a whole number from 1"),
    ],
)
def test_bad_operating_points_are_refused(
    roots: dict[str, DataRoot], factory: str, point: str, message: str
) -> None:
    with pytest.raises(OperatingPointError) as err:
        load_index(roots[factory], operating_point=point)
    assert message in err.value.message


def test_valid_points_still_apply(roots: dict[str, DataRoot]) -> None:
    hnsw = load_index(roots["HNSW16,Flat"], operating_point="efSearch=128")
    assert faiss.downcast_index(hnsw.inner).hnsw.efSearch == 128
    ivf = load_index(roots["IVF16,Flat"], operating_point="nprobe=16")
    assert faiss.extract_index_ivf(ivf.inner).nprobe == 16
    assert parse_operating_point("nprobe=4,k_factor_rf=2.5") == [("nprobe", 4.0), ("k_factor_rf", 2.5)]


def test_what_faiss_did_with_those_values_unchecked() -> None:
    """The bug the checks prevent, shown on FAISS itself: efSearch=0 and 1e12 lose neighbours."""
    x = np.random.default_rng(0).standard_normal((500, 8)).astype("float32")
    index = faiss.IndexHNSWFlat(8, 16)
    index.add(x)
    for value in ("0", "1e12"):
        faiss.ParameterSpace().set_index_parameters(index, f"efSearch={value}")
        _, labels = index.search(x[:5], 5)
        assert (labels == -1).any()  # wrong results, no error
        with pytest.raises(OperatingPointError):
            apply_operating_point(index, f"efSearch={value}")


def test_huge_k_is_a_usage_error(run_cli, tmp_path: Path, tiny_repo: Path) -> None:
    root = tmp_path / "data"
    assert run_cli("ingest", tiny_repo, "--out", root, "--embedder", "hashing", "-q").exit_code == 0
    assert run_cli("index", "build", "--out", root, "--factory", "HNSW16,Flat", "-q").exit_code == 0
    res = run_cli("search", "config", "-k", "1099511627776", "--out", root)
    assert res.exit_code == 2 and "-k 1099511627776 is " in res.stderr and " 26 " in res.stderr
    res = run_cli("search", "config", "-k", "0", "--out", root)
    assert res.exit_code == 2 and "-k must be >= 1 (got 0)" in res.stderr
    res = run_cli("search", "config", "--operating-point", "efSearch=0", "--out", root)
    assert res.exit_code == 1 and "efSearch must be a whole number from 1 to 65536 (got 0)" in res.stderr
    res = run_cli("index", "tune", "-k", "1099511627776", "--out", root)
    assert res.exit_code == 2 and "-k 1099511627776 is " in res.stderr and " 26 " in res.stderr
    res = run_cli("search", "config", "-k", "3", "--out", root, "--json")
    assert res.exit_code == 0, res.stderr


def test_k_bound_in_the_library(roots: dict[str, DataRoot]) -> None:
    from python_ext.index.tune import tune_version

    with pytest.raises(ConfigError, match=r"-k 5000 is more than the 1500 vectors"):
        tune_version(roots["IVF16,Flat"], k=5000)
