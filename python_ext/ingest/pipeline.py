"""Ingest: a repository becomes the chunks dataset (SPEC §5) of a data root.

:func:`ingest_repository` runs five steps, each a plain function:

1. **walk** — :func:`python_ext.ingest.walk.walk_repository` picks the files (skips counted);
2. **chunk** — :func:`python_ext.ingest.chunker.chunk_file` for every new or changed file; an
   unchanged file (same bytes, same chunker settings, same embedder) keeps its previous rows;
3. **symbols** — tree-sitter definitions, or the optional ``symbol_resolver`` (e.g. SCIP);
4. **embed** — only content hashes found neither in the previous rows nor in the embedding
   cache are embedded, in batches;
5. **write** — the embedding cache, then the chunk set (temp files + rename), then the file
   manifest; then the optional ``after_write`` hook (modules, symbol graph …).

:func:`import_precomputed` is the other way in: chunk Parquet with embeddings made by another
system (any dim) is validated, converted to the contract types and published as is.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from python_ext import chunkstore
from python_ext.config import DataRoot, resolve_data_root
from python_ext.contracts import EmbeddingInfo, chunks_schema, embedding_type
from python_ext.errors import ContractError, IdCollisionError, InputError
from python_ext.ingest import chunker
from python_ext.ingest.cache import EmbeddingCache, FileManifest
from python_ext.ingest.embed import Embedder, embedding_info, get_embedder
from python_ext.ingest.validate import NORM_TOLERANCE, validate_table
from python_ext.ingest.walk import DEFAULT_MAX_FILE_BYTES, SourceFile, WalkResult, walk_repository
from python_ext.progress import NULL_PROGRESS, Reporter

#: ``symbol_resolver(uri, start_line, end_line)``: a list replaces the chunk's tree-sitter
#: symbols; None keeps them.
SymbolResolver = Callable[[str, int, int], "list[str] | None"]


@dataclass
class IngestContext:
    """What the ``after_write`` hook receives once the chunks are published.

    :param repo: the repository root (absolute).
    :param data_root: the data root written to.
    :param walk: the walk result; ``walk.files`` are the ingested files (with their bytes).
    :param embedding: the embedding metadata of the chunk set.
    :param chunk_files: the published chunks Parquet files.
    :param progress: the reporter of the running ingest.
    :param options: the ingest options (languages, max_file_bytes, chunk_budget).
    """

    repo: Path
    data_root: DataRoot
    walk: WalkResult
    embedding: EmbeddingInfo
    chunk_files: list[Path]
    progress: Reporter
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> list[SourceFile]:
        """The ingested files, sorted by uri."""
        return self.walk.files


@dataclass
class IngestSummary:
    """Counts and timings of one ingest (``to_dict()`` for ``--json``)."""

    repo: str
    data_root: str
    embedder: str
    embedding_kind: str
    dim: int
    normalized: bool
    files_ingested: int = 0
    bytes_ingested: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    dirs_skipped: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    chunks_added: int = 0
    chunks_changed: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    files_added: int = 0
    files_changed: int = 0
    files_removed: int = 0
    files_unchanged: int = 0
    files_chunked: int = 0
    files_reused: int = 0
    embedded: int = 0
    embed_cache_hits: int = 0
    chunk_files: list[str] = field(default_factory=list)
    fingerprint: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- helpers ---------------------------------------------------------------------------------


def _settings_key(info: EmbeddingInfo, budget: int, salt: str | None) -> str:
    return f"{chunker.CHUNKER_VERSION}|budget={budget}|salt={salt or ''}|{info.to_json()}"


def _read_previous(root: DataRoot) -> pa.Table | None:
    if not chunkstore.chunk_files(root):
        return None
    try:
        return chunkstore.read_chunks(root)
    except (OSError, pa.ArrowException, InputError):
        return None


def _chunks_to_table(
    chunks: Sequence[chunker.Chunk], vectors: np.ndarray, info: EmbeddingInfo, salt: str | None
) -> pa.Table:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
    columns = {
        "id": pa.array([c.chunk_id(salt) for c in chunks], pa.int64()),
        "uri": pa.array([c.uri for c in chunks], pa.string()),
        "start_line": pa.array([c.start_line for c in chunks], pa.int32()),
        "end_line": pa.array([c.end_line for c in chunks], pa.int32()),
        "start_byte": pa.array([c.start_byte for c in chunks], pa.int64()),
        "end_byte": pa.array([c.end_byte for c in chunks], pa.int64()),
        "preview": pa.array([c.preview for c in chunks], pa.string()),
        "content": pa.array([c.content for c in chunks], pa.string()),
        "lang": pa.array([c.lang for c in chunks], pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(flat, type=embedding_type(info.dim)),
        "content_hash": pa.array([c.content_hash for c in chunks], pa.string()),
        "symbols": pa.array([list(c.symbols) for c in chunks], pa.list_(pa.string())),
    }
    return pa.table(columns, schema=chunks_schema(info.dim, info))


def _conform(table: pa.Table, info: EmbeddingInfo) -> pa.Table:
    """Cast a chunks table to the exact contract schema (same column order and metadata)."""
    schema = chunks_schema(info.dim, info)
    return pa.table([table.column(f.name).cast(f.type) for f in schema], schema=schema)


def check_id_collisions(table: pa.Table) -> None:
    """Raise :class:`IdCollisionError` when two rows of ``table`` share an id.

    :raises IdCollisionError: naming both chunks (uri and byte range).
    """
    ids = table.column("id").to_numpy()
    if len(np.unique(ids)) == len(ids):
        return
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])[0]
    a, b = int(order[dup]), int(order[dup + 1])
    uri, sb, eb = (table.column(c).to_pylist() for c in ("uri", "start_byte", "end_byte"))
    raise IdCollisionError(
        f"chunk id collision: {uri[a]} bytes {sb[a]}-{eb[a]} and {uri[b]} bytes {sb[b]}-{eb[b]} "
        f"both have id {int(ids[a])}",
        hint="re-run with a different id salt (indexctl ingest --id-salt S, or id_salt=...); "
        "ids of the whole corpus change with it",
    )


def _apply_resolver(table: pa.Table, resolver: SymbolResolver) -> pa.Table:
    uris, starts, ends = (table.column(c).to_pylist() for c in ("uri", "start_line", "end_line"))
    current = table.column("symbols").to_pylist()
    symbols = []
    for uri, s, e, old in zip(uris, starts, ends, current, strict=True):
        resolved = resolver(uri, s, e)
        symbols.append(list(resolved) if resolved is not None else old)
    index = table.schema.get_field_index("symbols")
    return table.set_column(index, table.schema.field(index), pa.array(symbols, pa.list_(pa.string())))


def _diff(previous: pa.Table | None, current: pa.Table, summary: IngestSummary) -> None:
    """Fill the added/changed/removed/unchanged chunk and file counts."""

    def keyed(table: pa.Table | None) -> tuple[dict[int, str], dict[str, set[tuple[int, str]]]]:
        if table is None:
            return {}, {}
        ids = table.column("id").to_pylist()
        hashes = table.column("content_hash").to_pylist()
        uris = table.column("uri").to_pylist()
        by_uri: dict[str, set[tuple[int, str]]] = {}
        for i, h, u in zip(ids, hashes, uris, strict=True):
            by_uri.setdefault(u, set()).add((i, h))
        return dict(zip(ids, hashes, strict=True)), by_uri

    old_ids, old_files = keyed(previous)
    new_ids, new_files = keyed(current)
    for chunk_id, h in new_ids.items():
        if chunk_id not in old_ids:
            summary.chunks_added += 1
        elif old_ids[chunk_id] == h:
            summary.chunks_unchanged += 1
        else:
            summary.chunks_changed += 1
    summary.chunks_removed = sum(1 for chunk_id in old_ids if chunk_id not in new_ids)
    for uri, rows in new_files.items():
        if uri not in old_files:
            summary.files_added += 1
        elif old_files[uri] == rows:
            summary.files_unchanged += 1
        else:
            summary.files_changed += 1
    summary.files_removed = sum(1 for uri in old_files if uri not in new_files)


def _embed_missing(
    hashes: Sequence[str],
    texts: dict[str, str],
    known: dict[str, np.ndarray],
    cache: EmbeddingCache,
    embedder: Embedder,
    progress: Reporter,
) -> tuple[int, int]:
    """Fill ``known`` for every hash: cache first, then the embedder in batches.

    :returns: (number embedded, number of cache hits).
    """
    todo: list[str] = []
    hits = 0
    for h in hashes:
        if h in known:
            continue
        cached = cache.get(h)
        if cached is not None:
            known[h] = cached
            hits += 1
        else:
            todo.append(h)
    batch = max(1, int(getattr(embedder, "batch_size", 256)))
    n_batches = -(-len(todo) // batch)
    with progress.task(f"embedding ({embedder.name}, {embedder.kind})", total=n_batches) as advance:
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            vectors = np.asarray(embedder.embed([texts[h] for h in part]), dtype=np.float32)
            if vectors.shape != (len(part), embedder.dim):
                raise ContractError(
                    f"embedder {embedder.name} returned shape {vectors.shape}, "
                    f"expected ({len(part)}, {embedder.dim})"
                )
            for h, v in zip(part, vectors, strict=True):
                known[h] = v
            advance(1)
    return len(todo), hits


# --- the pipeline ----------------------------------------------------------------------------


def ingest_repository(
    repo: str | os.PathLike[str],
    data_root: DataRoot | str | os.PathLike[str] | None = None,
    *,
    embedder: str | Embedder = "hashing",
    languages: Sequence[str] | str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    chunk_budget: int = chunker.DEFAULT_CHUNK_BUDGET,
    id_salt: str | None = None,
    rows_per_file: int = chunkstore.DEFAULT_ROWS_PER_FILE,
    symbol_resolver: SymbolResolver | None = None,
    after_write: Callable[[IngestContext], dict[str, Any]] | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> IngestSummary:
    """Chunk, embed and publish ``repo`` as the chunks dataset of ``data_root``.

    Re-running on the same data root is incremental: unchanged files keep their rows, and only
    content hashes not seen before are embedded. The previous chunk set is replaced as a whole
    (rows of deleted files disappear). Nothing published is touched when an error is raised.

    :param repo: repository root folder.
    :param data_root: data root (default: ``$CODEINTEL_DATA_ROOT`` or ``data/``).
    :param embedder: ``"hashing"`` (lexical, default), ``"minilm"`` (semantic) or an
        :class:`~python_ext.ingest.embed.Embedder` instance.
    :param languages: only these languages (``"python,go"`` or a list); default all.
    :param max_file_bytes: skip larger files (default 1,000,000).
    :param chunk_budget: non-whitespace characters per chunk (default 1200).
    :param id_salt: salt appended to every chunk id key (default none, per SPEC §4); changes
        every id.
    :param rows_per_file: rows per chunks Parquet file (default 250,000).
    :param symbol_resolver: ``f(uri, start_line, end_line) -> list[str] | None``; a list
        replaces the chunk's tree-sitter symbols.
    :param after_write: ``f(IngestContext) -> dict``, run after the chunks are published; its
        dict becomes ``summary.facts``.
    :param progress: progress reporter (bars for walking, chunking, embedding).
    :raises RepositoryNotFoundError: when ``repo`` is not an existing folder.
    :raises IdCollisionError: when two chunks get the same id.
    :raises MissingDependencyError: for ``minilm`` without the ``minilm`` extra.
    """
    t0 = time.perf_counter()
    root = data_root if isinstance(data_root, DataRoot) else resolve_data_root(data_root)
    model = get_embedder(embedder) if isinstance(embedder, str) else embedder
    info = embedding_info(model)
    seconds: dict[str, float] = {}

    # 1. walk
    walk = walk_repository(repo, languages=languages, max_file_bytes=max_file_bytes, progress=progress)
    seconds["walk"] = time.perf_counter() - t0

    # 2. chunk (reusing the previous rows of unchanged files)
    t = time.perf_counter()
    previous = _read_previous(root)
    settings = _settings_key(info, chunk_budget, id_salt)
    manifest = FileManifest.load(root)
    reusable: dict[str, list[int]] = {}
    can_reuse = (
        previous is not None
        and manifest.settings_key == settings
        and EmbeddingInfo.from_metadata(previous.schema.metadata) == info
        and manifest.fingerprint == chunkstore.fingerprint_table(previous)
    )
    if can_reuse and previous is not None:
        for row, uri in enumerate(previous.column("uri").to_pylist()):
            reusable.setdefault(uri, []).append(row)
    new_chunks: list[chunker.Chunk] = []
    reused_rows: list[int] = []
    files_chunked = 0
    with progress.task("chunking files", total=len(walk.files)) as advance:
        for source in walk.files:
            if can_reuse and manifest.files.get(source.uri) == source.file_hash:
                reused_rows.extend(reusable.get(source.uri, []))  # a file may have no chunks
            else:
                new_chunks.extend(
                    chunker.chunk_file(source.uri, source.data, source.lang, budget=chunk_budget)
                )
                files_chunked += 1
            advance(1)
    seconds["chunk"] = time.perf_counter() - t

    # 4. embed (3. symbols are applied to the assembled table below)
    t = time.perf_counter()
    cache = EmbeddingCache(root, info)
    known: dict[str, np.ndarray] = {}
    if reused_rows and previous is not None:
        old_vectors = chunkstore.embeddings_to_numpy(previous.column("embedding"), info.dim)
        for row, h in zip(
            reused_rows, previous.column("content_hash").take(reused_rows).to_pylist(), strict=True
        ):
            known.setdefault(h, old_vectors[row])
    texts = {c.content_hash: c.content for c in new_chunks}
    embedded, hits = _embed_missing(list(texts), texts, known, cache, model, progress)
    vectors = (
        np.stack([known[c.content_hash] for c in new_chunks])
        if new_chunks
        else np.zeros((0, info.dim), dtype=np.float32)
    )
    seconds["embed"] = time.perf_counter() - t

    # assemble: new rows + reused rows, in (uri, start_byte) order
    t = time.perf_counter()
    table = _chunks_to_table(new_chunks, vectors, info, id_salt)
    if reused_rows and previous is not None:
        table = pa.concat_tables([table, _conform(previous.take(reused_rows), info)])
    if table.num_rows:
        table = table.take(
            pc.sort_indices(table, sort_keys=[("uri", "ascending"), ("start_byte", "ascending")])
        )
    # 3. symbols from an external resolver (e.g. SCIP)
    if symbol_resolver is not None:
        table = _apply_resolver(table, symbol_resolver)
    check_id_collisions(table)

    # 5. write: cache, chunk set, manifest
    hashes = table.column("content_hash").to_pylist()
    unique = list(dict.fromkeys(hashes))
    cache.save(
        unique, np.stack([known[h] for h in unique]) if unique else np.zeros((0, info.dim), np.float32)
    )
    written = chunkstore.replace_chunk_set(root, table, rows_per_file=rows_per_file)
    fingerprint = chunkstore.fingerprint_table(table)
    FileManifest(
        settings_key=settings,
        fingerprint=fingerprint,
        files={f.uri: f.file_hash for f in walk.files},
    ).save(root, {f.uri: f.lang for f in walk.files})
    seconds["write"] = time.perf_counter() - t

    summary = IngestSummary(
        repo=str(walk.root),
        data_root=str(root.root),
        embedder=info.model,
        embedding_kind=info.kind,
        dim=info.dim,
        normalized=info.normalized,
        files_ingested=len(walk.files),
        bytes_ingested=walk.total_bytes,
        files_skipped=dict(sorted(walk.skipped.items())),
        dirs_skipped=dict(sorted(walk.skipped_dirs.items())),
        languages=dict(sorted(Counter(f.lang for f in walk.files).items())),
        chunks=table.num_rows,
        files_chunked=files_chunked,
        files_reused=len(walk.files) - files_chunked,
        embedded=embedded,
        embed_cache_hits=hits,
        chunk_files=[str(p) for p in written],
        fingerprint=fingerprint,
    )
    _diff(previous, table, summary)

    if after_write is not None:
        t = time.perf_counter()
        context = IngestContext(
            repo=walk.root,
            data_root=root,
            walk=walk,
            embedding=info,
            chunk_files=written,
            progress=progress,
            options={"languages": languages, "max_file_bytes": max_file_bytes, "chunk_budget": chunk_budget},
        )
        summary.facts = dict(after_write(context) or {})
        seconds["after_write"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    summary.seconds = {k: round(v, 3) for k, v in seconds.items()}
    return summary


# --- precomputed embeddings ------------------------------------------------------------------


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


def import_precomputed(
    source: str | os.PathLike[str],
    data_root: DataRoot | str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    normalized: bool | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> IngestSummary:
    """Publish chunk Parquet made by another system, with its own embeddings (any dim).

    The file must carry every chunks column (SPEC §5); integer and string widths are cast to
    the contract types and the embedding (fixed-size or plain list of float) to
    ``fixed_size_list<float32, d>``. It is then validated exactly like ``indexctl validate
    chunks`` (ids, bounds, content_hash, NaN/zero vectors …) and published with
    ``codeintel.embedding.kind = precomputed``. Nothing is re-embedded.

    :param source: the Parquet file to import.
    :param data_root: the data root (default: ``$CODEINTEL_DATA_ROOT`` or ``data/``).
    :param model: model name to record when the file has no ``codeintel.embedding.model``
        metadata (required then).
    :param normalized: override the normalization flag (default: from metadata, else measured:
        True when every vector has unit norm).
    :param progress: progress reporter.
    :raises InputError: when the file is missing/unreadable or no model name is known.
    :raises ContractError: when the file breaks the contract (the message lists the problems).
    """
    t0 = time.perf_counter()
    src = Path(source)
    if not src.is_file():
        raise InputError(f"precomputed chunks file not found: {src}", hint="pass an existing .parquet file")
    root = data_root if isinstance(data_root, DataRoot) else resolve_data_root(data_root)
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
        schema = chunks_schema(dim, info)
        columns = []
        for f in schema:
            if f.name == "embedding":
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
        previous = _read_previous(root)
        written = chunkstore.replace_chunk_set(root, table)
        advance(1)
    summary = IngestSummary(
        repo=str(src),
        data_root=str(root.root),
        embedder=info.model,
        embedding_kind=info.kind,
        dim=info.dim,
        normalized=info.normalized,
        files_ingested=len(set(table.column("uri").to_pylist())),
        languages=dict(sorted(Counter(table.column("lang").to_pylist()).items())),
        chunks=table.num_rows,
        chunk_files=[str(p) for p in written],
        fingerprint=chunkstore.fingerprint_table(table),
    )
    _diff(previous, table, summary)
    summary.seconds = {"total": round(time.perf_counter() - t0, 3)}
    return summary
