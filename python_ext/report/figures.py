"""The report's figures, drawn with plotly from :class:`~python_ext.report.data.ReportData`.

One function per figure; each returns a :class:`Figure` holding a plotly figure, or, when the
catalog has nothing to draw, the reason and the command that would produce the data. Text
that comes from repositories (module names, query texts) is HTML-escaped before it reaches
plotly, whose labels understand a little HTML.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from python_ext.report.data import ReportData

#: One colour per channel, the same in every figure.
CHANNEL_COLORS = {
    "faiss": "#1f77b4",
    "flat": "#7f7f7f",
    "bm25": "#ff7f0e",
    "splade": "#9467bd",
    "hybrid": "#2ca02c",
}
_LANG_PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#9d755d"]


#: Modules of the import graph whose name is written next to the node.
_LABELLED_MODULES = 20


@dataclass
class Figure:
    """A drawn figure (``plot``) or an empty one (``empty`` says why)."""

    key: str
    title: str
    caption: str
    plot: Any | None = None
    empty: str | None = None


def _esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def _layout(fig: Any, **kwargs: Any) -> Any:
    fig.update_layout(
        template="plotly_white",
        margin={"l": 60, "r": 30, "t": 40, "b": 50},
        height=kwargs.pop("height", 440),
        legend={"orientation": "h", "y": -0.18},
        **kwargs,
    )
    return fig


def _point(operating_point: str | None) -> str:
    """An operating point for display ('' is the index's defaults, e.g. an exact Flat index)."""
    return _esc(operating_point) if operating_point else "defaults (no parameters)"


def tuning_frontier(data: ReportData) -> Figure:
    """Recall@k against queries/s of every operating point tried, the Pareto front as a line and
    the chosen (published) operating point marked."""
    import plotly.graph_objects as go

    title = "Tuning frontier: recall vs queries/s"
    caption = (
        "Every operating point `indexctl index tune` measured on the published index (one query "
        "at a time). The line joins the Pareto-optimal points; the star is the operating point "
        "the index is published with."
    )
    rows = [r for r in data.frontier if r["queries_per_s"] is not None]
    if not rows:
        return Figure("frontier", title, caption, empty="no tuning frontier: run `indexctl index tune`")
    fig = go.Figure()
    for k in sorted({r["k"] for r in rows}):
        at_k = [r for r in rows if r["k"] == k]
        hover = [
            f"{_point(r['operating_point'])}<br>recall@{k} {r['recall_at_k']:.3f}<br>"
            f"{r['queries_per_s']:,.0f} q/s ({r['ms_per_query']:.3f} ms)"
            for r in at_k
        ]
        fig.add_trace(
            go.Scatter(
                x=[r["queries_per_s"] for r in at_k],
                y=[r["recall_at_k"] for r in at_k],
                mode="markers",
                name=f"operating points (k={k})",
                marker={"size": 8, "color": "#9ecae1", "line": {"width": 1, "color": "#3182bd"}},
                hovertext=hover,
                hoverinfo="text",
            )
        )
        pareto = sorted((r for r in at_k if r["is_pareto"]), key=lambda r: r["queries_per_s"])
        if pareto:
            fig.add_trace(
                go.Scatter(
                    x=[r["queries_per_s"] for r in pareto],
                    y=[r["recall_at_k"] for r in pareto],
                    mode="lines",
                    name=f"Pareto front (k={k})",
                    line={"color": "#3182bd", "shape": "hv"},
                    hoverinfo="skip",
                )
            )
        for r in at_k:
            if r["is_chosen"]:
                fig.add_trace(
                    go.Scatter(
                        x=[r["queries_per_s"]],
                        y=[r["recall_at_k"]],
                        mode="markers+text",
                        name=f"chosen: {_point(r['operating_point'])}",
                        text=[f"chosen: {_point(r['operating_point'])}"],
                        textposition="top center",
                        marker={"symbol": "star", "size": 18, "color": "#d62728"},
                        hovertext=[f"chosen operating point<br>{hover[at_k.index(r)]}"],
                        hoverinfo="text",
                    )
                )
    fig.update_xaxes(title="queries per second (log)", type="log")
    fig.update_yaxes(title="recall@k vs exact search", rangemode="tozero")
    return Figure("frontier", title, caption, plot=_layout(fig))


def metrics_over_runs(data: ReportData) -> Figure:
    """recall@k, MRR@k and nDCG@k per channel across evaluation runs."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    title = "Retrieval metrics per channel across runs"
    caption = (
        "One point per evaluation run (`indexctl eval run`), in start order. Dotted vertical "
        "lines mark runs whose query set differs from the run before (their metrics are not "
        "comparable with it; v_eval_run_comparison pairs only runs over the same queries)."
    )
    if not data.metrics:
        return Figure("metrics", title, caption, empty="no evaluation runs: run `indexctl eval run`")
    names = [("recall_at_k", "recall@k"), ("mrr_at_k", "MRR@k"), ("ndcg_at_k", "nDCG@k")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[label for _, label in names], shared_yaxes=True)
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data.metrics:
        by_channel[row["channel"]].append(row)
    runs = sorted({(r["run_sequence"], r["run_id"]) for r in data.metrics})
    labels = {run_id: f"#{seq}" for seq, run_id in runs}
    for channel, rows in by_channel.items():
        rows.sort(key=lambda r: r["run_sequence"])
        for col, (column, label) in enumerate(names, start=1):
            fig.add_trace(
                go.Scatter(
                    x=[labels[r["run_id"]] for r in rows],
                    y=[r[column] for r in rows],
                    mode="lines+markers",
                    name=channel,
                    legendgroup=channel,
                    showlegend=col == 1,
                    line={"color": CHANNEL_COLORS.get(channel)},
                    hovertext=[
                        f"{_esc(channel)} run {_esc(r['run_id'])}<br>{label} {r[column]:.3f} "
                        f"({r['count_queries']} queries, k={r['k']})"
                        for r in rows
                    ],
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
    for change in data.query_set_changes:
        if change["run_id"] in labels:
            for col in (1, 2, 3):
                fig.add_vline(x=labels[change["run_id"]], line_dash="dot", line_color="#999", row=1, col=col)
    fig.update_xaxes(type="category", title="run")
    fig.update_yaxes(range=[0, 1.02])
    return Figure("metrics", title, caption, plot=_layout(fig))


def _quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def chunk_lengths(data: ReportData, lengths: dict[str, list[int]], unit: str, window: int | None) -> Figure:
    """Chunk length per language (box plots, in the embedder's units) against its window."""
    import plotly.graph_objects as go

    model = data.embedding.model if data.embedding else "unknown"
    title = "Chunk length per language against the embedder's window"
    if window is not None:
        caption = (
            f"Length of each chunk in {unit} of {_esc(model)}, which reads the first {window} and "
            "ignores the rest (red line). The label over each box is the share of that language's "
            "chunks that are cut."
        )
    else:
        caption = (
            f"Length of each chunk in {unit}; {_esc(model)} reads the whole chunk (no window), so "
            "no chunk is cut."
        )
    caption += " Up to the first chunks of each language by chunk id are measured (a deterministic sample)."
    if not lengths:
        return Figure("chunk-lengths", title, caption, empty="no chunks in the catalog")
    fig = go.Figure()
    order = sorted(lengths, key=lambda lang: -data.chunk_counts.get(lang, 0))
    for i, lang in enumerate(order):
        values = lengths[lang]
        over = sum(1 for v in values if window is not None and v > window)
        name = f"{_esc(lang)} ({data.chunk_counts.get(lang, len(values)):,})"
        fig.add_trace(
            go.Box(
                y=values,
                name=name,
                boxpoints=False,
                marker_color=_LANG_PALETTE[i % len(_LANG_PALETTE)],
                hoverinfo="y+name",
            )
        )
        if window is not None:
            fig.add_annotation(
                x=name,
                y=max(values),
                text=f"{100.0 * over / len(values):.0f}% cut",
                showarrow=False,
                yshift=12,
                font={"size": 11, "color": "#d62728" if over else "#555"},
            )
    if window is not None:
        fig.add_hline(
            y=window,
            line_color="#d62728",
            line_dash="dash",
            annotation_text=f"window: {window} {unit}",
            annotation_position="top left",
        )
    fig.update_yaxes(title=f"{unit} per chunk (log)", type="log")
    fig.update_layout(showlegend=False)
    return Figure("chunk-lengths", title, caption, plot=_layout(fig))


def module_graph(data: ReportData) -> Figure:
    """The module import graph: nodes sized by centrality (PageRank), edges for imports."""
    import networkx as nx
    import plotly.graph_objects as go

    title = "Module import graph, sized by centrality"
    caption = (
        "Modules (`indexctl modules`) joined by the cross-module `imports` edges of the symbol "
        "graph; a node's area follows its PageRank centrality over the import graph. At most the "
        f"{len(data.modules)} most central modules are drawn, the {_LABELLED_MODULES} most central "
        "are named (hover names any); layout: networkx spring layout."
    )
    if not data.modules:
        return Figure("module-graph", title, caption, empty="no modules: run `indexctl ingest` with facts")
    graph = nx.DiGraph()
    for m in data.modules:
        graph.add_node(m["module_id"])
    for e in data.module_edges:
        graph.add_edge(e["src_module_id"], e["dst_module_id"], weight=float(e["edges"]))
    pos = nx.spring_layout(graph, seed=7, k=1.5 / math.sqrt(max(1, graph.number_of_nodes())))
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for src, dst in graph.edges():
        edge_x += [pos[src][0], pos[dst][0], None]
        edge_y += [pos[src][1], pos[dst][1], None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=edge_x,
            y=edge_y,
            mode="lines",
            line={"width": 0.8, "color": "#bbb"},
            hoverinfo="skip",
            name="imports",
        )
    )
    top = max((m["centrality"] or 0.0) for m in data.modules) or 1.0
    # names on the most central modules only (data.modules is ordered by centrality), so a big
    # graph stays readable; hover names every node
    labelled = {m["module_id"] for m in data.modules[:_LABELLED_MODULES]}
    languages = sorted({m["language"] or "?" for m in data.modules})
    for i, lang in enumerate(languages):
        nodes = [m for m in data.modules if (m["language"] or "?") == lang]
        fig.add_trace(
            go.Scatter(
                x=[pos[m["module_id"]][0] for m in nodes],
                y=[pos[m["module_id"]][1] for m in nodes],
                mode="markers+text",
                name=_esc(lang),
                text=[_esc(m["module_id"]) if m["module_id"] in labelled else "" for m in nodes],
                textposition="top center",
                textfont={"size": 10},
                marker={
                    "size": [8 + 32 * math.sqrt((m["centrality"] or 0.0) / top) for m in nodes],
                    "color": _LANG_PALETTE[i % len(_LANG_PALETTE)],
                    "line": {"width": 1, "color": "#333"},
                },
                hovertext=[
                    f"{_esc(m['module_id'])}<br>centrality {m['centrality'] or 0:.4f}<br>"
                    f"{m['count_chunks'] or 0} chunks, {m['size_loc'] or 0} lines<br>"
                    f"imports {graph.out_degree(m['module_id'])}, "
                    f"imported by {graph.in_degree(m['module_id'])}"
                    for m in nodes
                ],
                hoverinfo="text",
            )
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return Figure("module-graph", title, caption, plot=_layout(fig, height=560))


def channel_shares(data: ReportData) -> Figure:
    """Each RRF input channel's share of the fused score, per query origin, latest run."""
    import plotly.graph_objects as go

    title = "Channel shares of the fused (hybrid) ranking"
    caption = (
        "Mean share of each input channel in the reciprocal-rank-fusion score of a query "
        f"(v_rrf_contrib_by_channel), run {_esc(data.shares_run_id or '-')}, by query origin; "
        "each bar sums to 1."
    )
    if not data.shares:
        return Figure(
            "channel-shares", title, caption, empty="no fused runs: run `indexctl eval run` with hybrid"
        )
    origins = sorted({r["origin"] for r in data.shares})
    channels = sorted({r["channel"] for r in data.shares})
    queries = {o: max(r["queries"] for r in data.shares if r["origin"] == o) for o in origins}
    fig = go.Figure()
    for channel in channels:
        share = {r["origin"]: r["share"] for r in data.shares if r["channel"] == channel}
        fig.add_trace(
            go.Bar(
                y=[f"{_esc(o)} ({queries[o]})" for o in origins],
                x=[share.get(o) or 0.0 for o in origins],
                name=channel,
                orientation="h",
                marker_color=CHANNEL_COLORS.get(channel),
                text=[f"{(share.get(o) or 0.0):.2f}" for o in origins],
                textposition="inside",
                hovertemplate=f"{_esc(channel)}: %{{x:.3f}}<extra>%{{y}}</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="mean share of the fused score", range=[0, 1])
    fig.update_yaxes(title="query origin (queries)")
    return Figure("channel-shares", title, caption, plot=_layout(fig, height=120 + 70 * len(origins)))
