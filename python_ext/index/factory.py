"""Choose a FAISS index factory string from the corpus size N and width d (``--factory auto``).

The rules follow FAISS's own guidance ("Guidelines to choose an index" in the FAISS wiki):

* **N < 50,000 → ``Flat``.** Exact search is cheap at this size and needs no training.
* **N < 1,000,000 → ``IVF{K},Flat``** with K the power of two nearest 8·√N (inside FAISS's
  4·√N–16·√N range) and at most N/39 (k-means wants ≥ 39 training points per centroid).
  Trained on a sample of ``min(N, 64·K)`` vectors.
* **N ≥ 1,000,000 → ``IVF{K}_HNSW32,Flat``**, K the power of two nearest 4·√N: with thousands
  of centroids an HNSW coarse quantizer finds the nprobe nearest lists much faster than a flat
  scan over the centroids.
* **Raw vectors larger than the memory budget (default 16 GiB) → ``IVF{K}_HNSW32,SQ8``**:
  8-bit scalar quantization stores each vector in d bytes (4× smaller than float32).

Every index is wrapped in ``IndexIDMap2`` (``IDMap2,`` prefix) so searches return chunk ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import faiss

from python_ext.errors import ConfigError

FLAT_MAX_N = 50_000
IVF_FLAT_MAX_N = 1_000_000
MEMORY_BUDGET_BYTES = 16 * 1024**3
METRICS = {"ip": faiss.METRIC_INNER_PRODUCT, "l2": faiss.METRIC_L2}


@dataclass(frozen=True)
class FactoryChoice:
    """A factory string (without the ``IDMap2,`` wrapper) and why it was chosen.

    :param factory: e.g. ``IVF1024,Flat``.
    :param reason: one sentence naming the rule that applied.
    :param train_size: how many vectors to train on (0 when the index needs no training).
    """

    factory: str
    reason: str
    train_size: int

    def to_dict(self) -> dict[str, Any]:
        return {"factory": self.factory, "reason": self.reason, "train_size": self.train_size}


def _pow2_near(x: float) -> int:
    return 1 << max(0, round(math.log2(max(x, 1.0))))


def metric_code(metric: str) -> int:
    """FAISS metric constant for ``ip`` or ``l2``."""
    if metric not in METRICS:
        raise ConfigError(f"--metric must be ip or l2 (got {metric!r})", hint="use --metric ip")
    return METRICS[metric]


def choose_factory(n: int, d: int, memory_budget: int = MEMORY_BUDGET_BYTES) -> FactoryChoice:
    """Pick the factory string for ``n`` vectors of width ``d`` (see the module rules).

    :param n: number of vectors (chunks).
    :param d: vector width.
    :param memory_budget: bytes the raw float32 vectors may take before SQ8 is used.
    """
    raw = n * d * 4
    if n < FLAT_MAX_N:
        return FactoryChoice(
            "Flat", f"N={n:,} < {FLAT_MAX_N:,}: exact search is cheap at this size and needs no training", 0
        )
    if n < IVF_FLAT_MAX_N:
        k = min(_pow2_near(8 * math.sqrt(n)), _pow2_floor(n // 39))
        return FactoryChoice(
            f"IVF{k},Flat",
            f"{FLAT_MAX_N:,} <= N={n:,} < {IVF_FLAT_MAX_N:,}: inverted file with K={k} lists "
            f"(~8*sqrt(N), within FAISS's 4-16*sqrt(N)), raw vectors kept, recall tuned by nprobe",
            min(n, 64 * k),
        )
    k = _pow2_near(4 * math.sqrt(n))
    train = min(n, max(39 * k, min(64 * k, 256_000)))
    if raw > memory_budget:
        return FactoryChoice(
            f"IVF{k}_HNSW32,SQ8",
            f"N={n:,}, d={d}: raw vectors ({raw / 1024**3:.1f} GiB) exceed the memory budget "
            f"({memory_budget / 1024**3:.0f} GiB): IVF with K={k} lists, HNSW coarse quantizer, "
            "8-bit scalar quantization (4x smaller)",
            train,
        )
    return FactoryChoice(
        f"IVF{k}_HNSW32,Flat",
        f"N={n:,} >= {IVF_FLAT_MAX_N:,}: inverted file with K={k} lists (~4*sqrt(N)) and an HNSW "
        "coarse quantizer (fast list selection with thousands of centroids), raw vectors kept",
        train,
    )


def _pow2_floor(x: int) -> int:
    return 1 << max(0, int(x).bit_length() - 1)


def explicit_factory(factory: str, n: int, d: int, metric: str) -> FactoryChoice:
    """Check a user-given factory string by instantiating it; report its training sample size.

    :raises ConfigError: FAISS rejects the string for this d/metric.
    """
    inner = factory.removeprefix("IDMap2,").removeprefix("IDMap,")
    try:
        index = faiss.index_factory(d, inner, metric_code(metric))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "rejected"
        raise ConfigError(
            f"--factory {factory!r} is not a valid FAISS factory string for d={d}: {first}",
            hint="use --factory auto, or a string such as Flat, IVF1024,Flat, HNSW32,Flat",
        ) from exc
    train = 0
    if not index.is_trained:
        try:
            nlist = faiss.extract_index_ivf(index).nlist
            train = min(n, max(64 * nlist, 10_000))
        except RuntimeError:
            train = min(n, 100_000)
    return FactoryChoice(inner, "given with --factory", train)
