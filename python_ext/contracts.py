"""The Arrow schemas of every Parquet contract (docs/contracts.md), in one place.

Every writer builds its tables with these schemas and every reader checks against them, so a
contract changes in exactly one module. Positions follow docs/contracts.md#conventions: lines
are 1-based inclusive, bytes and chars 0-based with an exclusive end.

Embedding metadata (model, dim, normalization, kind, backend, precision) travels in Parquet
key-value metadata under the ``codeintel.embedding.*`` keys; :class:`EmbeddingInfo` reads and writes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONTRACT_VERSION = "1"

# --- chunks -------------------------------------------------------------------------------

#: Columns of the chunks contract, except the embedding whose width depends on the model.
CHUNK_BASE_FIELDS: list[pa.Field] = [
    pa.field("id", pa.int64(), nullable=False),
    pa.field("uri", pa.string(), nullable=False),
    pa.field("start_line", pa.int32(), nullable=False),
    pa.field("end_line", pa.int32(), nullable=False),
    pa.field("start_byte", pa.int64(), nullable=False),
    pa.field("end_byte", pa.int64(), nullable=False),
    pa.field("preview", pa.string(), nullable=False),
    pa.field("content", pa.string(), nullable=False),
    pa.field("lang", pa.string(), nullable=False),
]
CHUNK_TAIL_FIELDS: list[pa.Field] = [
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("symbols", pa.list_(pa.string()), nullable=False),
]
#: Columns written by ``indexctl ingest`` that other producers may leave out (null when unknown):
#: the innermost definition enclosing the chunk, the length of the text the embedder was given
#: in its own units (tokens with the special tokens, or non-whitespace characters), and whether
#: that text was longer than the embedder's window (so the embedder saw only its start).
CHUNK_OPTIONAL_FIELDS: list[pa.Field] = [
    pa.field("enclosing_symbol", pa.string()),
    pa.field("embed_length", pa.int32()),
    pa.field("truncated", pa.bool_()),
]
PREVIEW_MAX_CHARS = 240

#: Embedding kinds: what the vectors mean. ``lexical`` vectors are hashed identifier tokens and
#: must never be presented as semantic.
EMBEDDING_KINDS = ("semantic", "lexical", "precomputed")

META_PREFIX = "codeintel."


#: ``codeintel.embedding.backend`` / ``.precision`` of semantic vectors written before backends
#: were recorded: every one of them came from sentence-transformers on torch, in fp32.
LEGACY_SEMANTIC_BACKEND = ("torch", "fp32")


@dataclass(frozen=True)
class EmbeddingInfo:
    """What produced the embedding column: recorded in Parquet key-value metadata.

    The identity of the vectors is the model **and** the backend and precision that ran it:
    the same weights on another runtime or at another precision give (slightly) different
    vectors, so they never share a cache entry or an incremental re-ingest.

    :param model: model name, e.g. ``all-MiniLM-L6-v2`` or ``hashing-v1``.
    :param dim: embedding width d.
    :param normalized: True when vectors are L2-normalized (cosine / inner product).
    :param kind: one of :data:`EMBEDDING_KINDS`.
    :param backend: the runtime that computed the vectors (``torch``, ``onnxruntime``,
        ``openvino``, ``torch-cuda``); empty for embedders that have no backends (lexical,
        precomputed without the key).
    :param precision: the numeric precision of the model call (``fp32``, ``int8``, ``bf16``);
        empty together with ``backend``.
    """

    model: str
    dim: int
    normalized: bool
    kind: str = "semantic"
    backend: str = ""
    precision: str = ""

    @property
    def identity(self) -> str:
        """The model plus its backend and precision, e.g. ``all-MiniLM-L6-v2@openvino-bf16``;
        the bare model name when it has no backend (the embedding-cache and eval-cache key)."""
        return f"{self.model}@{self.backend}-{self.precision}" if self.backend else self.model

    def to_metadata(self) -> dict[bytes, bytes]:
        meta = {
            b"codeintel.contract": f"chunks/{CONTRACT_VERSION}".encode(),
            b"codeintel.embedding.model": self.model.encode(),
            b"codeintel.embedding.dim": str(self.dim).encode(),
            b"codeintel.embedding.normalized": str(self.normalized).lower().encode(),
            b"codeintel.embedding.kind": self.kind.encode(),
        }
        if self.backend:
            meta[b"codeintel.embedding.backend"] = self.backend.encode()
            meta[b"codeintel.embedding.precision"] = self.precision.encode()
        return meta

    @classmethod
    def from_metadata(cls, metadata: dict[bytes, bytes] | None) -> EmbeddingInfo | None:
        """Parse the ``codeintel.embedding.*`` keys; None when they are absent.

        Semantic vectors without a recorded backend were written before backends existed and
        are read as :data:`LEGACY_SEMANTIC_BACKEND` (torch, fp32): that is what produced them.
        """
        if not metadata or b"codeintel.embedding.model" not in metadata:
            return None
        kind = metadata.get(b"codeintel.embedding.kind", b"semantic").decode()
        backend = metadata.get(b"codeintel.embedding.backend", b"").decode()
        precision = metadata.get(b"codeintel.embedding.precision", b"").decode()
        if not backend and kind == "semantic":
            backend, precision = LEGACY_SEMANTIC_BACKEND
        return cls(
            model=metadata[b"codeintel.embedding.model"].decode(),
            dim=int(metadata[b"codeintel.embedding.dim"]),
            normalized=metadata.get(b"codeintel.embedding.normalized", b"false") == b"true",
            kind=kind,
            backend=backend,
            precision=precision,
        )

    @classmethod
    def from_manifest(cls, manifest: dict[str, object]) -> EmbeddingInfo:
        """The corpus's info as an index version records it (``version.json``: ``embedding_*``
        keys); a version written before backends were recorded follows the same legacy rule."""
        kind = str(manifest.get("embedding_kind", "semantic"))
        backend = str(manifest.get("embedding_backend", "") or "")
        precision = str(manifest.get("embedding_precision", "") or "")
        if not backend and kind == "semantic":
            backend, precision = LEGACY_SEMANTIC_BACKEND
        return cls(
            model=str(manifest["embedding_model"]),
            dim=int(manifest["dim"]),  # type: ignore[call-overload]
            normalized=bool(manifest.get("embedding_normalized", True)),
            kind=kind,
            backend=backend,
            precision=precision,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class ChunkingInfo:
    """How a chunk set was cut: recorded in Parquet key-value metadata (``codeintel.chunking.*``).

    :param version: the chunker's rules version (``cast-3``).
    :param unit: ``tokens`` (the embedder's tokens) or ``chars`` (non-whitespace characters).
    :param limit: the most units of chunk content.
    :param window: the embedder's window in tokens, special tokens included (None: unbounded).
    :param context: True when the embedder was given a context line (path, enclosing symbol)
        before each chunk's content.
    :param truncated: chunks whose embedded text was longer than the window.
    """

    version: str
    unit: str
    limit: int
    window: int | None = None
    context: bool = False
    truncated: int = 0

    def to_metadata(self) -> dict[bytes, bytes]:
        return {
            b"codeintel.chunking.version": self.version.encode(),
            b"codeintel.chunking.unit": self.unit.encode(),
            b"codeintel.chunking.limit": str(self.limit).encode(),
            b"codeintel.chunking.window": str(self.window or "").encode(),
            b"codeintel.chunking.context": str(self.context).lower().encode(),
            b"codeintel.chunking.truncated": str(self.truncated).encode(),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[bytes, bytes] | None) -> ChunkingInfo | None:
        """Parse the ``codeintel.chunking.*`` keys; None when they are absent."""
        if not metadata or b"codeintel.chunking.version" not in metadata:
            return None
        window = metadata.get(b"codeintel.chunking.window", b"").decode()
        return cls(
            version=metadata[b"codeintel.chunking.version"].decode(),
            unit=metadata.get(b"codeintel.chunking.unit", b"chars").decode(),
            limit=int(metadata.get(b"codeintel.chunking.limit", b"0")),
            window=int(window) if window else None,
            context=metadata.get(b"codeintel.chunking.context", b"false") == b"true",
            truncated=int(metadata.get(b"codeintel.chunking.truncated", b"0")),
        )


def embedding_type(dim: int) -> pa.DataType:
    """Arrow type of the embedding column: ``fixed_size_list<float32, dim>``."""
    return pa.list_(pa.field("item", pa.float32()), dim)


def chunks_schema(
    dim: int,
    info: EmbeddingInfo | None = None,
    chunking: ChunkingInfo | None = None,
    *,
    optional: bool = False,
) -> pa.Schema:
    """The chunks contract for embedding width ``dim``, with metadata from ``info`` (and
    ``chunking``); ``optional=True`` adds :data:`CHUNK_OPTIONAL_FIELDS` (what ingest writes)."""
    fields = [
        *CHUNK_BASE_FIELDS,
        pa.field("embedding", embedding_type(dim), nullable=False),
        *CHUNK_TAIL_FIELDS,
        *(CHUNK_OPTIONAL_FIELDS if optional else []),
    ]
    metadata = {**(info.to_metadata() if info else {}), **(chunking.to_metadata() if chunking else {})}
    return pa.schema(fields, metadata=metadata or None)


def read_parquet_file(
    path: str | Path, *, what: str, hint: str, columns: list[str] | None = None
) -> pa.Table:
    """Read a Parquet input of the data root; any unreadable file is a clear error.

    :param what: the contract's name for the message (``eval queries``, ``eval runs``…).
    :param hint: the fix (usually the command that rewrites the file).
    :param columns: only these columns (each must exist).
    :raises ContractError: garbage, truncated or empty file, a missing column; the message
        names the file.
    """
    from python_ext.errors import ContractError

    try:
        if columns is not None:
            names = pq.read_schema(path).names
            missing = [c for c in columns if c not in names]
            if missing:
                raise ContractError(
                    f"{path}: missing column(s) {', '.join(missing)} of the {what} contract", hint=hint
                )
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ContractError(f"{path}: not a readable {what} Parquet file ({detail})", hint=hint) from exc


def read_embedding_info(path: str | Path) -> EmbeddingInfo | None:
    """Read the embedding metadata of one chunks Parquet file (None if absent)."""
    return EmbeddingInfo.from_metadata(pq.read_schema(path).metadata)


# --- FAISS id map -------------------------------------------------------------------------

FAISS_IDMAP_SCHEMA = pa.schema(
    [
        pa.field("faiss_row", pa.int64(), nullable=False),
        pa.field("faiss_id", pa.int64(), nullable=False),
        pa.field("chunk_id", pa.int64(), nullable=False),
        pa.field("index_name", pa.string(), nullable=False),
        pa.field("build_version", pa.string(), nullable=False),
        pa.field("built_at", pa.timestamp("us"), nullable=False),
    ]
)

#: The chunks of an index version as search shows them, one row per FAISS row in row order
#: (``<version>/chunk_meta.parquet``, written by ``indexctl index build``): a version answers
#: with the paths, lines and symbols it was built on, whatever the chunks are now.
CHUNK_META_SCHEMA = pa.schema(
    [
        pa.field("faiss_row", pa.int64(), nullable=False),
        pa.field("chunk_id", pa.int64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("start_line", pa.int32(), nullable=False),
        pa.field("end_line", pa.int32(), nullable=False),
        pa.field("language", pa.string(), nullable=False),
        pa.field("symbols", pa.list_(pa.string()), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("preview", pa.string(), nullable=False),
        # the innermost definition around the chunk (null at top level): what a hit on a chunk
        # that defines nothing itself (the rest of a long function) shows; null in versions
        # built before it was recorded
        pa.field("enclosing_symbol", pa.string()),
    ]
)

#: Pareto frontier written by ``indexctl index tune`` (one row per operating point explored).
TUNING_FRONTIER_SCHEMA = pa.schema(
    [
        pa.field("build_version", pa.string(), nullable=False),
        pa.field("factory", pa.string(), nullable=False),
        pa.field("operating_point", pa.string(), nullable=False),
        pa.field("recall_at_k", pa.float64(), nullable=False),
        pa.field("k", pa.int32(), nullable=False),
        pa.field("ms_per_query", pa.float64(), nullable=False),
        pa.field("is_pareto", pa.bool_(), nullable=False),
        pa.field("is_chosen", pa.bool_(), nullable=False),
    ]
)

# --- code-intelligence facts ----------------------------------------------------------------

MODULES_SCHEMA = pa.schema(
    [
        pa.field("module_id", pa.string(), nullable=False),
        pa.field("uri_prefix", pa.string(), nullable=False),
        pa.field("language", pa.string(), nullable=False),
        pa.field("size_loc", pa.int32(), nullable=False),
        pa.field("cyclomatic", pa.float64(), nullable=False),
        pa.field("doc_cov", pa.float64(), nullable=False),
        pa.field("in_deg", pa.int32(), nullable=False),
        pa.field("out_deg", pa.int32(), nullable=False),
        pa.field("centrality", pa.float64(), nullable=False),
    ]
)

SYMBOL_EDGE_KINDS = ("calls", "references", "imports", "inherits", "implements", "defines")
#: How an edge's target was resolved, from surest to weakest: by a SCIP indexer (``scip``),
#: through an import the file makes (``import``), inside the same file or class
#: (``same_module``), or only because one definition in the repository has that name
#: (``name_only``: a guess; e.g. Go ``q.Set`` on a ``url.Values`` taken for ``prometheus.gauge.Set``).
SYMBOL_RESOLUTIONS = ("scip", "import", "same_module", "name_only")

SYMBOL_EDGES_SCHEMA = pa.schema(
    [
        pa.field("src_symbol", pa.string(), nullable=False),
        pa.field("dst_symbol", pa.string(), nullable=False),
        pa.field("edge", pa.string(), nullable=False),
        pa.field("weight", pa.float64(), nullable=False),
        pa.field("src_uri", pa.string()),
        pa.field("dst_uri", pa.string()),
        pa.field("resolution", pa.string()),
    ]
)

#: Syntax-tree nodes (``ast/ast_nodes.parquet``): each file's root, its top-level children, every
#: declaration and its named children down to the configured level. ``parent_id`` is the
#: nearest recorded node containing it (null for a root), ``depth`` its depth in that recorded
#: tree (root 0), ``text_hash`` xxh64 of ``file_bytes[start_byte:end_byte]``; ``name`` and
#: ``symbol`` (the qualified name the chunker uses) are set for declarations.
AST_NODES_SCHEMA = pa.schema(
    [
        pa.field("node_id", pa.int64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("start_byte", pa.int64(), nullable=False),
        pa.field("end_byte", pa.int64(), nullable=False),
        pa.field("parent_id", pa.int64()),
        pa.field("depth", pa.int32(), nullable=False),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("start_line", pa.int32(), nullable=False),
        pa.field("end_line", pa.int32(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("symbol", pa.string()),
    ]
)

#: One row per (node, chunk) that share bytes: ``overlap_bytes`` > 0, and whether the node lies
#: wholly inside the chunk (``node_in_chunk``) or the chunk wholly inside the node.
NODE_TO_CHUNK_SCHEMA = pa.schema(
    [
        pa.field("node_id", pa.int64(), nullable=False),
        pa.field("chunk_id", pa.int64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("overlap_bytes", pa.int64(), nullable=False),
        pa.field("node_in_chunk", pa.bool_(), nullable=False),
        pa.field("chunk_in_node", pa.bool_(), nullable=False),
    ]
)

#: SCIP SymbolRole bits (scip.proto) and the role names they decode to.
SCIP_ROLE_BITS: dict[str, int] = {
    "def": 1,  # Definition
    "import": 2,  # Import
    "write": 4,  # WriteAccess
    "read": 8,  # ReadAccess
    "generated": 16,  # Generated
    "test": 32,  # Test
    "forward_def": 64,  # ForwardDefinition
}

SCIP_OCCURRENCES_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("role_bits", pa.int32(), nullable=False),
        pa.field("start_line", pa.int32(), nullable=False),
        pa.field("start_char", pa.int32(), nullable=False),
        pa.field("end_line", pa.int32(), nullable=False),
        pa.field("end_char", pa.int32(), nullable=False),
    ]
)

SCIP_SYMBOLS_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("display_name", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("documentation", pa.string()),
        pa.field("uri", pa.string()),
    ]
)

# --- evaluation -----------------------------------------------------------------------------

EVAL_CHANNELS = ("faiss", "flat", "bm25", "splade", "hybrid")

EVAL_QUERIES_SCHEMA = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("positives", pa.list_(pa.int64()), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("meta", pa.string()),
    ]
)

EVAL_POOL_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("chunk_id", pa.int64(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
    ]
)

EVAL_METRICS_TYPE = pa.struct(
    [
        pa.field("source", pa.string()),
        pa.field("recall_at_k", pa.float64()),
        pa.field("mrr_at_k", pa.float64()),
        pa.field("ndcg_at_k", pa.float64()),
        pa.field("oracle_overlap_at_k", pa.float64()),
        pa.field("queries_per_s", pa.float64()),
    ]
)

EVAL_RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", pa.timestamp("us"), nullable=False),
        pa.field("index_version", pa.string()),
        pa.field("operating_point", pa.string()),
        pa.field("k", pa.int32(), nullable=False),
        pa.field("n_queries", pa.int32(), nullable=False),
        pa.field("channels", pa.list_(pa.string()), nullable=False),
        pa.field("rrf_k0", pa.int32()),
        pa.field("wall_seconds", pa.float64()),
        pa.field("metrics", pa.list_(EVAL_METRICS_TYPE), nullable=False),
        # the run's query set, sorted (null in runs recorded before the column existed)
        pa.field("query_ids", pa.list_(pa.string())),
        # sha256 of the query set's ids, texts and positives (null in runs recorded before it)
        pa.field("queries_fingerprint", pa.string()),
    ]
)

#: Every fixed-schema contract by name (chunks is built per dim with :func:`chunks_schema`).
CONTRACTS: dict[str, pa.Schema] = {
    "faiss_idmap": FAISS_IDMAP_SCHEMA,
    "chunk_meta": CHUNK_META_SCHEMA,
    "tuning_frontier": TUNING_FRONTIER_SCHEMA,
    "modules": MODULES_SCHEMA,
    "symbol_edges": SYMBOL_EDGES_SCHEMA,
    "scip_occurrences": SCIP_OCCURRENCES_SCHEMA,
    "scip_symbols": SCIP_SYMBOLS_SCHEMA,
    "ast_nodes": AST_NODES_SCHEMA,
    "node_to_chunk": NODE_TO_CHUNK_SCHEMA,
    "eval_queries": EVAL_QUERIES_SCHEMA,
    "eval_pool": EVAL_POOL_SCHEMA,
    "eval_runs": EVAL_RUNS_SCHEMA,
}


def empty_table(schema: pa.Schema) -> pa.Table:
    """A zero-row table with exactly ``schema`` (used for valid empty outputs)."""
    return schema.empty_table()
