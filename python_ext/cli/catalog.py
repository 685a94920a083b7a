"""`indexctl catalog refresh|test|docs|query|status`: the dbt-built DuckDB catalog.

Registered by :func:`register`.

Each command parses flags, calls one function of :mod:`python_ext.catalog.refresh` and renders
the result through :mod:`python_ext.cli._output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from python_ext.cli._options import DataRootOpt, JsonOpt, NlOpt, QuietOpt
from python_ext.errors import ConfigError

catalog_app = typer.Typer(
    name="catalog",
    help="Build (dbt), test and document the DuckDB catalog analysts and tools query.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Catalog file (default: $CODEINTEL_DB_PATH or <data root>/db/codeintel.duckdb).",
        show_default=False,
    ),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        help="dbt var NAME=VALUE (repeatable), e.g. --var rrf_k0=30 --var idmap_min_coverage=0.99.",
        show_default=False,
    ),
]


def _parse_vars(pairs: list[str] | None) -> dict[str, Any] | None:
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var expects NAME=VALUE, got {pair!r}", hint="e.g. --var rrf_k0=30")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        out[name.strip()] = value
    return out


@catalog_app.command("refresh")
def refresh_cmd(
    data_root: DataRootOpt = None,
    db: DbOpt = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Start from an empty database (rebuild faiss_idmap_mat too)."),
    ] = False,
    var: VarOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Rebuild the catalog with dbt build and swap it in atomically on success.

    Example: indexctl catalog refresh --data-root data
    """
    from python_ext.catalog.refresh import refresh_catalog
    from python_ext.cli._output import print_summary, reporter

    result = refresh_catalog(
        data_root,
        db_path=db,
        full_refresh=full_refresh,
        extra_vars=_parse_vars(var),
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="catalog refresh")


@catalog_app.command("test")
def test_cmd(
    data_root: DataRootOpt = None,
    db: DbOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run every dbt integrity and unit test on a copy of the catalog (exit 3 on failures).

    Example: indexctl catalog test --data-root data
    """
    from python_ext.catalog.refresh import check_catalog
    from python_ext.cli._output import print_summary, reporter

    result = check_catalog(
        data_root, db_path=db, extra_vars=_parse_vars(var), progress=reporter(quiet or as_json)
    )
    print_summary(result.to_dict(), as_json=as_json, title="catalog test")


@catalog_app.command("docs")
def docs_cmd(
    data_root: DataRootOpt = None,
    db: DbOpt = None,
    out: Annotated[
        Path | None, typer.Option("--site", help="Folder for the static docs site (default <db dir>/docs).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate the dbt docs site (lineage, models, columns, tests) for the catalog.

    Example: indexctl catalog docs --data-root data --site data/db/docs
    """
    from python_ext.catalog.refresh import generate_docs
    from python_ext.cli._output import print_summary

    site = generate_docs(data_root, db_path=db, out_dir=out)
    print_summary(
        {"site": str(site), "index": str(site / "index.html")}, as_json=as_json, title="catalog docs"
    )


@catalog_app.command("query")
def query_cmd(
    sql: Annotated[str, typer.Argument(help="One SQL statement (the catalog is opened read-only).")],
    data_root: DataRootOpt = None,
    db: DbOpt = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Value bound to the next ? in SQL (repeatable, in order).",
            show_default=False,
        ),
    ] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Print at most this many rows.")] = 1000,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Run read-only SQL against the catalog with the DuckDB that built it.

    Example: indexctl catalog query "select channel, count(*) as n from v_rrf_contrib_by_channel group by 1"
    """
    from python_ext.catalog.query import query_catalog
    from python_ext.cli._output import emit, warn

    result = query_catalog(data_root, sql, db_path=db, params=param, max_rows=max_rows)
    emit(result.records(), as_json=as_json, as_nl=as_nl, columns=result.columns)
    if result.truncated:
        warn(f"showing the first {max_rows} rows; raise --max-rows for more")


@catalog_app.command("status")
def status_cmd(
    data_root: DataRootOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Say whether the catalog matches the data root now (exit 3 when it is stale).

    Compares the catalog's build record with the data root: the published version (faiss/CURRENT)
    and every input file (added, removed, changed); shows the build time, the last evaluation run
    and the row count of every mart.

    Example: indexctl catalog status --json
    """
    from python_ext.catalog.status import catalog_status
    from python_ext.cli._output import emit, print_json, print_summary, stderr

    status = catalog_status(data_root, db_path=db)
    if as_json:
        print_json(status.to_dict())
    else:
        summary = status.to_dict()
        counts = summary.pop("row_counts")
        changes = summary.pop("changes")
        summary["state"] = "STALE" if status.stale else "fresh"
        print_summary(summary, title="catalog status")
        if changes:
            emit(changes, columns=["source", "path", "change"], title="inputs changed since the build")
        if counts:
            emit([{"mart": k, "rows": v} for k, v in counts.items()], title="rows per mart")
    if status.stale:
        for reason in status.reasons:
            stderr.print(f"stale: {reason}", highlight=False, markup=False)
        stderr.print("Hint: run `indexctl catalog refresh`", highlight=False, markup=False)
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    """Attach the ``catalog`` group to the top-level app."""
    app.add_typer(catalog_app, name="catalog")
