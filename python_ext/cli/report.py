"""`indexctl report`: the catalog as one self-contained HTML page of figures (registered by :func:`register`).

The command parses flags, calls :func:`python_ext.report.build.build_report` and renders the
result through :mod:`python_ext.cli._output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from python_ext.cli._options import DataRootOpt, JsonOpt, QuietOpt


def report_cmd(
    data_root: DataRootOpt = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Catalog file (default: $CODEINTEL_DB_PATH or <data root>/db/codeintel.duckdb).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file to write (default: <catalog dir>/<catalog name>-report.html).",
            show_default=False,
        ),
    ] = None,
    sample_per_language: Annotated[
        int,
        typer.Option("--sample-per-language", min=1, help="Chunks per language whose length is measured."),
    ] = 2000,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write an offline HTML report of the catalog: tuning frontier, metrics across runs, chunk
    lengths against the embedder's window, the module import graph, channel shares.

    Example: indexctl report --data-root data --out report.html
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.report.build import build_report

    result = build_report(
        data_root,
        db_path=db,
        out=out,
        sample_per_language=sample_per_language,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="report")


def register(app: typer.Typer) -> None:
    """Attach the top-level ``report`` command to the app."""
    app.command("report")(report_cmd)
