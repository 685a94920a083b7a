"""`indexctl pipeline`: the main job, a repository to a queryable catalog, with its summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from python_ext.cli._options import DataRootOpt, EmbedderBackendOpt, EmbedderOpt, JsonOpt, QuietOpt
from python_ext.config import resolve_data_root

if TYPE_CHECKING:
    from python_ext.repo_to_catalog import PipelineResult


def pipeline_cmd(
    repo: Annotated[
        Path | None,
        typer.Argument(help="Repository to index (default: this project's own source tree)."),
    ] = None,
    data_root: DataRootOpt = None,
    embedder: EmbedderOpt = None,
    embedder_backend: EmbedderBackendOpt = None,
    no_scip: Annotated[
        bool, typer.Option("--no-scip", help="Skip SCIP (scip-python) even when available.")
    ] = False,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Cut-off for tuning and evaluation.")] = 10,
    max_per_origin: Annotated[
        int | None, typer.Option("--max-per-origin", min=1, help="Cap generated queries per origin.")
    ] = None,
    no_catalog: Annotated[bool, typer.Option("--no-catalog", help="Skip the dbt catalog refresh.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the whole pipeline: ingest, index build, tune, eval queries, eval run, catalog refresh.

    Example: indexctl pipeline --data-root data --embedder minilm
    """
    from python_ext.cli._output import print_json, reporter
    from python_ext.repo_to_catalog import run_pipeline

    result = run_pipeline(
        resolve_data_root(data_root),
        repo,
        embedder=embedder,
        embedder_backend=embedder_backend,
        scip=not no_scip,
        k=k,
        max_per_origin=max_per_origin,
        catalog=not no_catalog,
        progress=reporter(quiet or as_json),
    )
    if as_json:
        print_json(result.to_dict())
    else:
        _render_pipeline(result)


def _render_pipeline(result: PipelineResult) -> None:
    """The human summary of ``indexctl pipeline`` (stages, counts, metrics, SQL to try)."""
    from rich.text import Text

    from python_ext.cli._output import emit, print_summary, stdout

    stdout.print(Text(f"codeintel catalog — pipeline on {result.repo}", style="bold"), highlight=False)
    emit(
        [{"stage": s.name, "seconds": f"{s.seconds:.2f}", "note": s.skipped or ""} for s in result.stages],
        title="stages",
    )
    label = result.embedder + (
        "  (LEXICAL hashing embedder, not semantic)" if result.embedding_kind == "lexical" else ""
    )
    print_summary(
        {
            "embedder": label,
            **result.counts,
            "index version": result.index_version or "-",
            "operating point": result.operating_point or "(exact / defaults)",
            "data root": str(result.data_root),
            "catalog": str(result.catalog_path) if result.catalog_path else "(not refreshed)",
            "report": str(result.report_path) if result.report_path else "(not written)",
            "wall seconds": f"{result.wall_seconds:.1f}",
        },
        title="summary",
    )
    k = result.k
    emit(
        [
            {
                "channel": m["source"],
                f"recall@{k}": m["recall_at_k"],
                f"mrr@{k}": m["mrr_at_k"],
                f"ndcg@{k}": m["ndcg_at_k"],
                f"overlap@{k}": m["oracle_overlap_at_k"],
                "queries/s": round(m["queries_per_s"]) if m["queries_per_s"] else None,
            }
            for m in result.metrics
        ],
        title="retrieval metrics per channel",
    )
    if result.catalog_path:
        stdout.print(
            f"\nTry the catalog:  duckdb -readonly {result.catalog_path}   (any DuckDB >= 1.4)\n"
            f'              or:  indexctl catalog query "SQL" --db {result.catalog_path}',
            highlight=False,
            markup=False,
        )
        for example in result.examples:
            stdout.print(f"\n-- {example['question']}\n{example['sql']}", highlight=False, markup=False)
    if result.index_version:
        root = result.data_root
        stdout.print(
            f'\nSearch it:  indexctl search "your question" --data-root {root}   (hybrid: faiss + bm25)\n'
            f"   serve:  indexctl serve --data-root {root}   (http://127.0.0.1:8765/search?q=…)",
            highlight=False,
            markup=False,
        )
    if result.report_path:
        stdout.print(
            f"\nReport (figures, opens offline in any browser):  {result.report_path.as_uri()}",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Attach the top-level ``pipeline`` command to the app."""
    app.command("pipeline")(pipeline_cmd)
