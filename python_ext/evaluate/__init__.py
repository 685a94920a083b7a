"""Retrieval evaluation: queries, channels, RRF fusion, metrics, pools and runs.

* :func:`python_ext.evaluate.queries.build_queries` — docstring (masked), name and user
  queries into ``eval/queries.parquet``;
* :func:`python_ext.evaluate.run.run_eval` — faiss / flat / bm25 / imported / hybrid channels,
  metrics, the pool Parquet and a ``runs.parquet`` row;
* :func:`python_ext.evaluate.runfiles.import_run` — external runs (TREC, TSV, Parquet);
* :func:`python_ext.search.fusion.rrf_fuse` and :mod:`python_ext.evaluate.metrics` — the
  formulas, usable on their own.

See ``docs/eval.md`` for the guide.
"""

from __future__ import annotations

from python_ext.evaluate.metrics import channel_metrics, mrr_at_k, ndcg_at_k, overlap_at_k, recall_at_k
from python_ext.evaluate.queries import build_queries, read_queries
from python_ext.evaluate.run import list_runs, run_eval
from python_ext.evaluate.runfiles import import_run
from python_ext.search.fusion import DEFAULT_RRF_K0, rrf_fuse

__all__ = [
    "DEFAULT_RRF_K0",
    "build_queries",
    "channel_metrics",
    "import_run",
    "list_runs",
    "mrr_at_k",
    "ndcg_at_k",
    "overlap_at_k",
    "read_queries",
    "recall_at_k",
    "rrf_fuse",
    "run_eval",
]
