"""`indexctl` commands for the index stage: the ``index`` group.

Each command parses flags, calls one function of :mod:`python_ext.index` and renders the
result through :mod:`python_ext.cli._output`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from python_ext.cli._options import DataRootOpt, JsonOpt, NlOpt, QuietOpt
from python_ext.config import resolve_data_root

index_app = typer.Typer(
    name="index",
    help="Build, tune, version and publish the FAISS index.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)

GpuOpt = Annotated[
    str, typer.Option("--gpu", help="auto: GPU when FAISS sees one; on: require a GPU; off: CPU only.")
]
VersionOpt = Annotated[
    str | None,
    typer.Option("--version", help="Index version (default: the published one).", show_default=False),
]


@index_app.command("build")
def build_cmd(
    factory: Annotated[str, typer.Option("--factory", help="auto, or a FAISS factory string.")] = "auto",
    metric: Annotated[str, typer.Option("--metric", help="ip (normalized vectors) or l2.")] = "ip",
    gpu: GpuOpt = "auto",
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Flip CURRENT to the new version.")
    ] = True,
    shards: Annotated[
        int, typer.Option("--shards", help="Train once, fill this many shards, serve them as one index.")
    ] = 1,
    layout: Annotated[
        str,
        typer.Option(
            "--layout", help="shards: one file per shard; ondisk: IVF lists merged into one mmapped file."
        ),
    ] = "shards",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Processes filling the shards (default: one per core).", show_default=False
        ),
    ] = None,
    bm25: Annotated[
        bool,
        typer.Option(
            "--bm25/--no-bm25",
            help="Build the BM25 index beside FAISS (the bm25 and hybrid search channels need it).",
        ),
    ] = True,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build a new index version (FAISS + BM25 + chunk metadata) from the chunks and publish it.

    Example: indexctl index build --factory auto --metric ip --gpu auto --shards 4
    """
    from python_ext.cli._output import print_summary, reporter
    from python_ext.index.build import build_index

    result = build_index(
        resolve_data_root(data_root),
        factory=factory,
        metric=metric,
        gpu=gpu,
        publish=publish,
        shards=shards,
        layout=layout,
        workers=workers,
        bm25=bm25,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="index build")


@index_app.command("tune")
def tune_cmd(
    target_recall: Annotated[float, typer.Option("--target-recall", help="Recall@k to reach.")] = 0.95,
    k: Annotated[int, typer.Option("-k", "--k", help="Neighbours per query.")] = 10,
    factories: Annotated[
        list[str] | None,
        typer.Option("--factories", help="Build and compare these factories (repeat, or separate with ';')."),
    ] = None,
    version: VersionOpt = None,
    queries: Annotated[
        str, typer.Option("--queries", help="auto, eval (eval/queries.parquet) or sample.")
    ] = "auto",
    n_queries: Annotated[int, typer.Option("--n-queries", help="Sampled queries when not using eval.")] = 500,
    gpu: GpuOpt = "auto",
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Publish the winner of --factories.")
    ] = True,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Choose the fastest operating point that meets the recall target.

    Example: indexctl index tune --target-recall 0.95 -k 10
    """
    from python_ext.cli._output import print_summary, reporter, warn
    from python_ext.index.tune import tune_index

    names = [f.strip() for item in factories or [] for f in item.split(";") if f.strip()]
    result = tune_index(
        resolve_data_root(data_root),
        factories=names or None,
        version=version,
        target_recall=target_recall,
        k=k,
        n_queries=n_queries,
        queries=queries,
        gpu=gpu,
        publish=publish,
        progress=reporter(quiet or as_json),
    )
    if not result.target_met:
        warn(
            f"no operating point reached recall@{result.summary['k']} >= {target_recall}; "
            f"chose the most accurate one ({result.chosen.recall_at_k:.4f})"
        )
    print_summary(result.to_dict(), as_json=as_json, title="index tune")


@index_app.command("versions")
def versions_cmd(data_root: DataRootOpt = None, as_json: JsonOpt = False, as_nl: NlOpt = False) -> None:
    """List the complete index versions, oldest first.

    Example: indexctl index versions --json
    """
    from python_ext.cli._output import emit, warn
    from python_ext.index.versions import current_problem, list_versions

    root = resolve_data_root(data_root)
    rows = [v.to_dict() for v in list_versions(root)]
    problem = current_problem(root)
    if problem:
        warn(f"nothing is published: {problem}")
    emit(rows, as_json=as_json, as_nl=as_nl, title="index versions")


ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Publish even a version built from other chunks than the data root holds now.",
    ),
]
RefreshCatalogOpt = Annotated[
    bool,
    typer.Option(
        "--refresh-catalog/--no-refresh-catalog",
        help="Refresh the catalog after the flip when one exists (else it stays stale until "
        "`indexctl catalog refresh`).",
    ),
]


@index_app.command("publish")
def publish_cmd(
    version: Annotated[str, typer.Argument(help="The version to publish.")],
    force: ForceOpt = False,
    refresh_catalog: RefreshCatalogOpt = True,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Publish a version (atomic flip of CURRENT and the current symlink), then refresh the catalog.

    Example: indexctl index publish 20261121T103000.123Z-1a2b3c4d
    """
    from python_ext.catalog.publish import publish_version
    from python_ext.cli._output import print_summary, reporter

    result = publish_version(
        resolve_data_root(data_root),
        version,
        force=force,
        refresh=refresh_catalog,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="index publish")


@index_app.command("rollback")
def rollback_cmd(
    force: ForceOpt = False,
    refresh_catalog: RefreshCatalogOpt = True,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Publish the newest version older than the published one, then refresh the catalog.

    Example: indexctl index rollback
    """
    from python_ext.catalog.publish import rollback_version
    from python_ext.cli._output import print_summary, reporter

    result = rollback_version(
        resolve_data_root(data_root),
        force=force,
        refresh=refresh_catalog,
        progress=reporter(quiet or as_json),
    )
    print_summary(result.to_dict(), as_json=as_json, title="index rollback")


@index_app.command("gc")
def gc_cmd(
    keep: Annotated[
        int, typer.Option("--keep", help="Newest versions to keep (the published one is always kept).")
    ] = 3,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete old versions and leftovers of killed builds.

    Example: indexctl index gc --keep 2
    """
    from python_ext.cli._output import print_summary
    from python_ext.index.versions import gc

    print_summary(gc(resolve_data_root(data_root), keep=keep).to_dict(), as_json=as_json, title="index gc")


@index_app.command("info")
def info_cmd(version: VersionOpt = None, data_root: DataRootOpt = None, as_json: JsonOpt = False) -> None:
    """Print the published version's manifest (version.json).

    Example: indexctl index info --json
    """
    from python_ext.cli._output import print_summary
    from python_ext.index.versions import describe

    print_summary(
        describe(resolve_data_root(data_root), version).to_dict(), as_json=as_json, title="index info"
    )


@index_app.command("export-idmap")
def export_idmap_cmd(
    version: VersionOpt = None, data_root: DataRootOpt = None, as_json: JsonOpt = False
) -> None:
    """Re-export faiss_idmap.parquet from the index and record its sha256.

    Example: indexctl index export-idmap --json
    """
    from python_ext.cli._output import print_summary
    from python_ext.index.idmap import export_idmap

    print_summary(
        export_idmap(resolve_data_root(data_root), version).to_dict(),
        as_json=as_json,
        title="index export-idmap",
    )


def register(app: typer.Typer) -> None:
    """Attach the ``index`` group to the app."""
    app.add_typer(index_app, name="index")
