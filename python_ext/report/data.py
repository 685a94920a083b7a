"""What the report draws, read from the catalog's public marts (read-only, one connection).

Every query reads marts only (``v_tuning_frontier``, ``v_eval_metrics_by_run``,
``v_eval_run_comparison``, ``v_chunks``, ``v_module_coverage``, ``v_symbol_neighbors``,
``v_rrf_contrib_by_channel``, ``v_eval_query_results``, ``v_eval_worst_queries``,
``v_embedding_model``), so a report can be made from a catalog copied away from its data root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from python_ext.contracts import EmbeddingInfo


@dataclass
class ReportData:
    """Rows for each figure (lists of dicts) and the headline facts."""

    facts: dict[str, Any] = field(default_factory=dict)
    embedding: EmbeddingInfo | None = None
    frontier: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    query_set_changes: list[dict[str, Any]] = field(default_factory=list)
    chunk_samples: dict[str, list[str]] = field(default_factory=dict)
    chunk_counts: dict[str, int] = field(default_factory=dict)
    modules: list[dict[str, Any]] = field(default_factory=list)
    module_edges: list[dict[str, Any]] = field(default_factory=list)
    shares: list[dict[str, Any]] = field(default_factory=list)
    shares_run_id: str | None = None
    worst: list[dict[str, Any]] = field(default_factory=list)


def _records(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_report_data(
    con: Any, *, sample_per_language: int = 2000, max_modules: int = 150, worst_limit: int = 15
) -> ReportData:
    """Read everything the report draws.

    :param con: a read-only DuckDB connection to the catalog.
    :param sample_per_language: chunks per language whose length is measured (the smallest
        chunk ids: ids are hashes, so this is a deterministic, unbiased sample).
    :param max_modules: modules drawn in the import graph (the most central).
    :param worst_limit: rows of the worst-queries table.
    """
    from python_ext.catalog.semantic import catalog_embedding

    data = ReportData()
    data.embedding = catalog_embedding(con)
    data.facts = _records(
        con,
        "select (select count(*) from v_chunks) as chunks, "
        "(select count(distinct uri) from v_chunks) as files, "
        "(select count(*) from v_module_coverage) as modules, "
        "(select count(*) from v_symbol_neighbors) as symbol_edges, "
        "(select max(version) from v_index_versions where is_published) as index_version, "
        "(select max(operating_point) from v_index_versions where is_published) as operating_point, "
        "(select count(distinct run_id) from v_eval_metrics_by_run) as eval_runs",
    )[0]
    data.frontier = _records(
        con,
        "select build_version, operating_point, k, factory, recall_at_k, ms_per_query, queries_per_s, "
        "is_pareto, is_chosen from v_tuning_frontier order by k, ms_per_query, operating_point",
    )
    data.metrics = _records(
        con,
        "select run_id, run_sequence, started_at, channel, k, count_queries, recall_at_k, mrr_at_k, "
        "ndcg_at_k from v_eval_metrics_by_run order by run_sequence, channel",
    )
    data.query_set_changes = _records(
        con,
        "select distinct run_id, preceding_run_id, count_queries, count_queries_added, "
        "count_queries_removed from v_eval_run_comparison where query_set_change = 'changed' "
        "order by run_id",
    )
    counts = _records(con, "select language, count(*) as n from v_chunks group by language order by n desc")
    data.chunk_counts = {r["language"]: int(r["n"]) for r in counts}
    for row in _records(
        con,
        "select language, content from (select language, content, row_number() over "
        "(partition by language order by chunk_id) as position from v_chunks) "
        "where position <= ? order by language, position",
        [sample_per_language],
    ):
        data.chunk_samples.setdefault(row["language"], []).append(row["content"] or "")
    data.modules = _records(
        con,
        "select module_id, language, centrality, count_chunks, size_loc from v_module_coverage "
        "order by centrality desc, module_id limit ?",
        [max_modules],
    )
    drawn = [m["module_id"] for m in data.modules]
    if drawn:
        data.module_edges = _records(
            con,
            "select src_module_id, dst_module_id, count(*) as edges from v_symbol_neighbors "
            "where edge_kind = 'imports' and is_cross_module "
            "and list_contains(?, src_module_id) and list_contains(?, dst_module_id) "
            "group by all order by all",
            [drawn, drawn],
        )
    latest = con.execute(
        "select run_id from v_rrf_contrib_by_channel r join v_eval_metrics_by_run m using (run_id) "
        "order by m.started_at desc, run_id desc limit 1"
    ).fetchone()
    if latest:
        data.shares_run_id = latest[0]
        data.shares = _records(
            con,
            "select coalesce(q.origin, 'unknown') as origin, r.channel, count(*) as queries, "
            "avg(r.share_of_fused_score) as share from v_rrf_contrib_by_channel r "
            "left join v_eval_query_results q using (run_id, query_id) where r.run_id = ? "
            "group by all order by all",
            [latest[0]],
        )
    data.worst = _records(
        con,
        "select worst_rank, query_text, origin, failure, hybrid_first_positive_rank, found_by, run_id "
        "from v_eval_worst_queries order by worst_rank limit ?",
        [worst_limit],
    )
    return data
