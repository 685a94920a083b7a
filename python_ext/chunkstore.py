"""Reading (and atomically replacing) the chunks dataset of a data root.

The chunks contract (docs/contracts.md#chunks) lives in ``<data root>/vectors/chunks/*.parquet``: one or more
Parquet files that together hold one row per chunk. Temporary files (``.tmp-*``) and other dot
files are never part of the dataset. All files of one dataset carry the same embedding
metadata (model, dim, normalization, kind); :func:`corpus_info` checks that.

Readers used by the FAISS, catalog and evaluation stages:

* :func:`chunk_files`, :func:`count_chunks`, :func:`corpus_info`;
* :func:`read_chunks` (whole table, optionally some columns);
* :func:`iter_embedding_batches` (streaming ``(ids, vectors)`` with bounded memory);
* :func:`chunks_fingerprint` (a stable digest of ids + content hashes for ``version.json``).

The writer :func:`replace_chunk_set` is used by ingest.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext.atomic import atomic_path
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import CHUNK_BASE_FIELDS, CHUNK_TAIL_FIELDS, EmbeddingInfo
from python_ext.errors import ContractError, InputError

#: Default number of rows per chunks Parquet file written by ingest.
DEFAULT_ROWS_PER_FILE = 250_000
#: File name pattern of the files written by ingest (``chunks-00000.parquet`` …).
CHUNK_FILE_PATTERN = "chunks-{:05d}.parquet"


def _root(data_root: DataRootLike) -> DataRoot:
    return resolve_data_root(data_root)


def chunk_files(data_root: DataRootLike) -> list[Path]:
    """The chunks Parquet files of a data root, sorted by name (``.tmp-*``/dot files ignored).

    :param data_root: a :class:`~python_ext.config.DataRoot` or the data root path.
    :returns: possibly empty list of paths.
    """
    directory = _root(data_root).chunks_dir
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(".") and p.is_file())


_FIELD_TYPES: dict[str, pa.DataType] = {f.name: f.type for f in (*CHUNK_BASE_FIELDS, *CHUNK_TAIL_FIELDS)}
_FIX_HINT = (
    "run `indexctl validate chunks {path}` to see every problem; re-run `indexctl ingest` to rewrite it"
)


def _unreadable(path: Path, exc: BaseException) -> ContractError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ContractError(
        f"{path}: not a readable chunks Parquet file ({detail})", hint=_FIX_HINT.format(path=path)
    )


def read_schema(path: Path) -> pa.Schema:
    """The Arrow schema of one chunks file.

    :raises ContractError: the file is not readable Parquet (garbage, truncated, empty).
    """
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from exc


def check_columns(path: Path, schema: pa.Schema, columns: Sequence[str]) -> None:
    """Check that ``columns`` exist in ``schema`` with the chunks contract's types.

    :raises ContractError: naming the file, the column and both types.
    """
    for name in columns:
        if name not in schema.names:
            raise ContractError(
                f"{path}: missing column {name!r} of the chunks contract", hint=_FIX_HINT.format(path=path)
            )
        actual = schema.field(name).type
        if name == "embedding":
            ok = (
                pa.types.is_list(actual)
                or pa.types.is_large_list(actual)
                or pa.types.is_fixed_size_list(actual)
            ) and actual.value_type == pa.float32()
            expected = "a list of float32"
        else:
            want = _FIELD_TYPES.get(name)
            if want is None:
                continue
            ok = actual == want or (
                (pa.types.is_large_string(actual) and pa.types.is_string(want))
                or (
                    pa.types.is_large_list(actual)
                    and pa.types.is_list(want)
                    and actual.value_type == want.value_type
                )
            )
            expected = str(want)
        if not ok:
            raise ContractError(
                f"{path}: column {name!r} has type {actual}, expected {expected} (chunks contract)",
                hint=_FIX_HINT.format(path=path),
            )


def read_file(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Read one chunks file (``columns``, default all), checked against the contract's types.

    :raises ContractError: unreadable Parquet, a missing column or a column of another type.
    """
    schema = read_schema(path)
    check_columns(
        path, schema, list(columns) if columns is not None else [n for n in _FIELD_TYPES if n in schema.names]
    )
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from exc


def _require_files(data_root: DataRootLike) -> list[Path]:
    files = chunk_files(data_root)
    if not files:
        root = _root(data_root)
        raise InputError(
            f"no chunks found: {root.chunks_dir} has no *.parquet files",
            hint=f"run `indexctl ingest REPO --out {root.root}` first",
        )
    return files


def count_chunks(data_root: DataRootLike) -> int:
    """Number of chunk rows over all files (from Parquet footers; 0 when there are none).

    :raises ContractError: a file is not readable Parquet.
    """
    total = 0
    for path in chunk_files(data_root):
        try:
            total += pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(path, exc) from exc
    return total


def corpus_info(data_root: DataRootLike) -> EmbeddingInfo:
    """The embedding metadata shared by every chunks file of the data root.

    :raises InputError: when there are no chunks files.
    :raises ContractError: when a file lacks the ``codeintel.embedding.*`` metadata or the files
        disagree (the message names the files and both values).
    """
    infos: list[tuple[Path, EmbeddingInfo]] = []
    for path in _require_files(data_root):
        try:
            info = EmbeddingInfo.from_metadata(read_schema(path).metadata)
        except (ValueError, KeyError) as exc:
            raise ContractError(
                f"{path}: unreadable embedding metadata (codeintel.embedding.*): {exc}",
                hint=_FIX_HINT.format(path=path),
            ) from exc
        if info is None:
            raise ContractError(
                f"{path}: no embedding metadata (codeintel.embedding.model/dim) in the Parquet schema",
                hint="write chunks with `indexctl ingest`, or import external files with "
                "`indexctl ingest --precomputed FILE --model NAME`",
            )
        infos.append((path, info))
    first_path, first = infos[0]
    for path, info in infos[1:]:
        if info != first:
            raise ContractError(
                f"chunks files disagree on their embedding: {first_path.name} has {first.to_json()}, "
                f"{path.name} has {info.to_json()}",
                hint="re-ingest into an empty --out directory so every file comes from one embedder",
            )
    return first


def recorded_embedding(data_root: DataRootLike) -> EmbeddingInfo | None:
    """The embedding metadata of the data root's first chunks file, or None when there is no
    chunk set yet (or its metadata cannot be read). Cheap: reads one Parquet footer."""
    files = chunk_files(data_root)
    if not files:
        return None
    try:
        return EmbeddingInfo.from_metadata(pq.read_schema(files[0]).metadata)
    except (OSError, pa.ArrowException, ValueError, KeyError):
        return None


def read_chunks(data_root: DataRootLike, columns: Sequence[str] | None = None) -> pa.Table:
    """Read every chunks file into one Arrow table (schema metadata of the first file kept).

    :param data_root: the data root.
    :param columns: only these columns (default: all).
    :raises InputError: when there are no chunks files.
    """
    files = _require_files(data_root)
    cols = list(columns) if columns is not None else None
    tables = [read_file(p, cols) for p in files]
    if len(tables) == 1:
        return tables[0]
    metadata = tables[0].schema.metadata
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables], promote_options="none")
    return table.replace_schema_metadata(metadata)


def embeddings_to_numpy(column: pa.Array | pa.ChunkedArray, dim: int | None = None) -> np.ndarray:
    """Convert an embedding column (fixed-size or plain list of float) to float32 ``(n, d)``.

    :param column: the ``embedding`` column.
    :param dim: expected width; inferred from the data when None.
    :raises ContractError: when rows have different lengths or contain nulls.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(column)
    if n == 0:
        return np.zeros((0, dim or 0), dtype=np.float32)
    if column.null_count:
        raise ContractError(f"embedding column has {column.null_count} null rows")
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
        values = column.flatten()
    else:
        offsets = np.asarray(column.offsets)
        lengths = np.diff(offsets)
        width = int(lengths[0])
        if not np.all(lengths == width):
            bad = int(np.argmax(lengths != width))
            raise ContractError(f"embedding row {bad} has {int(lengths[bad])} values, row 0 has {width}")
        values = column.flatten()
    if dim is not None and width != dim:
        raise ContractError(f"embedding width {width} does not match the recorded dim {dim}")
    arr = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return arr.reshape(n, width)


def iter_embedding_batches(
    data_root: DataRootLike, batch_rows: int = 65536
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream ``(ids int64 (n,), vectors float32 (n, d))`` over all chunks files.

    Only the ``id`` and ``embedding`` columns are read, one record batch at a time, so memory
    stays bounded by ``batch_rows`` rows.

    :param data_root: the data root.
    :param batch_rows: maximum rows per yielded batch.
    """
    info = corpus_info(data_root)
    for path in chunk_files(data_root):
        check_columns(path, read_schema(path), ["id", "embedding"])
        reader = pq.ParquetFile(path)
        for batch in reader.iter_batches(batch_size=batch_rows, columns=["id", "embedding"]):
            ids = batch.column("id").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            vectors = embeddings_to_numpy(batch.column("embedding"), info.dim)
            yield ids, vectors


def chunks_fingerprint(data_root: DataRootLike) -> str:
    """A stable digest of the chunk set: sha256 over ``id`` and ``content_hash`` sorted by id.

    The same chunks give the same fingerprint whatever the file split or row order. An empty
    chunk set gives the digest of nothing.

    :returns: ``sha256:<hex>``.
    """
    if not chunk_files(data_root):
        return fingerprint_table(None)
    return fingerprint_table(read_chunks(data_root, columns=["id", "content_hash"]))


def fingerprint_table(table: pa.Table | None) -> str:
    """:func:`chunks_fingerprint` of an in-memory table with ``id`` and ``content_hash``."""
    digest = hashlib.sha256()
    if table is not None and table.num_rows:
        order = pc.sort_indices(table.select(["id"]), sort_keys=[("id", "ascending")])
        raw_ids = table.column("id").take(order).to_numpy().astype(">i8").tobytes()
        hashes = table.column("content_hash").take(order).to_pylist()
        for row, h in enumerate(hashes):
            digest.update(raw_ids[row * 8 : row * 8 + 8])
            digest.update(h.encode("ascii"))
            digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"


def replace_chunk_set(
    data_root: DataRootLike, table: pa.Table, rows_per_file: int = DEFAULT_ROWS_PER_FILE
) -> list[Path]:
    """Replace the chunks dataset with ``table``, file by file, atomically per file.

    New files are first written completely under ``.tmp-*`` names, then renamed onto
    ``chunks-00000.parquet``, ``chunks-00001.parquet`` …; files of the old set that the new set
    does not overwrite are removed last. With the default file size a repository of up to
    250,000 chunks is one file, so the swap is a single atomic rename. An empty table still
    writes one zero-row file with the full schema.

    :param data_root: the data root.
    :param table: the complete new chunk set (contract schema and metadata).
    :param rows_per_file: rows per Parquet file.
    :returns: the published paths.
    """
    root = _root(data_root)
    root.chunks_dir.mkdir(parents=True, exist_ok=True)
    old = chunk_files(root)
    n_files = max(1, -(-table.num_rows // rows_per_file))
    targets = [root.chunks_dir / CHUNK_FILE_PATTERN.format(i) for i in range(n_files)]
    with contextlib.ExitStack() as stack:
        # Write every part under a temporary name first; renames happen when the stack closes.
        for i, target in enumerate(targets):
            tmp = stack.enter_context(atomic_path(target))
            part = table.slice(i * rows_per_file, rows_per_file)
            pq.write_table(part, tmp, compression="zstd", row_group_size=16384)
    keep = set(targets)
    for path in old:
        if path not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return targets
