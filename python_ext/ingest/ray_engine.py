"""The ``ray`` ingest engine: chunking with Ray tasks, embedding with a Ray Data actor pool.

Two Ray Data pipelines per ingest, both fed from the driver (no read tasks, so no source
task can starve for CPUs while actors hold them):

1. **chunk** — ``from_items`` over the files to chunk (uri, bytes, language) →
   ``map_batches(chunk_batch)`` as tasks; each returns its files' chunks (pickled, the same
   objects the local engine makes);
2. **embed** — the texts the driver found neither in the kept rows nor in the embedding
   cache, ``from_arrow`` in blocks → ``map_batches(EmbedActor, ActorPoolStrategy(size=W))``:
   each actor builds a :class:`~python_ext.embed.batch.BatchEmbedder` once (the model is
   loaded once per actor) and returns ``fixed_size_list<float32, d>`` columns (never Ray's
   tensor extension type). Every actor embeds on the driver's own backend (the one the chunk
   set records, e.g. ``openvino-bf16``), never one it picks itself, so the vectors of one
   chunk set never mix backends; when that backend is ``cuda`` every actor asks for one GPU.

The driver keeps the order (a row number travels with every text), assembles and publishes
the chunk set exactly as the local engine does, so both write the same partitioned Parquet
and the same embedding cache.

Without ``address`` (and without ``$RAY_ADDRESS``) a private local instance is started for
the ingest and stopped after it: bound to 127.0.0.1, no dashboard, usage statistics off,
object store capped at 512 MiB, session files under a short temporary folder.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from python_ext.contracts import embedding_type
from python_ext.embed.base import Embedder
from python_ext.embed.batch import BatchEmbedder, EmbedderSpec
from python_ext.errors import ConfigError, ContractError
from python_ext.progress import NULL_PROGRESS, Reporter
from python_ext.quiet import silenced

#: Environment that keeps a local Ray instance quiet and offline (set before ``import ray``).
QUIET_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_IMPORT_WARNING": "1",
    "RAY_BACKEND_LOG_LEVEL": "fatal",
    "RAY_DATA_LOG_LEVEL": "ERROR",
    "RAY_enable_metrics_collection": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
    "RAY_AUTH_MODE": "disabled",
}
#: CPUs an actor or task asks for: a fraction, so W actors never hold every CPU of a small
#: machine (a Ray Data pipeline whose actors hold all CPUs waits forever for its other tasks).
ACTOR_CPUS = 0.5
OBJECT_STORE_BYTES = 512 * 1024**2


def chunk_batch(batch: pa.Table, chunk: Any) -> pa.Table:
    """Ray task: chunk every file of a batch (``index``, ``uri``, ``data``, ``lang``)."""
    out = []
    for uri, data, lang in zip(
        batch.column("uri").to_pylist(),
        batch.column("data").to_pylist(),
        batch.column("lang").to_pylist(),
        strict=True,
    ):
        out.append(pickle.dumps(chunk(uri, data, lang), protocol=pickle.HIGHEST_PROTOCOL))
    return pa.table({"index": batch.column("index"), "chunks": pa.array(out, pa.binary())})


class EmbedActor:
    """Ray actor: one :class:`BatchEmbedder` (one model load) embedding batch after batch."""

    def __init__(self, spec: EmbedderSpec) -> None:
        self.model = BatchEmbedder(spec)
        self.dim = spec.dim

    def __call__(self, batch: pa.Table) -> pa.Table:
        vectors = self.model(batch.column("text").to_pylist())
        flat = pa.array(vectors.reshape(-1), pa.float32())
        return pa.table(
            {
                "row": batch.column("row"),
                "embedding": pa.FixedSizeListArray.from_arrays(flat, type=embedding_type(self.dim)),
            }
        )


class RayEngine:
    """Chunk and embed on Ray (a local instance, or the cluster at ``address``).

    :param address: the cluster to join; default ``$RAY_ADDRESS``, else a local instance.
    :param workers: embedding actors (default: GPUs of the cluster for the ``cuda`` backend,
        else its CPUs).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self._started = False
        self._tmp: str | None = None

    # --- the Ray instance ------------------------------------------------------------------
    def _ray(self) -> Any:
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)
        import ray

        if not ray.is_initialized():
            # Ray Data reports every finished dataset and its own settings at INFO/WARNING: the
            # ingest's progress bars and summary say what happened
            for name in ("ray", "ray.data"):
                logging.getLogger(name).setLevel(logging.ERROR)
            warnings.filterwarnings("ignore", module=r"ray\..*")
            if self.address:
                ray.init(address=self.address, logging_level="error", log_to_driver=False)
            else:
                # a short private folder: Ray's Unix socket paths must stay under ~107 bytes
                self._tmp = tempfile.mkdtemp(prefix="cray-", dir="/tmp")
                with silenced(2):  # the C++ core worker announces its log level there
                    ray.init(
                        num_cpus=os.cpu_count() or 1,
                        include_dashboard=False,
                        _node_ip_address="127.0.0.1",
                        _temp_dir=self._tmp,
                        object_store_memory=OBJECT_STORE_BYTES,
                        logging_level="error",
                        log_to_driver=False,
                        configure_logging=True,
                    )
                self._started = True
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            context.print_on_execution_start = False
            context.verbose_stats_logs = False
        return ray

    def close(self) -> None:
        """Stop the local instance this engine started (a joined cluster keeps running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def resources(self) -> dict[str, float]:
        """CPUs and GPUs of the instance or cluster."""
        ray = self._ray()
        total = ray.cluster_resources()
        return {"CPU": float(total.get("CPU", 1.0)), "GPU": float(total.get("GPU", 0.0))}

    # --- the work --------------------------------------------------------------------------
    def chunk_files(
        self, files: Sequence[tuple[str, bytes, str]], chunk: Any, progress: Reporter = NULL_PROGRESS
    ) -> list[list]:
        out: list[list] = [[] for _ in files]
        if not files:
            return out
        ray = self._ray()
        cpus = int(self.resources()["CPU"])
        items = [{"index": i, "uri": u, "data": d, "lang": lang} for i, (u, d, lang) in enumerate(files)]
        blocks = max(1, min(len(items), 4 * cpus))
        ds = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            chunk_batch,
            fn_kwargs={"chunk": chunk},
            batch_format="pyarrow",
            batch_size=max(1, -(-len(items) // blocks)),
            num_cpus=ACTOR_CPUS,
        )
        with progress.task("chunking files (ray)", total=len(files)) as advance:
            for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                for index, blob in zip(
                    batch.column("index").to_pylist(), batch.column("chunks").to_pylist(), strict=True
                ):
                    out[index] = pickle.loads(blob)
                advance(batch.num_rows)
        return out

    def embed(
        self, texts: Sequence[str], embedder: Embedder, progress: Reporter = NULL_PROGRESS
    ) -> np.ndarray:
        out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        if not texts:
            return out
        ray = self._ray()
        res = self.resources()
        # the actors embed on the driver's backend (what the chunk set records): GPU actors when
        # that backend is cuda, CPU actors otherwise
        spec = EmbedderSpec.of(embedder)
        gpus = int(res["GPU"]) if spec.device == "cuda" else 0
        if spec.device == "cuda" and not gpus:
            raise ConfigError(
                f"{embedder.name} embeds on cuda here, and the Ray cluster has no GPU",
                hint="join a cluster with GPUs (--ray-address), or pass a CPU --embedder-backend",
            )
        workers = self.workers or (gpus or max(1, int(res["CPU"])))
        spec = replace(spec, threads=max(1, int(res["CPU"]) // workers))
        batch = max(1, int(getattr(embedder, "batch_size", 256)))
        table = pa.table({"row": pa.array(np.arange(len(texts), dtype=np.int64)), "text": list(texts)})
        # at least one block per actor, at most four batches per block
        size = max(1, min(4 * batch, -(-len(texts) // workers)))
        blocks = [table.slice(i, size) for i in range(0, table.num_rows, size)]
        ds = ray.data.from_arrow(blocks).map_batches(
            EmbedActor,
            fn_constructor_kwargs={"spec": spec},
            batch_format="pyarrow",
            batch_size=batch,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=ACTOR_CPUS,
            num_gpus=1 if gpus else 0,
        )
        seen = 0
        with progress.task(
            f"embedding ({embedder.name}, {embedder.kind}; ray, {workers} actors)", total=len(texts)
        ) as advance:
            for part in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                rows = part.column("row").to_numpy()
                vectors = part.column("embedding").combine_chunks().flatten().to_numpy()
                out[rows] = vectors.reshape(len(rows), embedder.dim)
                seen += len(rows)
                advance(len(rows))
        if seen != len(texts):
            raise ContractError(f"the ray engine returned {seen} vectors for {len(texts)} texts")
        return out
