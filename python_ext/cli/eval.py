"""`indexctl eval …`: queries, run, import-run, runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from python_ext.cli._options import DataRootOpt, JsonOpt, NlOpt, QuietOpt
from python_ext.config import resolve_data_root

if TYPE_CHECKING:
    from python_ext.evaluate.run import EvalRunResult

eval_app = typer.Typer(
    name="eval",
    help="Evaluate retrieval: generate queries, run channels, import external runs, list runs.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@eval_app.command("queries")
def queries_cmd(
    data_root: DataRootOpt = None,
    from_jsonl: Annotated[
        Path | None, typer.Option("--from-jsonl", help="Add user queries from this JSONL file.")
    ] = None,
    origins: Annotated[
        str,
        typer.Option(
            "--origins", help="Generated origins: docstring,name (empty string: user queries only)."
        ),
    ] = "docstring,name",
    max_per_origin: Annotated[
        int | None,
        typer.Option("--max-per-origin", min=1, help="Keep at most N queries per generated origin."),
    ] = None,
    no_scip: Annotated[bool, typer.Option("--no-scip", help="Ignore SCIP facts even when present.")] = False,
    stripped: Annotated[
        Path | None,
        typer.Option(
            "--stripped",
            help="Docstring queries from this `eval strip` folder (the data root holds its copy's chunks).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate evaluation queries (docstrings, names, user JSONL) into eval/queries.parquet.

    Docstring queries mask the docstring inside the chunks (masked protocol), or, with
    --stripped DIR, come from a copy of the repository without docstrings (stripped protocol).

    Example: indexctl eval queries --data-root data --from-jsonl my_queries.jsonl
    """
    from python_ext.cli._output import print_summary, reporter, warn
    from python_ext.evaluate.queries import build_queries

    summary = build_queries(
        resolve_data_root(data_root),
        user_file=from_jsonl,
        origins=[o.strip() for o in origins.split(",") if o.strip()],
        max_per_origin=max_per_origin,
        use_scip=not no_scip,
        stripped=stripped,
        progress=reporter(quiet or as_json),
    )
    for problem in summary.problems:
        warn(problem)
    data = summary.to_dict()
    if as_json:
        print_summary(data, as_json=True)
        return
    data.pop("problems")
    print_summary(data, title="evaluation queries")


@eval_app.command("strip")
def strip_cmd(
    repo: Annotated[
        Path, typer.Argument(help="Repository to copy without its docstrings.", show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="New or empty folder for the copy and its queries.", show_default=False
        ),
    ],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Copy a repository without its function docstrings, for the stripped evaluation protocol.

    Writes OUT/repo (ingest it), OUT/docstrings.jsonl (the queries and their functions) and
    OUT/manifest.json; then `indexctl eval queries --stripped OUT` on the data root of OUT/repo.

    Example: indexctl eval strip ./myrepo --out /tmp/myrepo-stripped
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.evaluate.stripped import strip_docstrings

    result = strip_docstrings(repo, out, progress=reporter(quiet or as_json))
    print_summary(result.to_dict(), as_json=as_json, title="eval strip")


@eval_app.command("run")
def run_cmd(
    data_root: DataRootOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Cut-off for results, pools and metrics.")] = 10,
    channels: Annotated[
        str, typer.Option("--channels", help="Comma list of faiss, flat, bm25, splade, hybrid.")
    ] = "faiss,flat,bm25,hybrid",
    rrf_k0: Annotated[
        int,
        typer.Option("--rrf-k0", min=0, help="RRF constant k0 for the hybrid channel (catalog var rrf_k0)."),
    ] = 60,
    rrf_rank_cutoff: Annotated[
        int,
        typer.Option(
            "--rrf-rank-cutoff",
            min=1,
            help="Ranks past this contribute nothing to hybrid; its channels are searched max(k, cutoff) "
            "deep (catalog var rrf_rank_cutoff).",
        ),
    ] = 10,
    index_version: Annotated[
        str | None, typer.Option("--index-version", help="Evaluate this index version (default: published).")
    ] = None,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression",
            help="Exit 3 when recall/MRR/nDCG of a channel dropped by more than --tolerance against "
            "the last run over the same query set and k.",
        ),
    ] = False,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            min=0.0,
            help="Largest allowed drop for --fail-on-regression (default 0.01, the dbt var "
            "eval_regression_tolerance).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the channels over the queries; write the pool, append runs.parquet, print metrics.

    Example: indexctl eval run --k 10 --channels faiss,flat,bm25,hybrid --fail-on-regression
    """
    from python_ext.cli._output import emit, print_json, reporter, stderr, stdout, warn
    from python_ext.evaluate.regression import DEFAULT_TOLERANCE
    from python_ext.evaluate.run import run_eval

    result = run_eval(
        resolve_data_root(data_root),
        k=k,
        channels=channels,
        rrf_k0=rrf_k0,
        rrf_rank_cutoff=rrf_rank_cutoff,
        index_version=index_version,
        regression_tolerance=(DEFAULT_TOLERANCE if tolerance is None else tolerance)
        if fail_on_regression
        else None,
        progress=reporter(quiet or as_json),
    )
    for note in result.notes:
        warn(note)
    report = result.regression
    if report is not None:
        if report.previous_run_id is None:
            warn(
                f"no earlier run over the same query set and k={result.k} to compare with "
                f"({report.skipped_runs} earlier run(s) used other queries or k): nothing to regress from"
            )
        for drop in report.regressions:
            stderr.print(f"regression: {drop}", highlight=False, markup=False)
    if result.embedding and result.embedding.get("kind") == "lexical":
        warn(
            f"dense channels use the LEXICAL embedder {result.embedding['model']} (hashed identifier "
            "tokens, not a semantic model): faiss/flat numbers measure lexical overlap"
        )
    if as_json:
        print_json(result.to_dict())
        _exit_on_regression(result)
        return
    emit(result.metric_rows(), title=f"run {result.run_id} — {result.n_queries} queries, k={result.k}")
    stdout.print(
        f"index version: {result.index_version or '-'}   operating point: {result.operating_point or '-'}   "
        f"hybrid = RRF(k0={result.rrf_k0}, cutoff={result.rrf_rank_cutoff}) over "
        f"{','.join(result.hybrid_of) or '-'}   "
        f"wall: {result.wall_seconds:.2f}s",
        highlight=False,
        markup=False,
    )
    for origin, ms in result.by_origin.items():
        cells = "  ".join(f"{m.source} R={m.recall_at_k:.3f} MRR={m.mrr_at_k:.3f}" for m in ms)
        stdout.print(
            f"{origin} ({result.queries_by_origin.get(origin, 0)}): {cells}", highlight=False, markup=False
        )
    stdout.print(f"pool: {result.pool_path}   runs: {result.runs_path}", highlight=False, markup=False)
    if result.archived_pools:
        warn(
            f"moved {len(result.archived_pools)} pool(s) of earlier runs whose chunks or queries no longer "
            "exist to eval/pools/stale/ (their metrics stay in runs.parquet)"
        )
    _exit_on_regression(result)


def _exit_on_regression(result: EvalRunResult) -> None:
    report = result.regression
    if report is not None and report.regressed:
        from python_ext.cli._output import stderr

        stderr.print(
            f"Error: run {report.run_id} regressed against run {report.previous_run_id} (same query set, "
            f"k={result.k}, tolerance {report.tolerance}): {len(report.regressions)} metric(s) dropped",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(3)


@eval_app.command("import-run")
def import_run_cmd(
    run_file: Annotated[Path, typer.Argument(help="TREC run, TSV (query_id, chunk_id, score) or Parquet.")],
    source: Annotated[
        str, typer.Option("--source", help="Channel name of the external system (e.g. splade).")
    ],
    data_root: DataRootOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, trec, tsv or parquet.")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Import an external system's ranked results as a channel, validated against the chunks.

    Example: indexctl eval import-run --source splade runs/splade.trec
    """
    from python_ext.cli._output import print_summary
    from python_ext.evaluate.runfiles import import_run

    summary = import_run(resolve_data_root(data_root), source, run_file, fmt=fmt)
    print_summary(summary.to_dict(), as_json=as_json, title=f"imported channel {source}")


@eval_app.command("runs")
def runs_cmd(data_root: DataRootOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False) -> None:
    """List recorded evaluation runs, newest first, one row per run and channel.

    Example: indexctl eval runs --json
    """
    from python_ext.cli._output import emit
    from python_ext.evaluate.run import list_runs

    runs = list_runs(resolve_data_root(data_root))
    if as_json or as_nl:
        emit(runs, as_json=as_json, as_nl=as_nl)
        return
    rows = [
        {
            "run_id": r["run_id"],
            "index_version": r["index_version"] or "-",
            "k": r["k"],
            "queries": r["n_queries"],
            "channel": m["source"],
            "recall@k": m["recall_at_k"],
            "mrr@k": m["mrr_at_k"],
            "ndcg@k": m["ndcg_at_k"],
        }
        for r in runs
        for m in r["metrics"]
    ]
    emit(rows, title="evaluation runs")


def register(app: typer.Typer) -> None:
    """Attach the ``eval`` group to the app."""
    app.add_typer(eval_app, name="eval")
