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

The writer :func:`replace_chunk_set` is used by ingest. It lays the chunk set out as S
**partitions** by chunk id (docs/contracts.md#partitions): row ``r`` goes to shard
``id % S`` (chunk ids are already uniform BLAKE2b hashes, so the modulo is the hash
partition), shard ``s`` is the file ``chunks-{s:05d}.parquet``, sorted by id, with the chunk
set's metadata plus ``codeintel.partition.*`` (scheme, shard, shards, digest). A new chunk set
rewrites only the shards whose rows changed: a shard whose digest (sha256 of its rows) and
metadata are unchanged keeps its file.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext.atomic import atomic_path
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import CHUNK_BASE_FIELDS, CHUNK_TAIL_FIELDS, EmbeddingInfo
from python_ext.errors import ContractError, InputError

#: A new chunk set gets one shard per this many rows (at least one); later writes keep the count.
DEFAULT_ROWS_PER_SHARD = 250_000
#: Most shards a chunk set may have.
MAX_SHARDS = 4096
#: File name pattern of the shards written by ingest (``chunks-00000.parquet`` …).
CHUNK_FILE_PATTERN = "chunks-{:05d}.parquet"
#: How rows are assigned to shards (``codeintel.partition.scheme``).
PARTITION_SCHEME = "id_mod"
_SCHEME_KEY = b"codeintel.partition.scheme"
_SHARD_KEY = b"codeintel.partition.shard"
_SHARDS_KEY = b"codeintel.partition.shards"
_DIGEST_KEY = b"codeintel.partition.digest"


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


@dataclass(frozen=True)
class Partition:
    """Where one chunks file sits in a partitioned chunk set (``codeintel.partition.*``).

    :param shard: the file's shard number s (rows with ``id % shards == s``).
    :param shards: the number of shards S of the set.
    :param digest: ``sha256:<hex>`` of the shard's rows (see :func:`rows_digest`).
    """

    shard: int
    shards: int
    digest: str

    def to_metadata(self) -> dict[bytes, bytes]:
        return {
            _SCHEME_KEY: PARTITION_SCHEME.encode(),
            _SHARD_KEY: str(self.shard).encode(),
            _SHARDS_KEY: str(self.shards).encode(),
            _DIGEST_KEY: self.digest.encode(),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[bytes, bytes] | None) -> Partition | None:
        """The partition keys of a file's metadata; None for files written without them."""
        if not metadata or metadata.get(_SCHEME_KEY) != PARTITION_SCHEME.encode():
            return None
        try:
            return cls(int(metadata[_SHARD_KEY]), int(metadata[_SHARDS_KEY]), metadata[_DIGEST_KEY].decode())
        except (KeyError, ValueError):
            return None


def partition_of(path: str | Path) -> Partition | None:
    """The :class:`Partition` recorded in a chunks file's footer (None when it has none)."""
    return Partition.from_metadata(pq.read_schema(path).metadata)


def recorded_shards(data_root: DataRootLike) -> int | None:
    """The shard count S of the data root's chunk set, when it is partitioned (one footer read)."""
    files = chunk_files(data_root)
    if not files:
        return None
    try:
        part = partition_of(files[0])
    except (OSError, pa.ArrowException):
        return None
    return part.shards if part is not None else None


def shard_of(ids: np.ndarray | pa.Array | pa.ChunkedArray, shards: int) -> np.ndarray:
    """The shard of each chunk id: ``id % shards`` (ids are non-negative int64)."""
    values = ids.to_numpy() if isinstance(ids, pa.ChunkedArray | pa.Array) else np.asarray(ids)
    return np.mod(values.astype(np.int64, copy=False), shards)


def rows_digest(table: pa.Table) -> str:
    """``sha256:<hex>`` of a table's rows: column names, types, null masks and values, however
    the data happens to be laid out in memory (so a table read back from Parquet has the digest
    of the table that was written)."""
    digest = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        digest.update(f"{name}:{_type_key(column.type)}\n".encode())
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        for part in _canonical_buffers(array):
            digest.update(part)
    return f"sha256:{digest.hexdigest()}"


def _type_key(kind: pa.DataType) -> str:
    """A type's name without list item field names (Parquet reads ``item`` back as ``element``)."""
    if pa.types.is_fixed_size_list(kind):
        return f"fixed_size_list<{_type_key(kind.value_type)}>[{kind.list_size}]"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_type_key(kind.value_type)}>"
    return str(kind)


def _canonical_buffers(array: pa.Array) -> Iterator[bytes | memoryview]:
    """The values of ``array`` as byte strings that depend only on its logical content."""
    nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    yield np.packbits(nulls).tobytes() if nulls is not None else b"no-nulls"
    kind = array.type
    if pa.types.is_fixed_size_list(kind):
        yield from _canonical_buffers(array.flatten())
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = np.asarray(array.offsets)
        yield (offsets - offsets[0]).astype(np.int64).tobytes()
        yield from _canonical_buffers(array.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
    elif pa.types.is_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_string(kind):
        wide = pa.types.is_large_string(kind)
        raw = array.buffers()
        offsets = np.frombuffer(raw[1], dtype=np.int64 if wide else np.int32)[
            array.offset : array.offset + len(array) + 1
        ]
        yield (offsets - offsets[0]).astype(np.int64).tobytes()
        if raw[2] is not None and len(offsets):
            yield memoryview(raw[2])[int(offsets[0]) : int(offsets[-1])]
    elif pa.types.is_boolean(kind):
        yield array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8).tobytes()
    else:
        filled = array.fill_null(0) if array.null_count else array
        yield filled.to_numpy(zero_copy_only=False).tobytes()


def choose_shards(data_root: DataRootLike, n_rows: int, shards: int | None = None) -> int:
    """The shard count of a new chunk set: ``shards`` when given, else the data root's current
    count (so incremental writes touch few files), else one shard per 250,000 rows.

    :raises ConfigError: ``shards`` outside 1…4096.
    """
    if shards is not None:
        if not 1 <= shards <= MAX_SHARDS:
            from python_ext.errors import ConfigError

            raise ConfigError(
                f"--shards must be between 1 and {MAX_SHARDS} (got {shards})", hint="use --shards 4"
            )
        return shards
    return recorded_shards(data_root) or max(1, -(-n_rows // DEFAULT_ROWS_PER_SHARD))


@dataclass
class ChunkSetWrite:
    """What :func:`replace_chunk_set` did.

    :param files: every file of the new chunk set, shard order.
    :param shards: the shard count S.
    :param rewritten: the shard files written (the others were unchanged and kept).
    :param removed: files of the old set that are no longer part of it.
    """

    files: list[Path]
    shards: int
    rewritten: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "shards": self.shards,
            "files": [str(p) for p in self.files],
            "rewritten": [p.name for p in self.rewritten],
            "removed": [p.name for p in self.removed],
        }


def partition_table(table: pa.Table, shards: int) -> list[pa.Table]:
    """Split a chunk set into its ``shards`` partitions (``id % shards``), each sorted by id
    (one sort by (shard, id), then contiguous slices)."""
    ids = table.column("id").to_numpy()
    shard = shard_of(ids, shards)
    order = np.lexsort((ids, shard))
    ordered = table.take(pa.array(order)) if table.num_rows else table
    bounds = np.searchsorted(shard[order], np.arange(shards + 1))
    return [ordered.slice(int(bounds[s]), int(bounds[s + 1] - bounds[s])) for s in range(shards)]


def replace_chunk_set(
    data_root: DataRootLike, table: pa.Table, *, shards: int | None = None
) -> ChunkSetWrite:
    """Replace the chunks dataset with ``table``, laid out in S partitions by chunk id.

    Shard ``s`` (rows with ``id % S == s``, sorted by id) is ``chunks-{s:05d}.parquet``. A shard
    whose rows and metadata equal the file already there is kept as it is; the changed ones
    are first written completely under ``.tmp-*`` names, then renamed into place; files of the
    old set that the new one does not have are removed last. Each file is replaced atomically;
    a reader that lists the folder during the swap may see old and new shards side by side.
    An empty table still writes one zero-row file with the full schema.

    :param data_root: the data root.
    :param table: the complete new chunk set (contract schema and metadata).
    :param shards: the shard count S (default: :func:`choose_shards`).
    :raises ConfigError: ``shards`` outside 1…4096.
    """
    root = _root(data_root)
    root.chunks_dir.mkdir(parents=True, exist_ok=True)
    old = chunk_files(root)
    count = choose_shards(root, table.num_rows, shards) if table.num_rows else 1
    metadata = dict(table.schema.metadata or {})
    for key in (_SCHEME_KEY, _SHARD_KEY, _SHARDS_KEY, _DIGEST_KEY):
        metadata.pop(key, None)
    targets = [root.chunks_dir / CHUNK_FILE_PATTERN.format(s) for s in range(count)]
    result = ChunkSetWrite(files=targets, shards=count)
    with contextlib.ExitStack() as stack:
        # Write every changed shard under a temporary name first; renames happen when the stack closes.
        for s, (target, part) in enumerate(zip(targets, partition_table(table, count), strict=True)):
            partition = Partition(s, count, rows_digest(part))
            wanted = {**metadata, **partition.to_metadata()}
            if target in old and _unchanged(target, wanted):
                continue
            tmp = stack.enter_context(atomic_path(target))
            pq.write_table(
                part.replace_schema_metadata(wanted), tmp, compression="zstd", row_group_size=16384
            )
            result.rewritten.append(target)
    keep = set(targets)
    for path in old:
        if path not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            result.removed.append(path)
    return result


def _unchanged(path: Path, wanted: dict[bytes, bytes]) -> bool:
    """True when the file at ``path`` already holds these rows with this metadata (footer only)."""
    try:
        return dict(pq.read_schema(path).metadata or {}) == wanted
    except (OSError, pa.ArrowException):
        return False
