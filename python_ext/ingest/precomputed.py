"""The other way in: chunk Parquet embedded by another system (any dim), validated and published.

:func:`import_precomputed` casts the file to the chunks contract, validates it exactly like
``indexctl validate chunks`` and publishes it with ``codeintel.embedding.kind = precomputed``.
Nothing is re-embedded.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from python_ext import chunkstore
from python_ext.config import DataRootLike, resolve_data_root
from python_ext.contracts import EmbeddingInfo, chunks_schema
from python_ext.errors import ContractError, InputError
from python_ext.ingest.chunk_ingest import IngestResult, diff_chunk_sets, read_previous
from python_ext.ingest.validate import NORM_TOLERANCE, validate_table
from python_ext.lock import writes_data_root
from python_ext.progress import NULL_PROGRESS, Reporter


def _embedding_matrix(column: pa.ChunkedArray, source: Path) -> np.ndarray:
    try:
        arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if not (pa.types.is_floating(arr.type.value_type)):
            raise ContractError(f"{source}: column embedding holds {arr.type.value_type}, expected float")
        if arr.type.value_type != pa.float32():
            arr = arr.cast(
                pa.list_(pa.float32())
                if not pa.types.is_fixed_size_list(arr.type)
                else pa.list_(pa.float32(), arr.type.list_size)
            )
        return chunkstore.embeddings_to_numpy(arr)
    except ContractError as exc:
        raise ContractError(
            f"{source}: {exc.message}", hint="every embedding row must have the same width"
        ) from exc


@writes_data_root("ingest --precomputed")
def import_precomputed(
    data_root: DataRootLike,
    source: str | os.PathLike[str],
    *,
    model: str | None = None,
    normalized: bool | None = None,
    shards: int | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> IngestResult:
    """Publish chunk Parquet made by another system, with its own embeddings (any dim).

    The file must carry every chunks column (docs/contracts.md, "chunks"); integer and string
    widths are cast to the contract types and the embedding (fixed-size or plain list of float) to
    ``fixed_size_list<float32, d>``. It is then validated exactly like ``indexctl validate
    chunks`` (ids, bounds, content_hash, NaN/zero vectors …) and published with
    ``codeintel.embedding.kind = precomputed``. Nothing is re-embedded.

    :param data_root: the data root (None: ``$CODEINTEL_DATA_ROOT`` or ``data/``).
    :param source: the Parquet file to import.
    :param model: model name to record when the file has no ``codeintel.embedding.model``
        metadata (required then).
    :param normalized: override the normalization flag (default: from metadata, else measured:
        True when every vector has unit norm).
    :param shards: partitions of the published chunk set (default: as
        :func:`python_ext.chunkstore.choose_shards`).
    :param progress: progress reporter.
    :raises InputError: when the file is missing/unreadable or no model name is known.
    :raises ContractError: when the file breaks the contract (the message lists the problems).
    """
    t0 = time.perf_counter()
    src = Path(source)
    if not src.is_file():
        raise InputError(f"precomputed chunks file not found: {src}", hint="pass an existing .parquet file")
    root = resolve_data_root(data_root)
    with progress.task("importing precomputed chunks", total=3) as advance:
        try:
            raw = pq.read_table(src)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{src}: not a readable Parquet file ({exc})") from exc
        advance(1)
        base = [f.name for f in chunks_schema(1)]
        missing = [name for name in base if name not in raw.column_names]
        if missing:
            raise ContractError(
                f"{src}: missing column(s) {', '.join(missing)}",
                hint="a precomputed chunks file needs every chunks column (see docs/ingest.md)",
            )
        meta = EmbeddingInfo.from_metadata(raw.schema.metadata)
        name = model or (meta.model if meta else None)
        if not name:
            raise InputError(
                f"{src}: no embedding model recorded in the file's metadata",
                hint="name the model that produced the vectors with --model NAME",
            )
        matrix = _embedding_matrix(raw.column("embedding"), src)
        dim = int(matrix.shape[1]) if matrix.ndim == 2 and matrix.shape[0] else (meta.dim if meta else 0)
        if dim <= 0:
            raise ContractError(
                f"{src}: cannot tell the embedding dimension of an empty file without metadata"
            )
        if normalized is None:
            if meta is not None:
                normalized = meta.normalized
            else:
                norms = np.linalg.norm(matrix, axis=1) if len(matrix) else np.ones(0)
                normalized = bool(np.all(np.abs(norms - 1.0) <= NORM_TOLERANCE))
        info = EmbeddingInfo(model=name, dim=dim, normalized=normalized, kind="precomputed")
        schema = chunks_schema(dim, info, optional=True)
        columns = []
        for f in schema:
            if f.name not in raw.column_names:  # an optional column the producer left out
                columns.append(pa.nulls(raw.num_rows, f.type))
            elif f.name == "embedding":
                flat = pa.array(matrix.reshape(-1), pa.float32())
                columns.append(pa.FixedSizeListArray.from_arrays(flat, type=f.type))
            else:
                try:
                    columns.append(raw.column(f.name).cast(f.type))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise ContractError(
                        f"{src}: column {f.name} has type {raw.schema.field(f.name).type}, expected {f.type}"
                    ) from exc
        table = pa.table(columns, schema=schema)
        problems = validate_table(table, str(src))
        if problems:
            shown = "; ".join(str(p) for p in problems[:10])
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            raise ContractError(
                f"{src}: {len(problems)} contract problem(s): {shown}{more}",
                hint=f"run `indexctl validate chunks {src}` to list every problem",
            )
        advance(1)
        previous = read_previous(root)
        written = chunkstore.replace_chunk_set(root, table, shards=shards)
        advance(1)
    summary = IngestResult(
        repo=str(src),
        data_root=str(root.root),
        embedder=info.model,
        embedding_kind=info.kind,
        dim=info.dim,
        normalized=info.normalized,
        files_ingested=len(set(table.column("uri").to_pylist())),
        languages=dict(sorted(Counter(table.column("lang").to_pylist()).items())),
        chunks=table.num_rows,
        shards=written.shards,
        shards_rewritten=len(written.rewritten),
        chunk_files=[str(p) for p in written.files],
        fingerprint=chunkstore.fingerprint_table(table),
    )
    diff_chunk_sets(previous, table, summary)
    summary.seconds = {"total": round(time.perf_counter() - t0, 3)}
    return summary
