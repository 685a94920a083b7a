"""The chunk ingest: a repository becomes the chunks dataset (docs/contracts.md, "chunks").

:func:`ingest_repository` runs these steps, each a plain function of this module:

1. **walk** — :func:`python_ext.ingest.walk.walk_repository` picks the files (skips counted),
   and :func:`choose_embedder` picks the embedder (the data root's own by default);
2. **chunk** — :func:`chunk_changed_files`: :func:`python_ext.ingest.chunker.chunk_file` for
   every new or changed file, sized by the embedder's :class:`~python_ext.ingest.chunker.ChunkSizer`
   (:func:`python_ext.ingest.sizing.chunk_sizer`); an unchanged file (same bytes, same chunker
   settings, same embedder) keeps its previous rows;
3. **embed** — :func:`plan_embedding` gives each new chunk its embedded text (the optional
   ``context`` line, then the content), cache key and length; :func:`embed_chunks`: only keys
   found neither in the previous rows nor in the embedding cache are embedded, in batches;

   by default steps 2 and 3 run **overlapped** (:func:`chunk_and_embed`, the same plan, keys and
   vectors): files are chunked (in worker processes when ``chunk_workers`` > 1, each given the
   sizer once) while a thread embeds the texts already planned, through a bounded queue, with
   one progress bar per stage showing its rate;
4. **assemble** — :func:`assemble_chunk_set`: new and kept rows in order, symbols from the
   optional ``symbol_resolver`` (e.g. SCIP), ids checked for collisions;
5. **publish** — :func:`publish_chunk_set`: the embedding cache, then the chunk set (temp
   files + rename), then the file manifest; then the optional ``after_write`` hook (modules,
   symbol graph …).

:func:`python_ext.ingest.precomputed.import_precomputed` is the other way in.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from python_ext import chunkstore
from python_ext.config import DataRoot, DataRootLike, resolve_data_root
from python_ext.contracts import ChunkingInfo, EmbeddingInfo, chunks_schema, embedding_type
from python_ext.embed import (
    FALLBACK_EMBEDDER,
    MINILM_HINT,
    Embedder,
    default_embedder,
    embedding_info,
    recorded_backend,
    resolve_embedder,
)
from python_ext.embed.backends import unavailable_reason
from python_ext.embed.batch import embed_batch
from python_ext.errors import ConfigError, IdCollisionError, InputError
from python_ext.ingest import chunker
from python_ext.ingest.cache import EmbeddingCache, FileManifest
from python_ext.ingest.engine import Engine, LocalEngine, embed_label, get_engine
from python_ext.ingest.sizing import chunk_sizer, embed_key, embed_length, embed_text
from python_ext.ingest.walk import DEFAULT_MAX_FILE_BYTES, SourceFile, WalkResult, walk_repository
from python_ext.lock import writes_data_root
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
class IngestResult:
    """Counts and timings of one ingest (``to_dict()`` for ``--json``)."""

    repo: str
    data_root: str
    embedder: str
    embedding_kind: str
    dim: int
    normalized: bool
    #: the runtime and precision that computed the vectors (empty for the hashing embedder)
    embedder_backend: str = ""
    embedder_precision: str = ""
    #: why that backend (``auto: …`` or ``asked for``; empty without backends)
    backend_reason: str = ""
    files_ingested: int = 0
    bytes_ingested: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    dirs_skipped: dict[str, int] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
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
    chunking: dict[str, Any] = field(default_factory=dict)
    shards: int = 0
    shards_rewritten: int = 0
    chunk_files: list[str] = field(default_factory=list)
    fingerprint: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    #: throughput: ``chunks_per_s`` end to end (chunks of the new chunk set / total seconds),
    #: ``files_chunked_per_s`` and ``embedded_per_s`` of the chunk and embed stages (busy time)
    rates: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- helpers ---------------------------------------------------------------------------------


def _settings_key(info: EmbeddingInfo, sizer: chunker.ChunkSizer, context: bool, salt: str | None) -> str:
    """What the chunk rows depend on besides the file bytes: the chunker's rules version, the
    sizing (unit, limit, window), the context line, the id salt and the embedder."""
    return f"{chunker.CHUNKER_VERSION}|{sizer.key()}|context={context}|salt={salt or ''}|{info.to_json()}"


def read_previous(root: DataRoot) -> pa.Table | None:
    """The data root's current chunk set, or None when there is none (or it is unreadable)."""
    if not chunkstore.chunk_files(root):
        return None
    try:
        return chunkstore.read_chunks(root)
    except (OSError, pa.ArrowException, InputError):
        return None


@dataclass
class EmbedPlan:
    """Per new chunk: the text given to the embedder, its cache key and its length in the
    embedder's units (special tokens included)."""

    texts: list[str]
    keys: list[str]
    lengths: list[int]


def plan_embedding(chunks: Sequence[chunker.Chunk], sizer: chunker.ChunkSizer, context: bool) -> EmbedPlan:
    """What the embedder is given for each chunk (:mod:`python_ext.ingest.sizing`)."""
    texts, keys, lengths = [], [], []
    for c in chunks:
        text = embed_text(c.content, c.uri, c.enclosing_symbol, context, sizer.counter)
        texts.append(text)
        keys.append(embed_key(text, c.content, c.content_hash))
        lengths.append(embed_length(sizer, c.size, text, c.content))
    return EmbedPlan(texts, keys, lengths)


def _chunks_to_table(
    chunks: Sequence[chunker.Chunk],
    vectors: np.ndarray,
    info: EmbeddingInfo,
    salt: str | None,
    lengths: Sequence[int],
    window: int | None,
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
        "enclosing_symbol": pa.array([c.enclosing_symbol for c in chunks], pa.string()),
        "embed_length": pa.array(list(lengths), pa.int32()),
        "truncated": pa.array([window is not None and n > window for n in lengths], pa.bool_()),
    }
    return pa.table(columns, schema=chunks_schema(info.dim, info, optional=True))


def _conform(table: pa.Table, info: EmbeddingInfo) -> pa.Table:
    """Cast a chunks table to the exact contract schema (same column order and metadata)."""
    schema = chunks_schema(info.dim, info, optional=True)
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


def diff_chunk_sets(previous: pa.Table | None, current: pa.Table, summary: IngestResult) -> None:
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
    engine: Engine | None = None,
) -> tuple[int, int]:
    """Fill ``known`` for every hash: cache first, then the embedder in batches (on ``engine``,
    default the local one).

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
    vectors = (engine or LocalEngine()).embed([texts[h] for h in todo], embedder, progress)
    for h, v in zip(todo, vectors, strict=True):
        known[h] = v
    return len(todo), hits


def chunking_summary(table: pa.Table, chunking: ChunkingInfo) -> dict[str, Any]:
    """The ``chunking`` part of the ingest summary: how chunks were sized, how many are over
    the limit (only when a single token forces it) and how many the embedder truncated, per
    language too."""
    langs = table.column("lang").to_pylist()
    lengths = table.column("embed_length").to_pylist()
    flags = table.column("truncated").to_pylist()
    by_lang: dict[str, dict[str, int]] = {}
    for lang, n, cut in zip(langs, lengths, flags, strict=True):
        row = by_lang.setdefault(lang, {"chunks": 0, "truncated": 0, "max_length": 0})
        row["chunks"] += 1
        row["truncated"] += bool(cut)
        row["max_length"] = max(row["max_length"], n or 0)
    return {
        "version": chunking.version,
        "unit": chunking.unit,
        "limit": chunking.limit,
        "window": chunking.window,
        "context": chunking.context,
        "truncated": chunking.truncated,
        "by_lang": dict(sorted(by_lang.items())),
    }


# --- the steps ------------------------------------------------------------------------------


def choose_embedder(
    embedder: str | Embedder | None,
    root: DataRoot,
    progress: Reporter,
    backend: str | None = None,
) -> tuple[Embedder, str]:
    """The embedder of this ingest and why its backend: the one asked for, else the one the
    data root was built with — on the backend it was built with — else the default
    (:func:`python_ext.embed.default_embedder`, on the ``auto`` backend); the lexical fallback
    is announced, never silent.

    A data root keeps its own backend and precision too, so its vectors never mix backends:
    when that backend cannot run here, the ingest stops with a :class:`ConfigError` that names
    the two ways on (install what it needs, or re-embed everything with ``--embedder-backend``);
    a ``backend`` other than the recorded one is announced as a full re-embedding.

    :returns: (the embedder, the reason for its backend; empty when it has none).
    """
    if embedder is not None and not isinstance(embedder, str):
        return embedder, "given"
    recorded = chunkstore.recorded_embedding(root)
    name = embedder if embedder is not None else default_embedder(recorded)
    if embedder is None and name == FALLBACK_EMBEDDER:
        progress.log(
            "Warning: the minilm extra is not installed: using the LEXICAL hashing embedder "
            f"(hashed identifier tokens, not semantic); {MINILM_HINT}"
        )
    own = recorded_backend(recorded) if recorded is not None and name in ("minilm", recorded.model) else None
    if backend is None and own is not None:
        from python_ext.embed.backends import BACKENDS

        why = unavailable_reason(BACKENDS[own])
        if why is not None:
            raise ConfigError(
                f"{root.root} holds vectors of {recorded.identity if recorded else own}, and its backend "
                f"{own!r} cannot run here: {why}",
                hint="install what it needs (bash scripts/bootstrap.sh installs the minilm and accel "
                "extras), or re-embed every chunk on another backend with --embedder-backend auto",
            )
        backend = own
    model, choice = resolve_embedder(name, backend, progress)
    if choice is None:
        if embedding_info(model).backend:  # e5: one runtime, said like MiniLM's choice
            progress.log(f"embedder: {embedding_info(model).identity}")
        return model, ""
    reason = "the data root's own backend" if backend == own and own is not None else choice.reason
    if own is not None and choice.backend.name != own:
        progress.log(
            f"[bold yellow]switching the embedder backend from {own} to {choice.backend.name}: "
            "every chunk is embedded again[/]"
        )
    progress.log(f"embedder: {embedding_info(model).identity} ({reason})")
    return model, reason


@dataclass
class ChunkPlan:
    """Which files are chunked again and which previous rows are kept (unchanged files)."""

    new_chunks: list[chunker.Chunk]
    reused_rows: list[int]
    files_chunked: int
    #: embedding-cache keys of the kept rows (filled by :func:`embed_chunks` / :func:`chunk_and_embed`)
    reused_keys: list[str] = field(default_factory=list)


def _plan_reuse(
    walk: WalkResult,
    previous: pa.Table | None,
    manifest: FileManifest,
    settings: str,
    info: EmbeddingInfo,
) -> tuple[ChunkPlan, list[SourceFile]]:
    """A plan holding the previous rows of every unchanged file, and the files to chunk.

    Previous rows are kept only with the same settings and embedder, and a manifest that
    describes the current rows; otherwise every file is chunked."""
    plan = ChunkPlan(new_chunks=[], reused_rows=[], files_chunked=0)
    if (
        previous is None
        or manifest.settings_key != settings
        or EmbeddingInfo.from_metadata(previous.schema.metadata) != info
        or manifest.fingerprint != chunkstore.fingerprint_table(previous)
    ):
        return plan, list(walk.files)
    rows_of: dict[str, list[int]] = {}
    for row, uri in enumerate(previous.column("uri").to_pylist()):
        rows_of.setdefault(uri, []).append(row)
    todo: list[SourceFile] = []
    for source in walk.files:
        if manifest.files.get(source.uri) == source.file_hash:
            plan.reused_rows.extend(rows_of.get(source.uri, []))  # a file may have no chunks
        else:
            todo.append(source)
    return plan, todo


def chunk_changed_files(
    walk: WalkResult,
    previous: pa.Table | None,
    manifest: FileManifest,
    settings: str,
    info: EmbeddingInfo,
    sizer: chunker.ChunkSizer,
    progress: Reporter,
    engine: Engine | None = None,
) -> ChunkPlan:
    """Chunk every new or changed file; keep the previous rows of unchanged files (same bytes,
    same chunker settings, same embedder, and a manifest that describes the current rows)."""
    plan, todo = _plan_reuse(walk, previous, manifest, settings, info)
    # the sizer (and its token counter) travels to remote workers pickled: see ChunkSizer
    chunk = functools.partial(chunker.chunk_file, sizer=sizer)
    chunked = (engine or LocalEngine()).chunk_files([(f.uri, f.data, f.lang) for f in todo], chunk, progress)
    for chunks in chunked:
        plan.new_chunks.extend(chunks)
    plan.files_chunked = len(todo)
    return plan


def _reused_keys(previous: pa.Table, rows: list[int], context: bool, sizer: chunker.ChunkSizer) -> list[str]:
    hashes = previous.column("content_hash").take(rows).to_pylist()
    if not context:
        return hashes
    kept = previous.select(["uri", "enclosing_symbol", "content"]).take(rows).to_pylist()
    return [
        embed_key(
            embed_text(r["content"], r["uri"], r["enclosing_symbol"], True, sizer.counter), r["content"], h
        )
        for r, h in zip(kept, hashes, strict=True)
    ]


def _kept_vectors(
    plan: ChunkPlan, previous: pa.Table | None, dim: int, context: bool, sizer: chunker.ChunkSizer
) -> dict[str, np.ndarray]:
    """The kept rows' own vectors by embedding-cache key (their keys go to ``plan.reused_keys``)."""
    known: dict[str, np.ndarray] = {}
    if plan.reused_rows and previous is not None:
        old_vectors = chunkstore.embeddings_to_numpy(previous.column("embedding"), dim)
        plan.reused_keys = _reused_keys(previous, plan.reused_rows, context, sizer)
        for row, key in zip(plan.reused_rows, plan.reused_keys, strict=True):
            known.setdefault(key, old_vectors[row])
    return known


def embed_chunks(
    plan: ChunkPlan,
    previous: pa.Table | None,
    cache: EmbeddingCache,
    model: Embedder,
    progress: Reporter,
    embedding: EmbedPlan | None = None,
    context: bool = False,
    sizer: chunker.ChunkSizer | None = None,
    engine: Engine | None = None,
) -> tuple[dict[str, np.ndarray], int, int]:
    """Vectors for every embedded text of the new chunk set, by embedding-cache key: the kept
    rows' own vectors, then the embedding cache, then the model (only for texts found in
    neither).

    :param embedding: the new chunks' texts and keys (default: :func:`plan_embedding` without
        a context line).
    :returns: (vectors by key, number embedded, cache hits).
    """
    sizer = sizer or chunker.ChunkSizer.chars()
    embedding = embedding or plan_embedding(plan.new_chunks, sizer, context)
    known = _kept_vectors(plan, previous, model.dim, context, sizer)
    texts = dict(zip(embedding.keys, embedding.texts, strict=True))
    embedded, hits = _embed_missing(list(texts), texts, known, cache, model, progress, engine)
    return known, embedded, hits


#: The sizer of a chunking worker process (set once per process by :func:`_init_chunk_worker`).
_WORKER_SIZER: chunker.ChunkSizer | None = None


def _init_chunk_worker(sizer: chunker.ChunkSizer) -> None:
    """Worker-process initializer: keep the ingest's sizer (unpickled once per process; the
    token counter's word caches then fill per process)."""
    global _WORKER_SIZER
    _WORKER_SIZER = sizer


def _chunk_file_task(args: tuple[str, bytes, str]) -> list[chunker.Chunk]:
    """One file's chunks with the worker's sizer (top-level, so worker processes can run it)."""
    uri, data, lang = args
    return chunker.chunk_file(uri, data, lang, sizer=_WORKER_SIZER)


def _picklable(sizer: chunker.ChunkSizer) -> str | None:
    """None when ``sizer`` (its token counter included) can be sent to worker processes, else why not."""
    try:
        pickle.dumps(sizer)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def default_chunk_workers() -> int:
    """Chunking processes by default: one per CPU beyond the first, at most 8 (1: chunk in the
    ingest's own process, overlapped with the embedding thread)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus - 1))


def _chunk_stream(
    sources: list[SourceFile], sizer: chunker.ChunkSizer, workers: int, busy: list[float]
) -> Iterator[list[chunker.Chunk]]:
    """Each file's chunks, in file order: in this process, or in ``workers`` processes that
    each receive ``sizer`` once (the same unit, limit, window and token counter, so the same
    chunks as :func:`chunk_changed_files`)."""
    if workers <= 1 or len(sources) < 2:
        for source in sources:
            t = time.perf_counter()
            chunks = chunker.chunk_file(source.uri, source.data, source.lang, sizer=sizer)
            busy[0] += time.perf_counter() - t
            yield chunks
        return
    t = time.perf_counter()
    # spawn, not fork: the embedding thread and the model runtimes' thread pools are running
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(sources)),
        mp_context=context,
        initializer=_init_chunk_worker,
        initargs=(sizer,),
    ) as pool:
        tasks = ((s.uri, s.data, s.lang) for s in sources)
        chunksize = max(1, min(32, len(sources) // (workers * 8)))
        yield from pool.map(_chunk_file_task, tasks, chunksize=chunksize)
    busy[0] += time.perf_counter() - t


class _EmbedThread(threading.Thread):
    """Embeds groups of texts (with their embedding-cache keys) from a bounded queue while the
    files are still being chunked."""

    def __init__(self, model: Embedder, advance: Callable[[int], None], depth: int = 4) -> None:
        super().__init__(name="codeintel-embed", daemon=True)
        self.model = model
        self.advance = advance
        self.jobs: queue.Queue[tuple[list[str], list[str]] | None] = queue.Queue(maxsize=depth)
        self.vectors: dict[str, np.ndarray] = {}
        self.error: BaseException | None = None
        self.busy = 0.0

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if self.error is not None:
                continue  # keep draining so the producer never blocks on a dead consumer
            keys, texts = job
            try:
                t = time.perf_counter()
                vectors = embed_batch(self.model, texts)
                self.busy += time.perf_counter() - t
                self.vectors.update(zip(keys, vectors, strict=True))
                self.advance(len(texts))
            except BaseException as exc:
                self.error = exc

    def submit(self, keys: list[str], texts: list[str]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put((keys, texts))

    def finish(self) -> dict[str, np.ndarray]:
        self.jobs.put(None)
        self.join()
        if self.error is not None:
            raise self.error
        return self.vectors


@dataclass
class PipelineStats:
    """What :func:`chunk_and_embed` did: counts and the busy seconds of each stage."""

    embedded: int = 0
    cache_hits: int = 0
    chunk_seconds: float = 0.0
    embed_seconds: float = 0.0


def chunk_and_embed(
    walk: WalkResult,
    previous: pa.Table | None,
    manifest: FileManifest,
    settings: str,
    info: EmbeddingInfo,
    sizer: chunker.ChunkSizer,
    cache: EmbeddingCache,
    model: Embedder,
    progress: Reporter,
    *,
    context: bool = False,
    workers: int = 1,
    group_batches: int = 4,
) -> tuple[ChunkPlan, EmbedPlan, dict[str, np.ndarray], PipelineStats]:
    """:func:`chunk_changed_files`, :func:`plan_embedding` and :func:`embed_chunks` overlapped:
    the same plan, embedded texts, keys, lengths and vectors.

    Files are chunked in file order with ``sizer`` (in ``workers`` processes when > 1; a sizer
    whose token counter cannot be pickled keeps chunking in this process, announced); each
    file's chunks get their embedded text, embedding-cache key and length here
    (:func:`plan_embedding`, ``context`` line included); every key with no vector yet (kept
    rows, embedding cache, earlier chunks) goes to a bounded queue in groups of
    ``group_batches`` model batches, which one thread embeds while chunking goes on (the
    runtimes release the GIL). The embedder sorts each group by length, so groups of several
    batches keep the length bucketing.

    :returns: (the plan, the new chunks' embedding plan, vectors by key, counts and busy seconds).
    """
    plan, to_chunk = _plan_reuse(walk, previous, manifest, settings, info)
    known = _kept_vectors(plan, previous, model.dim, context, sizer)
    if workers > 1 and len(to_chunk) > 1 and (why := _picklable(sizer)) is not None:
        progress.log(f"chunking in this process: the sizer cannot be sent to worker processes ({why})")
        workers = 1
    embedding = EmbedPlan(texts=[], keys=[], lengths=[])
    stats = PipelineStats()
    group = max(1, int(getattr(model, "batch_size", 256))) * max(1, group_batches)
    pending_keys: list[str] = []
    pending_texts: list[str] = []
    queued: set[str] = set()
    busy = [0.0]
    with (
        progress.task("chunking files", total=len(to_chunk)) as advance_files,
        progress.task(embed_label(model), total=None) as advance_chunks,
    ):
        worker = _EmbedThread(model, advance_chunks)
        worker.start()
        try:
            for chunks in _chunk_stream(to_chunk, sizer, workers, busy):
                plan.files_chunked += 1
                advance_files(1)
                plan.new_chunks.extend(chunks)
                part = plan_embedding(chunks, sizer, context)
                embedding.texts.extend(part.texts)
                embedding.keys.extend(part.keys)
                embedding.lengths.extend(part.lengths)
                for key, text in zip(part.keys, part.texts, strict=True):
                    if key in known or key in queued:
                        continue
                    cached = cache.get(key)
                    if cached is not None:
                        known[key] = cached
                        stats.cache_hits += 1
                        continue
                    queued.add(key)
                    pending_keys.append(key)
                    pending_texts.append(text)
                if len(pending_texts) >= group:
                    worker.submit(pending_keys, pending_texts)
                    pending_keys, pending_texts = [], []
            if pending_texts:
                worker.submit(pending_keys, pending_texts)
        finally:
            vectors = worker.finish()
    known.update(vectors)
    stats.embedded = len(queued)
    stats.chunk_seconds = busy[0]
    stats.embed_seconds = worker.busy
    return plan, embedding, known, stats


def assemble_chunk_set(
    plan: ChunkPlan,
    previous: pa.Table | None,
    known: dict[str, np.ndarray],
    info: EmbeddingInfo,
    id_salt: str | None,
    symbol_resolver: SymbolResolver | None,
    embedding: EmbedPlan | None = None,
    window: int | None = None,
) -> pa.Table:
    """New rows + kept rows in ``(uri, start_byte)`` order, symbols from the resolver (e.g.
    SCIP) applied, ids checked for collisions."""
    embedding = embedding or plan_embedding(plan.new_chunks, chunker.ChunkSizer.chars(), False)
    vectors = (
        np.stack([known[k] for k in embedding.keys])
        if plan.new_chunks
        else np.zeros((0, info.dim), dtype=np.float32)
    )
    table = _chunks_to_table(plan.new_chunks, vectors, info, id_salt, embedding.lengths, window)
    if plan.reused_rows and previous is not None:
        table = pa.concat_tables([table, _conform(previous.take(plan.reused_rows), info)])
    if table.num_rows:
        table = table.take(
            pc.sort_indices(table, sort_keys=[("uri", "ascending"), ("start_byte", "ascending")])
        )
    if symbol_resolver is not None:
        table = _apply_resolver(table, symbol_resolver)
    check_id_collisions(table)
    return table


def publish_chunk_set(
    root: DataRoot,
    table: pa.Table,
    known: dict[str, np.ndarray],
    cache: EmbeddingCache,
    walk: WalkResult,
    settings: str,
    shards: int | None,
    keys: Sequence[str] | None = None,
) -> tuple[chunkstore.ChunkSetWrite, str]:
    """Write the embedding cache (the vectors of ``keys``, default the content hashes), then
    the chunk set (only its changed shards: temp files + rename), then the file manifest.

    :returns: (what was written, the chunk set's fingerprint)."""
    source = keys if keys is not None else table.column("content_hash").to_pylist()
    hashes = list(dict.fromkeys(source))
    dim = cache.info.dim
    cache.save(hashes, np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, dim), np.float32))
    written = chunkstore.replace_chunk_set(root, table, shards=shards)
    fingerprint = chunkstore.fingerprint_table(table)
    FileManifest(
        settings_key=settings, fingerprint=fingerprint, files={f.uri: f.file_hash for f in walk.files}
    ).save(root, {f.uri: f.lang for f in walk.files})
    return written, fingerprint


# --- the chunk ingest ------------------------------------------------------------------------


@writes_data_root("ingest")
def ingest_repository(
    data_root: DataRootLike,
    repo: str | os.PathLike[str],
    *,
    embedder: str | Embedder | None = None,
    embedder_backend: str | None = None,
    languages: Sequence[str] | str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    include: Sequence[str] | str | None = None,
    exclude: Sequence[str] | str | None = None,
    default_skips: bool = True,
    chunk_budget: int | None = None,
    context: bool = False,
    id_salt: str | None = None,
    shards: int | None = None,
    engine: str | Engine = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    symbol_resolver: SymbolResolver | None = None,
    after_write: Callable[[IngestContext], dict[str, Any]] | None = None,
    overlap: bool = True,
    chunk_workers: int | None = None,
    progress: Reporter = NULL_PROGRESS,
) -> IngestResult:
    """Chunk, embed and publish ``repo`` as the chunks dataset of ``data_root``.

    Re-running on the same data root is incremental: unchanged files keep their rows, and only
    content hashes not seen before are embedded. The previous chunk set is replaced as a whole
    (rows of deleted files disappear). Nothing published is touched when an error is raised.

    :param data_root: the data root (None: ``$CODEINTEL_DATA_ROOT`` or ``data/``).
    :param repo: repository root folder.
    :param embedder: ``"minilm"`` (semantic), ``"hashing"`` (lexical) or an
        :class:`~python_ext.embed.Embedder`; default: the embedder the data root was built
        with, else ``minilm`` when its extra is installed, else ``hashing`` (announced).
    :param embedder_backend: MiniLM's backend (``auto``, ``torch``, ``onnx``, ``onnx-int8``,
        ``openvino``, ``openvino-bf16``, ``cuda``; :mod:`python_ext.embed.backends`); default:
        the data root's own backend, else ``auto``.
    :param languages: only these languages (``"python,go"`` or a list); default all.
    :param max_file_bytes: skip larger files (default 1,000,000).
    :param include: only files matching these gitignore-style globs (default all).
    :param exclude: leave out files and folders matching these globs; the repository's
        ``.codeintelignore`` applies too (:mod:`python_ext.ingest.scope`).
    :param default_skips: skip changelogs, lock files and generated code (default True).
    :param chunk_budget: the chunk size limit in the embedder's units: tokens for an embedder
        with a window (MiniLM: at most, and by default, 254 = 256 − [CLS]/[SEP]), else
        non-whitespace characters (default 1200). See :func:`python_ext.ingest.sizing.chunk_sizer`.
    :param context: give the embedder a first line naming the file and the enclosing symbol
        before each chunk's content (the stored content is unchanged; default off).
    :param id_salt: salt appended to every chunk id key (default none); changes every id.
    :param shards: lay the chunk set out in this many partitions by chunk id (default: the
        data root's current count, else one per 250,000 chunks); a re-ingest rewrites only the
        shards whose rows changed (:func:`python_ext.chunkstore.replace_chunk_set`).
    :param engine: where chunking and embedding run: ``local`` (this process) or ``ray``
        (Ray Data: tasks chunk, an actor pool embeds; :mod:`python_ext.ingest.ray_engine`), or an
        :class:`~python_ext.ingest.engine.Engine`. The published chunk set is the same.
    :param ray_address: ``engine="ray"``: the Ray cluster to join (default: ``$RAY_ADDRESS``, else
        a local instance for this ingest).
    :param workers: ``engine="ray"``: embedding actors (default: one per GPU, else per CPU).
    :param symbol_resolver: ``f(uri, start_line, end_line) -> list[str] | None``; a list
        replaces the chunk's tree-sitter symbols.
    :param after_write: ``f(IngestContext) -> dict``, run after the chunks are published; its
        dict becomes ``result.facts``.
    :param overlap: chunk and embed at the same time (:func:`chunk_and_embed`, default; the
        local engine only); False, or another engine, runs :func:`chunk_changed_files` then
        :func:`embed_chunks` on the engine.
    :param chunk_workers: chunking processes with ``overlap`` (default
        :func:`default_chunk_workers`; 1 chunks in this process).
    :param progress: progress reporter (bars for walking, chunking, embedding, with rates).
    :raises RepositoryNotFoundError: when ``repo`` is not an existing folder.
    :raises IdCollisionError: when two chunks get the same id.
    :raises MissingDependencyError: for ``minilm`` without the ``minilm`` extra, or
        ``engine="ray"`` without the ``ray`` extra.
    :raises ConfigError: an unknown or unavailable backend, a data root whose own backend
        cannot run here (without ``embedder_backend``), or a ``chunk_budget`` larger than the
        embedder's window holds.
    """
    t0 = time.perf_counter()
    root = resolve_data_root(data_root)
    runner = get_engine(engine, address=ray_address, workers=workers) if isinstance(engine, str) else engine
    try:
        return _ingest(
            root,
            repo,
            runner,
            embedder=embedder,
            embedder_backend=embedder_backend,
            languages=languages,
            max_file_bytes=max_file_bytes,
            include=include,
            exclude=exclude,
            default_skips=default_skips,
            chunk_budget=chunk_budget,
            context=context,
            id_salt=id_salt,
            shards=shards,
            symbol_resolver=symbol_resolver,
            after_write=after_write,
            overlap=overlap,
            chunk_workers=chunk_workers,
            progress=progress,
            t0=t0,
        )
    finally:
        if isinstance(engine, str):
            runner.close()


def _ingest(
    root: DataRoot,
    repo: str | os.PathLike[str],
    runner: Engine,
    *,
    embedder: str | Embedder | None,
    embedder_backend: str | None,
    languages: Sequence[str] | str | None,
    max_file_bytes: int,
    include: Sequence[str] | str | None,
    exclude: Sequence[str] | str | None,
    default_skips: bool,
    chunk_budget: int | None,
    context: bool,
    id_salt: str | None,
    shards: int | None,
    symbol_resolver: SymbolResolver | None,
    after_write: Callable[[IngestContext], dict[str, Any]] | None,
    overlap: bool,
    chunk_workers: int | None,
    progress: Reporter,
    t0: float,
) -> IngestResult:
    seconds: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = now - since
        return now

    model, backend_reason = choose_embedder(embedder, root, progress, embedder_backend)
    info = embedding_info(model)
    sizer = chunk_sizer(model, chunk_budget, context)
    t = lap("embedder", t0)
    walk = walk_repository(
        repo,
        languages=languages,
        max_file_bytes=max_file_bytes,
        include=include,
        exclude=exclude,
        default_skips=default_skips,
        progress=progress,
    )
    t = lap("walk", t)

    previous = read_previous(root)
    settings = _settings_key(info, sizer, context, id_salt)
    manifest = FileManifest.load(root)
    cache = EmbeddingCache(root, info)
    # the overlapped pipeline is the local engine's; another engine runs the two steps its way
    overlap = overlap and isinstance(runner, LocalEngine)
    if overlap:
        workers = default_chunk_workers() if chunk_workers is None else max(1, chunk_workers)
        plan, embedding, known, stats = chunk_and_embed(
            walk,
            previous,
            manifest,
            settings,
            info,
            sizer,
            cache,
            model,
            progress,
            context=context,
            workers=workers,
        )
        embedded, hits = stats.embedded, stats.cache_hits
        chunk_busy, embed_busy = stats.chunk_seconds, stats.embed_seconds
        t = lap("chunk+embed", t)
    else:
        plan = chunk_changed_files(walk, previous, manifest, settings, info, sizer, progress, runner)
        t = lap("chunk", t)
        chunk_busy = seconds["chunk"]
        embedding = plan_embedding(plan.new_chunks, sizer, context)
        known, embedded, hits = embed_chunks(
            plan, previous, cache, model, progress, embedding, context, sizer, runner
        )
        t = lap("embed", t)
        embed_busy = seconds["embed"]

    table = assemble_chunk_set(plan, previous, known, info, id_salt, symbol_resolver, embedding, sizer.window)
    truncated = int(pc.sum(table.column("truncated")).as_py() or 0) if table.num_rows else 0
    chunking = ChunkingInfo(
        chunker.CHUNKER_VERSION, sizer.unit, sizer.limit, sizer.window, context, truncated
    )
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **chunking.to_metadata()})
    keys = [*embedding.keys, *plan.reused_keys]
    written, fingerprint = publish_chunk_set(root, table, known, cache, walk, settings, shards, keys)
    t = lap("write", t)

    result = IngestResult(
        repo=str(walk.root),
        data_root=str(root.root),
        embedder=info.model,
        embedding_kind=info.kind,
        dim=info.dim,
        normalized=info.normalized,
        embedder_backend=info.backend,
        embedder_precision=info.precision,
        backend_reason=backend_reason,
        files_ingested=len(walk.files),
        bytes_ingested=walk.total_bytes,
        files_skipped=dict(sorted(walk.skipped.items())),
        dirs_skipped=dict(sorted(walk.skipped_dirs.items())),
        scope=walk.scope.to_dict(),
        languages=dict(sorted(Counter(f.lang for f in walk.files).items())),
        chunks=table.num_rows,
        files_chunked=plan.files_chunked,
        files_reused=len(walk.files) - plan.files_chunked,
        embedded=embedded,
        embed_cache_hits=hits,
        chunking=chunking_summary(table, chunking),
        shards=written.shards,
        shards_rewritten=len(written.rewritten),
        chunk_files=[str(p) for p in written.files],
        fingerprint=fingerprint,
    )
    diff_chunk_sets(previous, table, result)

    if after_write is not None:
        written_context = IngestContext(
            repo=walk.root,
            data_root=root,
            walk=walk,
            embedding=info,
            chunk_files=written.files,
            progress=progress,
            options={
                "languages": languages,
                "max_file_bytes": max_file_bytes,
                "include": include,
                "exclude": exclude,
                "default_skips": default_skips,
                "chunk_budget": chunk_budget,
                "context": context,
            },
        )
        result.facts = dict(after_write(written_context) or {})
        lap("after_write", t)
    seconds["total"] = time.perf_counter() - t0
    if overlap:
        seconds["chunk"], seconds["embed"] = chunk_busy, embed_busy
    result.seconds = {k: round(v, 3) for k, v in seconds.items()}
    result.rates = {
        "chunks_per_s": round(table.num_rows / seconds["total"], 2) if seconds["total"] > 0 else 0.0,
        "files_chunked_per_s": round(plan.files_chunked / chunk_busy, 2) if chunk_busy > 0 else 0.0,
        "embedded_per_s": round(embedded / embed_busy, 2) if embed_busy > 0 else 0.0,
    }
    return result
