"""Check chunks Parquet against its contract and report every problem.

The contract is docs/contracts.md: its conventions and the chunks schema.

:func:`validate_chunks` accepts one Parquet file, a folder of them, or a data root; it never
stops at the first problem. Each :class:`Problem` names the file, the 0-based row (None for a
file-level problem) and the column. Checks:

* the file is readable Parquet and has every contract column with the contract's type
  (``embedding`` may be a fixed-size or plain list of float32);
* the ``codeintel.embedding.*`` metadata is present, its ``kind`` is known and its ``dim``
  equals the width of every embedding row;
* embeddings: no nulls, NaN or ±inf, no all-zero vector, unit L2 norm (±1e-3) when the metadata
  says ``normalized``;
* ids: not null, non-negative, unique (across all files checked together) and equal to
  ``chunk_id(uri, start_byte, end_byte)``;
* positions: ``start_line >= 1``, ``end_line >= start_line``, ``0 <= start_byte < end_byte``,
  the UTF-8 length of ``content`` equals ``end_byte - start_byte``, and the content's newlines
  match ``end_line - start_line``;
* ``content_hash`` equals xxh64 of ``content``; ``preview`` has at most 240 characters; ``uri``
  is a relative POSIX path; ``lang`` is not empty; ``symbols`` is not null; no nulls in any
  required column. The optional columns (``enclosing_symbol``, ``embed_length``,
  ``truncated``) may be absent or null; when present they must have the contract's type.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext.config import DataRoot
from python_ext.contracts import (
    CHUNK_BASE_FIELDS,
    CHUNK_OPTIONAL_FIELDS,
    CHUNK_TAIL_FIELDS,
    EMBEDDING_KINDS,
    PREVIEW_MAX_CHARS,
    EmbeddingInfo,
)
from python_ext.errors import InputError
from python_ext.ids import chunk_id, content_hash

NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Problem:
    """One contract violation.

    :param file: the Parquet file.
    :param row: 0-based row inside that file, or None for a file-level problem.
    :param column: the column concerned, or None.
    :param message: what is wrong.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f" column {self.column}"
        return f"{where}: {self.message}"


def chunk_parquet_files(path: str | os.PathLike[str]) -> list[Path]:
    """The Parquet files to check for ``path``: the file itself, a folder's ``*.parquet``
    (``.tmp-*`` ignored), or a data root's ``vectors/chunks/*.parquet``.

    :raises InputError: when ``path`` does not exist or holds no Parquet file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file or folder: {p}", hint="pass a chunks .parquet file or a folder")
    if p.is_file():
        return [p]
    folder = p
    if not any(p.glob("*.parquet")) and DataRoot(p).chunks_dir.is_dir():
        folder = DataRoot(p).chunks_dir
    files = sorted(f for f in folder.glob("*.parquet") if not f.name.startswith("."))
    if not files:
        raise InputError(
            f"no .parquet files in {p}", hint="pass a chunks .parquet file, a chunks folder or a data root"
        )
    return files


def _type_ok(expected: pa.DataType, actual: pa.DataType) -> bool:
    if expected == actual:
        return True
    if pa.types.is_list(expected):
        return (pa.types.is_list(actual) or pa.types.is_large_list(actual)) and actual.value_type == (
            expected.value_type
        )
    return pa.types.is_string(expected) and pa.types.is_large_string(actual)


def _embedding_info(metadata: dict[bytes, bytes] | None) -> tuple[EmbeddingInfo | None, str | None]:
    """The embedding metadata, or the problem with it (a dim that is not a number, bad UTF-8)."""
    try:
        return EmbeddingInfo.from_metadata(metadata), None
    except (ValueError, KeyError) as exc:
        return None, f"unreadable embedding metadata (codeintel.embedding.model/dim/...): {exc}"


def validate_table(
    table: pa.Table, file: str, seen_ids: dict[int, tuple[str, int]] | None = None
) -> list[Problem]:
    """Check one in-memory chunks table (see the module docstring for the checks).

    :param table: the table, with its schema metadata.
    :param file: the name used in problems.
    :param seen_ids: ids already seen in other files (updated in place) for cross-file
        duplicate detection.
    """
    problems: list[Problem] = []

    def add(row: int | None, column: str | None, message: str) -> None:
        problems.append(Problem(file, row, column, message))

    seen = seen_ids if seen_ids is not None else {}
    names = set(table.column_names)
    fields = [*CHUNK_BASE_FIELDS, pa.field("embedding", pa.list_(pa.float32())), *CHUNK_TAIL_FIELDS]
    present: set[str] = set()
    for f in fields:
        if f.name not in names:
            add(None, f.name, "missing column")
            continue
        actual = table.schema.field(f.name).type
        if f.name == "embedding":
            is_list = pa.types.is_fixed_size_list(actual) or pa.types.is_list(actual)
            ok = (is_list or pa.types.is_large_list(actual)) and actual.value_type == pa.float32()
            if not ok:
                add(None, "embedding", f"type {actual}, expected a list of float32")
                continue
        elif not _type_ok(f.type, actual):
            add(None, f.name, f"type {actual}, expected {f.type}")
            continue
        present.add(f.name)
    for f in CHUNK_OPTIONAL_FIELDS:  # optional: may be absent, nulls allowed, type checked
        if f.name in names and not _type_ok(f.type, table.schema.field(f.name).type):
            add(None, f.name, f"type {table.schema.field(f.name).type}, expected {f.type}")

    cols = {name: table.column(name).to_pylist() for name in present if name != "embedding"}
    for name, values in cols.items():
        for row, value in enumerate(values):
            if value is None:
                add(row, name, "null value")

    info, bad_meta = _embedding_info(table.schema.metadata)
    if bad_meta:
        add(None, "embedding", bad_meta)
    elif info is None:
        add(None, "embedding", "no embedding metadata (codeintel.embedding.model/dim) in the Parquet schema")
    elif info.kind not in EMBEDDING_KINDS:
        add(None, "embedding", f"unknown embedding kind {info.kind!r} (expected one of {EMBEDDING_KINDS})")
    if "embedding" in present:
        problems.extend(_check_embeddings(table.column("embedding"), info, file))

    ids = cols.get("id")
    if ids is not None:
        uris, sb, eb = cols.get("uri"), cols.get("start_byte"), cols.get("end_byte")
        for row, value in enumerate(ids):
            if value is None:
                continue
            if value < 0:
                add(row, "id", f"negative id {value}")
            if value in seen:
                other_file, other_row = seen[value]
                where = f"row {other_row}" if other_file == file else f"{other_file} row {other_row}"
                add(row, "id", f"duplicate id {value} (also at {where})")
            else:
                seen[value] = (file, row)
            if uris is not None and sb is not None and eb is not None:
                u, s, e = uris[row], sb[row], eb[row]
                if u is not None and s is not None and e is not None and chunk_id(u, s, e) != value:
                    add(row, "id", f"id {value} != chunk_id(uri, start_byte, end_byte) = {chunk_id(u, s, e)}")
    _check_rows(cols, add)
    return problems


def _check_rows(cols: dict[str, list], add) -> None:  # type: ignore[no-untyped-def]
    n = len(next(iter(cols.values()))) if cols else 0
    get = cols.get
    for row in range(n):
        sl, el = (get("start_line") or [None] * n)[row], (get("end_line") or [None] * n)[row]
        sb, eb = (get("start_byte") or [None] * n)[row], (get("end_byte") or [None] * n)[row]
        content = (get("content") or [None] * n)[row]
        if sl is not None and sl < 1:
            add(row, "start_line", f"start_line {sl} < 1 (lines are 1-based)")
        if sl is not None and el is not None and el < sl:
            add(row, "end_line", f"end_line {el} < start_line {sl}")
        if sb is not None and sb < 0:
            add(row, "start_byte", f"start_byte {sb} < 0")
        if sb is not None and eb is not None and eb <= sb:
            add(row, "end_byte", f"end_byte {eb} <= start_byte {sb}")
        if content is not None:
            size = len(content.encode("utf-8"))
            if sb is not None and eb is not None and eb > sb and size != eb - sb:
                add(row, "content", f"content is {size} UTF-8 bytes, end_byte - start_byte = {eb - sb}")
            if sl is not None and el is not None and el >= sl:
                newlines = content.count("\n") - (1 if content.endswith("\n") else 0)
                if newlines != el - sl:
                    spans = f"content spans {newlines + 1} lines, start_line..end_line = {el - sl + 1}"
                    add(row, "end_line", spans)
            h = (get("content_hash") or [None] * n)[row]
            if h is not None and h != content_hash(content):
                add(row, "content_hash", f"content_hash {h} != xxh64(content) {content_hash(content)}")
        preview = (get("preview") or [None] * n)[row]
        if preview is not None and len(preview) > PREVIEW_MAX_CHARS:
            add(row, "preview", f"preview has {len(preview)} characters (max {PREVIEW_MAX_CHARS})")
        uri = (get("uri") or [None] * n)[row]
        if uri is not None and (not uri or uri.startswith("/") or "\\" in uri or ".." in uri.split("/")):
            add(row, "uri", f"uri {uri!r} is not a relative POSIX path")
        lang = (get("lang") or [None] * n)[row]
        if lang is not None and not lang.strip():
            add(row, "lang", "empty lang")


def _check_embeddings(column: pa.ChunkedArray, info: EmbeddingInfo | None, file: str) -> list[Problem]:
    problems: list[Problem] = []
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(arr)
    if n == 0:
        if info is not None and pa.types.is_fixed_size_list(arr.type) and arr.type.list_size != info.dim:
            problems.append(
                Problem(file, None, "embedding", f"width {arr.type.list_size} != metadata dim {info.dim}")
            )
        return problems
    valid = np.ones(n, dtype=bool)
    if arr.null_count:
        nulls = np.asarray(arr.is_null())
        for row in np.flatnonzero(nulls):
            problems.append(Problem(file, int(row), "embedding", "null embedding"))
        valid &= ~nulls
    if pa.types.is_fixed_size_list(arr.type):
        lengths = np.full(n, arr.type.list_size)
    else:
        lengths = np.diff(np.asarray(arr.offsets))
    if info is not None:
        expected = info.dim
    else:  # no metadata: the most common width
        expected = int(np.bincount(lengths[valid]).argmax()) if valid.any() else 0
    for row in np.flatnonzero(valid & (lengths != expected)):
        message = f"embedding has {int(lengths[row])} values, expected dim {expected}"
        problems.append(Problem(file, int(row), "embedding", message))
    valid &= lengths == expected
    if not valid.any() or expected == 0:
        return problems
    values = arr.flatten().to_numpy(zero_copy_only=False)
    if pa.types.is_fixed_size_list(arr.type):
        matrix = values.reshape(n, expected)
        rows = np.flatnonzero(valid)
        matrix = matrix[rows]
    else:
        offsets = np.asarray(arr.offsets)
        rows = np.flatnonzero(valid)
        base = int(offsets[0])
        matrix = np.stack([values[offsets[r] - base : offsets[r] - base + expected] for r in rows])
    finite = np.isfinite(matrix)
    for i in np.flatnonzero(~finite.all(axis=1)):
        kinds = []
        if np.isnan(matrix[i]).any():
            kinds.append("NaN")
        if np.isinf(matrix[i]).any():
            kinds.append("inf")
        problems.append(Problem(file, int(rows[i]), "embedding", f"embedding contains {'/'.join(kinds)}"))
    ok = finite.all(axis=1)
    norms = np.linalg.norm(np.where(finite, matrix, 0), axis=1)
    for i in np.flatnonzero(ok & (norms == 0)):
        problems.append(Problem(file, int(rows[i]), "embedding", "zero vector"))
    if info is not None and info.normalized:
        off = ok & (norms > 0) & (np.abs(norms - 1.0) > NORM_TOLERANCE)
        for i in np.flatnonzero(off):
            problems.append(
                Problem(
                    file, int(rows[i]), "embedding", f"L2 norm {norms[i]:.4f}, metadata says normalized (1.0)"
                )
            )
    return problems


def validate_chunks(path: str | os.PathLike[str]) -> list[Problem]:
    """Validate a chunks Parquet file, a folder of them, or a data root; return every problem.

    Files checked together must also agree on their embedding metadata, and ids must be unique
    across them.

    :param path: a ``.parquet`` file, a folder, or a data root.
    :returns: the problems, in file then row order (empty when everything is valid).
    :raises InputError: when ``path`` does not exist or holds no Parquet file.
    """
    problems: list[Problem] = []
    seen: dict[int, tuple[str, int]] = {}
    first_info: tuple[str, EmbeddingInfo] | None = None
    for file in chunk_parquet_files(path):
        name = str(file)
        try:
            table = pq.read_table(file)
        except (OSError, pa.ArrowException) as exc:
            problems.append(Problem(name, None, None, f"not a readable Parquet file: {exc}"))
            continue
        found = validate_table(table, name, seen)
        problems.extend(sorted(found, key=lambda p: -1 if p.row is None else p.row))
        info, _ = _embedding_info(table.schema.metadata)
        if info is not None:
            if first_info is None:
                first_info = (name, info)
            elif info != first_info[1]:
                problems.append(
                    Problem(
                        name,
                        None,
                        "embedding",
                        f"embedding metadata {info.to_json()} differs from {first_info[0]} "
                        f"({first_info[1].to_json()})",
                    )
                )
    return problems
