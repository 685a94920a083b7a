"""Read chunk vectors for indexing: streaming batches, validated with file and row.

The index is built from the ``id`` and ``embedding`` columns of every chunks Parquet file
under ``<data root>/vectors/chunks/`` (files listed by :mod:`python_ext.chunkstore`, in name
order; the index row order is that order). Nothing is held in memory beyond one batch, the id
column and a training sample.

Refused inputs (:class:`~python_ext.errors.ContractError`, message names the file and row):
mixed embedding widths, null or NaN/inf vectors, non-normalized vectors with ``--metric ip``,
duplicate chunk ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext import chunkstore
from python_ext.config import DataRoot
from python_ext.contracts import EmbeddingInfo
from python_ext.errors import ContractError, InputError
from python_ext.progress import NULL_PROGRESS, Reporter

DEFAULT_BATCH_ROWS = 65_536
NORM_TOLERANCE = 1e-3


@dataclass
class VectorBatch:
    """One batch of chunk vectors.

    :param path: the Parquet file the rows come from.
    :param first_row: row number (0-based, inside ``path``) of the batch's first row.
    :param ids: chunk ids, int64.
    :param vectors: float32 matrix (rows × d), C-contiguous.
    """

    path: Path
    first_row: int
    ids: np.ndarray
    vectors: np.ndarray


@dataclass
class CorpusScan:
    """Result of the validation pass over the chunks (see :func:`scan_corpus`).

    :param n: number of vectors.
    :param d: vector width.
    :param info: embedding metadata of the files (model, normalized, kind).
    :param fingerprint: sha256 over every (id, vector) in index order (``vectors_sha256``).
    :param files: the chunk files in index order.
    :param ids: every chunk id in index order.
    :param sample: the training/tuning sample (rows of the corpus, float32).
    :param sample_rows: index rows of ``sample``.
    """

    n: int
    d: int
    info: EmbeddingInfo
    fingerprint: str
    files: list[Path]
    ids: np.ndarray
    sample: np.ndarray = field(repr=False)
    sample_rows: np.ndarray = field(repr=False)


def _embedding_matrix(
    col: pa.ChunkedArray | pa.Array, path: Path, first_row: int, expect_d: int | None
) -> np.ndarray:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count:
        row = first_row + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise ContractError(f"{path}: row {row}: embedding is null", hint="re-run `indexctl ingest`")
    if pa.types.is_fixed_size_list(col.type):
        d = col.type.list_size
    elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        lengths = pc.list_value_length(col).to_numpy()
        d = int(lengths[0]) if len(lengths) else (expect_d or 0)
        bad = np.flatnonzero(lengths != d)
        if len(bad):
            r = int(bad[0])
            raise ContractError(
                f"{path}: row {first_row + r}: embedding has {int(lengths[r])} dims, expected {d} "
                "(mixed embedding widths)",
                hint="re-run `indexctl ingest` with one embedder for the whole corpus",
            )
    else:
        raise ContractError(
            f"{path}: column embedding has type {col.type}, expected a list of float32",
            hint="write chunks with python_ext.contracts.chunks_schema",
        )
    if expect_d is not None and d != expect_d and len(col):
        raise ContractError(
            f"{path}: row {first_row}: embedding has {d} dims, expected {expect_d} (mixed embedding widths)",
            hint="re-run `indexctl ingest` with one embedder for the whole corpus",
        )
    values = col.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values.astype("float32", copy=False).reshape(len(col), d))


def iter_vector_batches(
    files: list[Path], batch_rows: int = DEFAULT_BATCH_ROWS, expect_d: int | None = None
) -> Iterator[VectorBatch]:
    """Stream ``(ids, vectors)`` batches from ``files`` in index order, checking widths.

    :param files: chunk files (see :func:`chunk_files`).
    :param batch_rows: rows per batch.
    :param expect_d: the width every vector must have (None: taken from the first batch).
    :raises ContractError: a file lacks ``id``/``embedding`` or widths disagree.
    """
    for path in files:
        schema = chunkstore.read_schema(path)
        missing = {"id", "embedding"} - set(schema.names)
        if missing:
            raise ContractError(
                f"{path}: missing column(s) {', '.join(sorted(missing))} of the chunks contract",
                hint="write chunks with python_ext.contracts.chunks_schema",
            )
        chunkstore.check_columns(path, schema, ["id"])
        pf = pq.ParquetFile(path)
        row = 0
        for batch in _batches(pf, path, batch_rows):
            ids = batch.column("id").to_numpy(zero_copy_only=False).astype("int64", copy=False)
            vectors = _embedding_matrix(batch.column("embedding"), path, row, expect_d)
            if expect_d is None and len(vectors):
                expect_d = vectors.shape[1]
            yield VectorBatch(path, row, ids, vectors)
            row += len(ids)


def iter_row_range(
    files: list[Path],
    first_rows: list[int],
    lo: int,
    hi: int,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    expect_d: int | None = None,
) -> Iterator[VectorBatch]:
    """Stream rows ``lo … hi-1`` of the corpus (chunk-file order) as :class:`VectorBatch`\\ es.

    Only the row groups that overlap the range are read, so S workers reading S ranges read
    the corpus once between them.

    :param files: the chunk files in index order.
    :param first_rows: the corpus row number of each file's first row.
    :param lo: first corpus row (inclusive).
    :param hi: last corpus row (exclusive).
    """
    for path, start in zip(files, first_rows, strict=True):
        pf = pq.ParquetFile(path)
        end = start + pf.metadata.num_rows
        if end <= lo or start >= hi:
            continue
        group_start = start
        for group in range(pf.metadata.num_row_groups):
            rows = pf.metadata.row_group(group).num_rows
            group_end = group_start + rows
            if group_end > lo and group_start < hi:
                table = pf.read_row_group(group, columns=["id", "embedding"])
                a, b = max(lo, group_start) - group_start, min(hi, group_end) - group_start
                for offset in range(a, b, batch_rows):
                    part = table.slice(offset, min(batch_rows, b - offset))
                    ids = part.column("id").to_numpy().astype("int64", copy=False)
                    file_row = group_start - start + offset
                    vectors = _embedding_matrix(part.column("embedding"), path, file_row, expect_d)
                    yield VectorBatch(path, file_row, ids, vectors)
            group_start = group_end


def _check_values(batch: VectorBatch, normalized: bool) -> None:
    finite = np.isfinite(batch.vectors).all(axis=1)
    if not finite.all():
        r = int(np.flatnonzero(~finite)[0])
        raise ContractError(
            f"{batch.path}: row {batch.first_row + r} (chunk id {int(batch.ids[r])}): "
            "embedding contains NaN or inf",
            hint="re-run `indexctl ingest`; the embedder produced an invalid vector",
        )
    if normalized:
        norms = np.linalg.norm(batch.vectors, axis=1)
        off = np.abs(norms - 1.0) > NORM_TOLERANCE
        if off.any():
            r = int(np.flatnonzero(off)[0])
            raise ContractError(
                f"{batch.path}: row {batch.first_row + r} (chunk id {int(batch.ids[r])}): embedding norm "
                f"{norms[r]:.4f} is not 1; --metric ip needs L2-normalized vectors",
                hint="use --metric l2, or embed with normalization",
            )


def _locate(files_rows: list[tuple[Path, int]], position: int) -> str:
    start = 0
    for path, rows in files_rows:
        if position < start + rows:
            return f"{path}: row {position - start}"
        start += rows
    return f"position {position}"


def _batches(pf: pq.ParquetFile, path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``(id, embedding)`` record batches; a corrupt page is a ContractError naming the file."""
    try:
        yield from pf.iter_batches(batch_size=batch_rows, columns=["id", "embedding"])
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(
            f"{path}: not a readable chunks Parquet file ({str(exc).strip().splitlines()[0]})",
            hint=f"run `indexctl validate chunks {path}`; re-run `indexctl ingest` to rewrite it",
        ) from exc


def count_rows(files: list[Path]) -> int:
    """Total rows of ``files`` from the Parquet footers (no data read).

    :raises ContractError: a file is not readable Parquet.
    """
    total = 0
    for path in files:
        chunkstore.read_schema(path)  # a clear error for garbage, truncated or empty files
        total += pq.ParquetFile(path).metadata.num_rows
    return total


def scan_corpus(
    data_root: DataRoot,
    *,
    metric: str = "ip",
    sample_size: int = 0,
    seed: int = 1234,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Reporter = NULL_PROGRESS,
) -> CorpusScan:
    """Validate every chunk vector and draw a uniform sample, in one streaming pass.

    :param data_root: where the chunks live.
    :param metric: ``ip`` additionally requires unit-norm vectors.
    :param sample_size: rows to keep in memory for training/tuning (0 keeps none).
    :param seed: seed of the sample.
    :param batch_rows: rows per streamed batch.
    :raises ContractError: mixed widths, NaN/inf, non-normalized for ip, or duplicate ids.
    :raises InputError: there are no chunks, or no rows.
    """
    info = chunkstore.corpus_info(data_root)
    files = chunkstore.chunk_files(data_root)
    n_total = count_rows(files)
    if n_total == 0:
        raise InputError(
            f"the chunks under {data_root.chunks_dir} have no rows", hint="ingest a repository with code"
        )
    rng = np.random.default_rng(seed)
    take = (
        np.sort(rng.choice(n_total, size=min(sample_size, n_total), replace=False)) if sample_size else None
    )
    digest = hashlib.sha256()
    ids_parts: list[np.ndarray] = []
    samples: list[np.ndarray] = []
    files_rows: list[tuple[Path, int]] = []
    pos = 0
    d: int | None = info.dim
    with progress.task("validating chunk vectors", total=n_total) as advance:
        for batch in iter_vector_batches(files, batch_rows, expect_d=d):
            d = batch.vectors.shape[1]
            _check_values(batch, normalized=(metric == "ip"))
            digest.update(batch.ids.tobytes())
            digest.update(batch.vectors.tobytes())
            ids_parts.append(batch.ids)
            if take is not None:
                lo, hi = np.searchsorted(take, [pos, pos + len(batch.ids)])
                if hi > lo:
                    samples.append(batch.vectors[take[lo:hi] - pos])
            if batch.first_row == 0:
                files_rows.append((batch.path, 0))
            files_rows[-1] = (batch.path, files_rows[-1][1] + len(batch.ids))
            pos += len(batch.ids)
            advance(len(batch.ids))
    ids = np.concatenate(ids_parts)
    _check_unique(ids, files_rows)
    assert d is not None
    sample = np.concatenate(samples) if samples else np.empty((0, d), dtype="float32")
    return CorpusScan(
        n=len(ids),
        d=d,
        info=info,
        fingerprint=digest.hexdigest(),
        files=files,
        ids=ids,
        sample=np.ascontiguousarray(sample),
        sample_rows=take if take is not None else np.empty(0, dtype="int64"),
    )


def _check_unique(ids: np.ndarray, files_rows: list[tuple[Path, int]]) -> None:
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if len(dup):
        first, second = int(order[dup[0]]), int(order[dup[0] + 1])
        raise ContractError(
            f"duplicate chunk id {int(ids[first])}: {_locate(files_rows, first)} and "
            f"{_locate(files_rows, second)}",
            hint="re-run `indexctl ingest` (chunk ids must be unique in a corpus)",
        )
