"""`indexctl` commands for the code-intelligence facts: the ``scip`` group (``import``,
``index``) and the top-level ``modules``, ``graph`` and ``facts`` commands.

Each command parses flags, calls one function of :mod:`python_ext.ingest` (``scip_import``,
``scip_index``, ``modules``, ``facts``) and renders the result through
:mod:`python_ext.cli._output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from python_ext.cli._options import AstLevelOpt, DataRootOpt, JsonOpt, QuietOpt
from python_ext.config import resolve_data_root

scip_app = typer.Typer(
    name="scip",
    help="Import SCIP indexes (binary or JSON) and run scip-python.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)

RepoArg = Annotated[Path, typer.Argument(help="Repository root.", show_default=False)]
OptionalRepoArg = Annotated[Path | None, typer.Argument(help="Repository root.", show_default=False)]
ScipOpt = Annotated[
    Path | None,
    typer.Option(
        "--scip", help="SCIP index of the repository (index.scip or `scip print --json`).", show_default=False
    ),
]


@scip_app.command("import")
def scip_import_cmd(
    index: Annotated[Path, typer.Argument(help="index.scip, or the JSON of `scip print --json`.")],
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", help="Indexed repository (converts non-ASCII char offsets).", show_default=False
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, binary or json.")] = "auto",
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write scip_occurrences.parquet and scip_symbols.parquet from a SCIP index.

    Example: indexctl scip import index.scip --repo . --out data
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.facts.scip.importer import import_scip

    result = import_scip(
        resolve_data_root(data_root), index, repo=repo, fmt=fmt, progress=reporter(quiet or as_json)
    )
    print_summary(result.to_dict(), as_json=as_json, title="scip import")


@scip_app.command("index")
def scip_index_cmd(
    repo: RepoArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the index (default: <data root>/scip/index.scip, "
            "index-typescript.scip for scip-typescript).",
            show_default=False,
        ),
    ] = None,
    indexer: Annotated[
        str,
        typer.Option(
            "--indexer", help="scip-python (Python) or scip-typescript (TypeScript and JavaScript)."
        ),
    ] = "scip-python",
    project_name: Annotated[
        str | None, typer.Option("--project-name", help="SCIP package name (default: folder name).")
    ] = None,
    project_version: Annotated[str, typer.Option("--project-version", help="SCIP package version.")] = "0",
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run a SCIP indexer (scip-python, scip-typescript) over a repository and write its index.

    Example: indexctl scip index tests/python/fixtures/scip/pkgdemo --output /tmp/pkgdemo.scip
    """
    import click

    from python_ext.cli._output import print_summary, reporter
    from python_ext.facts.scip.indexer import run_scip_python, run_scip_typescript

    if indexer not in ("scip-python", "scip-typescript"):
        raise click.BadParameter(f"{indexer!r}: use scip-python or scip-typescript", param_hint="--indexer")
    name = "index.scip" if indexer == "scip-python" else "index-typescript.scip"
    target = output if output is not None else resolve_data_root(data_root).root / "scip" / name
    progress = reporter(quiet or as_json)
    if indexer == "scip-python":
        result = run_scip_python(
            repo, target, project_name=project_name, project_version=project_version, progress=progress
        )
    else:
        result = run_scip_typescript(repo, target, progress=progress)
    print_summary(result.to_dict(), as_json=as_json, title="scip index")


def modules_cmd(
    repo: OptionalRepoArg = None,
    from_jsonl: Annotated[
        Path | None,
        typer.Option(
            "--from-jsonl", help="Convert this modules.jsonl instead of reading REPO.", show_default=False
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Convert --from-jsonl even when unchanged.")] = False,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write modules.parquet (modules, metrics, import graph PageRank) for a repository.

    Example: indexctl modules tests/python/fixtures/tiny_repo --out data
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.facts.modules import modules_facts

    result = modules_facts(
        resolve_data_root(data_root),
        repo=repo,
        from_jsonl=from_jsonl,
        force=force,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="modules")


def graph_cmd(
    repo: OptionalRepoArg = None,
    scip: ScipOpt = None,
    from_json: Annotated[
        Path | None,
        typer.Option("--from-json", help="Convert this symbol_graph.json instead.", show_default=False),
    ] = None,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write symbol_edges.parquet (defines, imports, calls, references, inherits, implements).

    Example: indexctl graph tests/python/fixtures/tiny_repo --out data
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.facts.builder import extract_graph

    result = extract_graph(
        resolve_data_root(data_root),
        repo,
        scip=scip,
        from_json=from_json,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="symbol graph")


def facts_cmd(
    repo: RepoArg,
    scip: ScipOpt = None,
    run_scip: Annotated[
        bool,
        typer.Option(
            "--run-scip", help="Run scip-python (Python) and scip-typescript (TS/JS) over REPO first."
        ),
    ] = False,
    ast_level: AstLevelOpt = 1,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write every code-intelligence fact of a repository: SCIP tables, modules, symbol graph, AST.

    Example: indexctl facts tests/python/fixtures/tiny_repo --run-scip --out data
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.facts.builder import extract_facts

    result = extract_facts(
        resolve_data_root(data_root),
        repo,
        scip=scip,
        run_scip=run_scip,
        ast_level=ast_level,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="facts")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the top-level app."""
    app.add_typer(scip_app, name="scip")
    app.command("modules")(modules_cmd)
    app.command("graph")(graph_cmd)
    app.command("facts")(facts_cmd)
