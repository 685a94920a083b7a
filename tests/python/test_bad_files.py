"""Bad files in a data root end in an error naming the file and the fix, never "unexpected …"
(issue 12: about a dozen ended in "unexpected ArrowInvalid/KeyError/AssertionError").

One real data root (tiny_repo ingested with the hashing embedder, a Flat index, queries and a
run) is copied per case; each case damages one file the way a crash, a disk or a person would,
and every command that reads it must fail cleanly (exit 1/2/3), naming that file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from python_ext.cli import main

    root = tmp_path_factory.mktemp("bad-files") / "data"
    tiny = Path(__file__).resolve().parent / "fixtures" / "tiny_repo"
    for args in (
        ["ingest", str(tiny), "--out", str(root), "--embedder", "hashing", "-q"],
        ["index", "build", "--out", str(root), "--factory", "Flat", "-q"],
        ["eval", "queries", "--out", str(root), "-q"],
        ["eval", "run", "--out", str(root), "--channels", "faiss,bm25", "-q"],
    ):
        assert main(args) == 0, args
    return root


def _chunk_file(d: Path) -> Path:
    return sorted((d / "vectors" / "chunks").glob("*.parquet"))[0]


def _version_dir(d: Path) -> Path:
    return d / "faiss" / "versions" / (d / "faiss" / "CURRENT").read_text().strip()


def _rewrite_manifest(d: Path, **changes: object) -> None:
    path = _version_dir(d) / "version.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _garbage(path: Path, data: bytes = b"not a parquet file at all") -> Path:
    path.write_bytes(data)
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _ids_as_text(path: Path) -> Path:
    table = pq.read_table(path)
    ids = pa.array([str(x) for x in table.column("id").to_pylist()])
    pq.write_table(table.set_column(table.schema.get_field_index("id"), "id", ids), path)
    return path


def _bad_dim_metadata(path: Path) -> Path:
    table = pq.read_table(path)
    meta = {**table.schema.metadata, b"codeintel.embedding.dim": b"abc"}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def _index_garbage_with_matching_sha(d: Path) -> Path:
    path = _garbage(_version_dir(d) / "index.faiss")
    _rewrite_manifest(d, index_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def _idmap_garbage_with_matching_sha(d: Path) -> Path:
    path = _garbage(_version_dir(d) / "faiss_idmap.parquet")
    _rewrite_manifest(d, idmap_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def _manifest(content: str) -> Callable[[Path], Path]:
    def damage(d: Path) -> Path:
        path = _version_dir(d) / "version.json"
        path.write_text(content)
        return path

    return damage


def _manifest_types(d: Path) -> Path:
    _rewrite_manifest(d, dim="x", metric=5, ntotal="many")
    return _version_dir(d) / "version.json"


CHUNK_COMMANDS = [
    ("index", "build", "--factory", "Flat", "-q"),
    # the hits come from the version's own chunk metadata; the chunk files give their text
    ("search", "area of a circle", "--content"),
    ("eval", "queries", "-q"),
    ("eval", "run", "-q"),
]

#: case -> (damage returning the damaged file, commands that read it)
CASES: dict[str, tuple[Callable[[Path], Path], list[tuple[str, ...]]]] = {
    "chunks_garbage": (lambda d: _garbage(_chunk_file(d)), CHUNK_COMMANDS),
    "chunks_truncated": (lambda d: _truncate(_chunk_file(d)), CHUNK_COMMANDS),
    "chunks_empty_file": (lambda d: _garbage(_chunk_file(d), b""), CHUNK_COMMANDS),
    "chunks_ids_as_text": (
        lambda d: _ids_as_text(_chunk_file(d)),
        [("search", "area", "--content"), ("eval", "queries", "-q")],
    ),
    "chunks_dim_metadata_not_a_number": (
        lambda d: _bad_dim_metadata(_chunk_file(d)),
        [("index", "build", "-q"), ("eval", "run", "-q")],
    ),
    "queries_garbage": (
        lambda d: _garbage(d / "eval" / "queries.parquet"),
        [("eval", "run", "-q"), ("index", "tune", "-q")],
    ),
    "runs_garbage": (
        lambda d: _garbage(d / "eval" / "runs.parquet"),
        [
            (
                "eval",
                "runs",
            ),
            ("eval", "run", "-q", "--channels", "bm25"),
        ],
    ),
    "manifest_not_an_object": (
        _manifest("[1, 2]"),
        [("index", "info"), ("search", "area"), ("index", "tune", "-q")],
    ),
    "manifest_not_json": (
        _manifest("{not json"),
        [("index", "info"), ("search", "area"), ("index", "export-idmap")],
    ),
    "manifest_empty_object": (
        _manifest("{}"),
        [("index", "info"), ("search", "area"), ("eval", "run", "-q")],
    ),
    "manifest_wrong_types": (
        _manifest_types,
        [("search", "area"), ("index", "tune", "-q"), ("index", "info")],
    ),
    "index_file_garbage": (
        _index_garbage_with_matching_sha,
        [("search", "area"), ("index", "export-idmap"), ("eval", "run", "-q")],
    ),
    "idmap_file_garbage": (_idmap_garbage_with_matching_sha, [("search", "area"), ("eval", "run", "-q")]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_named_never_unexpected(run_cli, base: Path, tmp_path: Path, case: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(base, data, symlinks=True)
    damage, commands = CASES[case]
    damaged = damage(data)
    for command in commands:
        res = run_cli(*command, "--out", data)
        where = f"{case}: indexctl {' '.join(command)}"
        assert res.exit_code in (1, 2, 3), f"{where}: exit {res.exit_code}\n{res.stdout}{res.stderr}"
        assert "unexpected" not in res.stderr and "Traceback" not in res.stderr, f"{where}: {res.stderr}"
        first = res.stderr.splitlines()[0] if res.stderr else ""
        assert first.startswith("Error: "), f"{where}: {res.stderr}"
        named = str(damaged) in res.stderr or (
            damaged.name == "version.json" and str(damaged.parent) in res.stderr
        )
        assert named, f"{where}: the message does not name {damaged}: {res.stderr}"
