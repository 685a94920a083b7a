"""`indexctl` commands for the ingest stage: ``ingest`` and the ``validate`` group.

Each command parses flags, calls one function of :mod:`python_ext.ingest` and renders the
result through :mod:`python_ext.cli._output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from python_ext.cli._options import (
    AstLevelOpt,
    DataRootOpt,
    EmbedderBackendOpt,
    EmbedderOpt,
    JsonOpt,
    QuietOpt,
)
from python_ext.config import resolve_data_root

#: ``indexctl validate …``: contract checks of Parquet inputs (other stages may add commands).
validate_app = typer.Typer(
    name="validate",
    help="Check Parquet files against their data contract.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)


def ingest_cmd(
    repo: Annotated[
        Path | None,
        typer.Argument(help="Repository folder to ingest (omit with --precomputed).", show_default=False),
    ] = None,
    data_root: DataRootOpt = None,
    embedder: EmbedderOpt = None,
    embedder_backend: EmbedderBackendOpt = None,
    languages: Annotated[
        str | None,
        typer.Option(
            "--languages", help="Only these languages, comma-separated (e.g. python,go).", show_default=False
        ),
    ] = None,
    max_file_bytes: Annotated[
        int, typer.Option("--max-file-bytes", min=1, help="Skip files larger than this many bytes.")
    ] = 1_000_000,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            help="Only files matching this gitignore-style glob (repeatable, or comma-separated).",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Leave out files and folders matching this glob (repeatable); .codeintelignore applies too.",
            show_default=False,
        ),
    ] = None,
    default_skips: Annotated[
        bool,
        typer.Option(
            "--default-skips/--no-default-skips",
            help="Skip changelogs, lock files and generated code.",
        ),
    ] = True,
    chunk_budget: Annotated[
        int | None,
        typer.Option(
            "--chunk-budget",
            min=1,
            help="Chunk size limit in the embedder's units: MiniLM tokens (default and maximum 254), "
            "or non-whitespace characters for hashing (default 1200).",
            show_default=False,
        ),
    ] = None,
    context: Annotated[
        bool,
        typer.Option(
            "--context/--no-context",
            help="Give the embedder the file path and enclosing symbol before each chunk "
            "(the stored content is unchanged).",
        ),
    ] = False,
    id_salt: Annotated[
        str | None,
        typer.Option(
            "--id-salt",
            help="Salt appended to every chunk-id key (only to get past a reported id collision).",
            show_default=False,
        ),
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            min=1,
            help="Lay the chunks out in this many partitions by chunk id (default: keep the data root's).",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="local (this process) or ray (Ray Data: tasks chunk, an actor pool embeds)."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --engine ray: the cluster to join (default: $RAY_ADDRESS, else a local instance).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="With --engine ray: embedding actors, each on the ingest's backend (default: one per GPU "
            "for the cuda backend, else one per CPU).",
            show_default=False,
        ),
    ] = None,
    precomputed: Annotated[
        Path | None,
        typer.Option(
            "--precomputed",
            help="Import chunks Parquet with embeddings from another system (any dim) instead of REPO.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="With --precomputed: model name when the file records none.", show_default=False
        ),
    ] = None,
    scip: Annotated[
        Path | None,
        typer.Option(
            "--scip",
            help="SCIP index of REPO (index.scip or `scip print --json`): chunk symbols from SCIP.",
            show_default=False,
        ),
    ] = None,
    run_scip: Annotated[
        bool,
        typer.Option(
            "--run-scip",
            help="Run the SCIP indexers over REPO first: scip-python (Python), scip-typescript (TS/JS).",
        ),
    ] = False,
    facts: Annotated[
        bool,
        typer.Option(
            "--facts/--no-facts",
            help="Also write modules, symbol graph, AST and SCIP facts (docs/facts.md).",
        ),
    ] = True,
    chunk_workers: Annotated[
        int | None,
        typer.Option(
            "--chunk-workers",
            min=1,
            help="Processes that chunk files while the model embeds (default: CPUs - 1, at most 8; "
            "1 chunks in the ingest process).",
            show_default=False,
        ),
    ] = None,
    ast_level: AstLevelOpt = 1,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Chunk and embed a repository into the chunks Parquet of the data root.

    Example: indexctl ingest ./myrepo --out data --embedder minilm --languages python,go --engine local
    """
    from python_ext.cli._output import print_summary, reporter

    if precomputed is not None and repo is not None:
        raise click.UsageError("give either REPO or --precomputed FILE, not both")
    if precomputed is None and repo is None:
        raise click.UsageError("missing REPO (or --precomputed FILE)")
    if model is not None and precomputed is None:
        raise click.UsageError("--model is only used with --precomputed")
    if (scip is not None or run_scip) and (precomputed is not None or not facts):
        raise click.UsageError("--scip/--run-scip need REPO and --facts")
    if precomputed is not None and (engine != "local" or ray_address is not None or workers is not None):
        raise click.UsageError("--engine/--ray-address/--workers chunk and embed a REPO, not --precomputed")
    if engine != "local" and chunk_workers is not None:
        raise click.UsageError("--chunk-workers is for the local engine; drop it with --engine ray")
    if precomputed is not None and (embedder is not None or embedder_backend is not None):
        raise click.UsageError("--embedder/--embedder-backend do not apply to --precomputed")
    progress = reporter(quiet or as_json)
    root = resolve_data_root(data_root)
    if precomputed is not None:
        from python_ext.ingest.precomputed import import_precomputed

        summary = import_precomputed(root, precomputed, model=model, shards=shards, progress=progress)
    else:
        options = {
            "embedder": embedder,
            "embedder_backend": embedder_backend,
            "chunk_workers": chunk_workers,
            "languages": languages,
            "max_file_bytes": max_file_bytes,
            "include": include,
            "exclude": exclude,
            "default_skips": default_skips,
            "chunk_budget": chunk_budget,
            "context": context,
            "id_salt": id_salt,
            "shards": shards,
            "engine": engine,
            "ray_address": ray_address,
            "workers": workers,
        }
        if facts:
            from python_ext.facts.builder import ingest_with_facts

            summary = ingest_with_facts(
                root, repo, scip=scip, run_scip=run_scip, ast_level=ast_level, progress=progress, **options
            )
        else:
            from python_ext.ingest.chunk_ingest import ingest_repository

            summary = ingest_repository(root, repo, progress=progress, **options)
    print_summary(summary.to_dict(), as_json=as_json, title="ingest")


@validate_app.command("chunks")
def validate_chunks_cmd(
    path: Annotated[Path, typer.Argument(help="A chunks .parquet file, a folder of them, or a data root.")],
    as_json: JsonOpt = False,
) -> None:
    """Check chunks Parquet against the contract; list every problem (exit 3 if any).

    Example: indexctl validate chunks data/vectors/chunks --json
    """
    from python_ext.cli._output import emit, stdout
    from python_ext.errors import CheckFailedError
    from python_ext.ingest.validate import chunk_parquet_files, validate_chunks

    problems = validate_chunks(path)
    if as_json or problems:
        emit([p.to_dict() for p in problems], as_json=as_json, columns=["file", "row", "column", "message"])
    if problems:
        files = len({p.file for p in problems})
        failed = CheckFailedError(f"{len(problems)} problem(s) in {files} file(s) under {path}")
        if as_json:  # the problems are the JSON document on stdout; the summary goes to stderr
            from python_ext.cli._output import stderr

            stderr.print(f"Error: {failed.message}", highlight=False, markup=False)
            raise typer.Exit(failed.exit_code)
        raise failed
    if not as_json:
        n = len(chunk_parquet_files(path))
        stdout.print(f"OK: {n} file(s) under {path} match the chunks contract", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Attach ``ingest`` and the ``validate`` group to the top-level app."""
    app.command("ingest")(ingest_cmd)
    app.add_typer(validate_app, name="validate")
