"""Hydration: input order, missing ids, include/exclude globs (LIKE and exact), languages, joins."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from python_ext.catalog.hydrate import (
    BASE_COLUMNS,
    close_connections,
    glob_to_like,
    hydrate,
    hydrate_report,
)
from python_ext.config import DataRoot
from python_ext.errors import CatalogError, InputError

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import catalog_data


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    root, planted = catalog_data.shared_catalog(tmp_path_factory.mktemp("shared"))
    yield DataRoot(root).db_path, planted
    close_connections()


@pytest.mark.parametrize(
    ("pattern", "like"),
    [
        ("pkg/*.py", "pkg/%.py"),
        ("pkg/", "pkg/%"),
        ("a?c", "a_c"),
        ("100%_done\\x", "100\\%\\_done\\\\x"),
        ("src/[ab]*.py", None),
    ],
)
def test_glob_to_like(pattern: str, like: str | None) -> None:
    assert glob_to_like(pattern) == like


def test_order_is_the_input_order_and_missing_ids_are_reported(catalog) -> None:
    db, planted = catalog
    ids = [planted.chunk_ids[5], 42, planted.chunk_ids[0], planted.chunk_ids[11], planted.chunk_ids[0]]
    report = hydrate_report(ids, db_path=db)
    assert [r["chunk_id"] for r in report.rows] == [ids[0], ids[2], ids[3]]
    assert report.missing_ids == [42] and report.filtered_ids == []
    assert list(report.rows[0]) == list(BASE_COLUMNS)
    assert hydrate(ids, db_path=db) == report.rows
    assert hydrate([], db_path=db) == []


def test_include_exclude_globs_and_languages(catalog) -> None:
    db, planted = catalog
    ids = planted.chunk_ids
    by_uri = planted.chunks_by_uri

    def uris(**kw) -> list[str]:
        return sorted({r["uri"] for r in hydrate(ids, db_path=db, **kw)})

    assert uris(include=["pkg/"]) == ["pkg/core.py", "pkg/sub/util.py", "pkg/subway/road.go"]
    assert uris(include=["pkg/*.py"]) == ["pkg/core.py", "pkg/sub/util.py"]  # fnmatch: * crosses /
    assert uris(include=["pkg/sub/*"], exclude=["*.go"]) == ["pkg/sub/util.py"]
    assert uris(include=["*/sub[wx]*/*"]) == ["pkg/subway/road.go"]  # exact (fnmatch) path
    assert uris(exclude=["[ad]*"]) == ["pkg/core.py", "pkg/sub/util.py", "pkg/subway/road.go"]
    assert uris(languages=["GO", "markdown"]) == ["docs/guide.md", "pkg/subway/road.go"]
    assert uris(include=["app.py", "*.md"]) == ["app.py", "docs/guide.md"]
    report = hydrate_report(ids, db_path=db, include=["docs/"])
    assert sorted(report.filtered_ids) == sorted(set(ids) - set(by_uri["docs/guide.md"]))
    assert report.missing_ids == []
    # a literal % or _ in a pattern matches only itself
    assert uris(include=["pkg/%"]) == []


def test_optional_joins(catalog) -> None:
    db, planted = catalog
    util = planted.chunks_by_uri["pkg/sub/util.py"][0]
    docs = planted.chunks_by_uri["docs/guide.md"][0]
    rows = hydrate([util, docs], db_path=db, with_modules=True, with_symbols=True, with_faiss_row=True)
    assert rows[0]["module_id"] == "pkg.sub" and rows[0]["module_prefix"] == "pkg/sub"
    assert rows[1]["module_id"] is None
    assert rows[0]["symbols"] == ["util_f0"]
    assert rows[0]["scip_symbols"] == [
        {
            "name": "util_f0",
            "symbol": "scip-python python fixture 0.1 `pkg/sub/util.py`/util_f0().",
            "kind": "function",
        }
    ]
    assert rows[1]["scip_symbols"] == []
    assert rows[0]["faiss_id"] == util and rows[0]["build_version"] == catalog_data.VERSION
    assert isinstance(rows[0]["faiss_row"], int)


def test_bad_input_and_missing_catalog(catalog, tmp_path: Path) -> None:
    db, _ = catalog
    with pytest.raises(InputError, match=r"chunk id at position 1 is not an integer: 'x'"):
        hydrate([1, "x"], db_path=db)
    with pytest.raises(InputError, match="glob pattern must be a non-empty string"):
        hydrate([1], db_path=db, include=[""])
    with pytest.raises(CatalogError) as info:
        hydrate([1], db_path=tmp_path / "none.duckdb")
    assert info.value.message == f"no catalog at {tmp_path / 'none.duckdb'}"
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(CatalogError, match=r"is not a codeintel catalog \(no main.v_chunks\)"):
        hydrate([1], db_path=other)


def test_connection_follows_an_atomic_swap(catalog, tmp_path: Path) -> None:
    db, planted = catalog
    copy = tmp_path / "codeintel.duckdb"
    import shutil

    shutil.copyfile(db, copy)
    assert len(hydrate(planted.chunk_ids, db_path=copy)) == 12
    # replace the file the way refresh does (new inode) with a catalog missing one chunk
    staged = tmp_path / "staged.duckdb"
    shutil.copyfile(db, staged)
    con = duckdb.connect(str(staged))
    con.execute("delete from staging.stg_chunks where chunk_id = ?", [planted.chunk_ids[0]])
    con.close()
    import os

    os.replace(staged, copy)
    assert len(hydrate(planted.chunk_ids, db_path=copy)) == 11


FILTERS = [
    {},
    {"include": ["pkg/"]},
    {"include": ["pkg/*.py"]},
    {"include": ["pkg/sub/*"], "exclude": ["*.go"]},
    {"include": ["*/sub[wx]*/*"]},
    {"exclude": ["[ad]*"]},
    {"languages": ["GO", "markdown"]},
    {"include": ["app.py", "*.md"], "languages": ["python"]},
    {"include": ["pkg/%"]},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_hydration_index_and_sql_give_the_same_answer(catalog, monkeypatch, filters) -> None:
    """refresh writes the memory-mapped sidecar; it must agree with the SQL path exactly."""
    import python_ext.catalog.hydrate as hydrate_module
    from python_ext.catalog.hydration_index import sidecar_path

    db, planted = catalog
    assert sidecar_path(db).is_file()
    assert hydrate_module._hydration_index(db) is not None
    ids = [*planted.chunk_ids[::-1], 42, planted.chunk_ids[3]]
    fast = hydrate_report(ids, db_path=db, **filters)
    monkeypatch.setattr(hydrate_module, "_hydration_index", lambda path: None)
    slow = hydrate_report(ids, db_path=db, **filters)
    assert fast.to_dict() == slow.to_dict()


def test_hydration_index_is_ignored_once_the_catalog_changes(catalog, tmp_path: Path) -> None:
    import shutil

    import python_ext.catalog.hydrate as hydrate_module
    from python_ext.catalog.hydration_index import (
        open_hydration_index,
        sidecar_path,
        write_hydration_index,
    )

    db, planted = catalog
    copy = tmp_path / "codeintel.duckdb"
    shutil.copy2(db, copy)
    shutil.copy2(sidecar_path(db), sidecar_path(copy))
    # the copied sidecar describes another file (other inode): not trusted
    assert open_hydration_index(copy) is None
    assert write_hydration_index(copy, BASE_COLUMNS) == sidecar_path(copy)
    assert hydrate_module._hydration_index(copy) is not None
    assert len(hydrate(planted.chunk_ids, db_path=copy)) == 12
    # changed in place (as a plain `dbt build` would): the cached sidecar is dropped
    con = duckdb.connect(str(copy))
    con.execute("delete from staging.stg_chunks where chunk_id = ?", [planted.chunk_ids[0]])
    con.close()
    assert hydrate_module._hydration_index(copy) is None
    report = hydrate_report(planted.chunk_ids, db_path=copy)
    assert len(report.rows) == 11 and report.missing_ids == [planted.chunk_ids[0]]
