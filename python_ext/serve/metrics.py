"""Prometheus metrics of the search server (the official ``prometheus_client``).

* ``codeintel_search_latency_seconds{channel, stage}`` — histogram of each stage of a search
  (``embed``, ``ann``, ``refine``, ``bm25``, ``fuse``, ``hydrate``, and ``total``) by channel;
* ``codeintel_search_filters_total{filter}`` — searches by filter type (``none``, ``glob``,
  ``language``, ``module``, ``symbol``, ``combined``);
* ``codeintel_http_requests_total{endpoint, status}`` — every request by route and status;
* ``codeintel_state_reloads_total`` / ``codeintel_state_reload_failures_total`` — switches to a
  newly published version or refreshed catalog, and loads that failed (the old state kept
  serving);
* ``codeintel_index_chunks{version}`` — chunks of the version being served.

Each app gets its own registry, so several servers (or tests) in one process do not mix.
Every label combination a search can produce is created at start, so the series exist (at 0)
before the first request.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from python_ext.search import SearchResult
from python_ext.search.filters import FILTER_KINDS

#: The stages each channel runs (``refine`` only for code-based indexes with ``k_factor`` > 1).
CHANNEL_STAGES: dict[str, tuple[str, ...]] = {
    "hybrid": ("embed", "ann", "refine", "bm25", "fuse", "hydrate", "total"),
    "faiss": ("embed", "ann", "refine", "hydrate", "total"),
    "bm25": ("bm25", "hydrate", "total"),
    "flat": ("embed", "ann", "hydrate", "total"),
}
BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class SearchMetrics:
    """The server's metrics in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.latency = Histogram(
            "codeintel_search_latency_seconds",
            "Search latency by channel and stage (embed, ann, refine, bm25, fuse, hydrate, total).",
            ["channel", "stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.filters = Counter(
            "codeintel_search_filters",
            "Searches by filter type (none, glob, language, module, symbol, combined).",
            ["filter"],
            registry=self.registry,
        )
        self.requests = Counter(
            "codeintel_http_requests",
            "HTTP requests by endpoint and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "codeintel_state_reloads",
            "Switches to a newly published index version or refreshed catalog.",
            registry=self.registry,
        )
        self.reload_failures = Counter(
            "codeintel_state_reload_failures",
            "State loads that failed (the previous state kept serving).",
            registry=self.registry,
        )
        self.chunks = Gauge(
            "codeintel_index_chunks",
            "Chunks in the index version being served.",
            ["version"],
            registry=self.registry,
        )
        for channel, stages in CHANNEL_STAGES.items():
            for stage in stages:
                self.latency.labels(channel=channel, stage=stage)
        for kind in FILTER_KINDS:
            self.filters.labels(filter=kind)
        self._version: str | None = None

    def observe_search(self, result: SearchResult) -> None:
        """Record one answered search: its stage timings and its filter type."""
        for stage, seconds in result.timings.items():
            self.latency.labels(channel=result.channel, stage=stage).observe(seconds)
        self.filters.labels(filter=result.filters.get("kind", "none")).inc()

    def serving(self, version: str, chunks: int) -> None:
        """Set the served-version gauge (one series, for the version now served)."""
        if self._version is not None and self._version != version:
            self.chunks.remove(self._version)
        self._version = version
        self.chunks.labels(version=version).set(chunks)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
