"""`indexctl search` and `indexctl serve`: thin wrappers over :mod:`python_ext.search`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from python_ext.cli._options import DataRootOpt, JsonOpt, NlOpt
from python_ext.config import resolve_data_root

VersionOpt = Annotated[
    str | None,
    typer.Option("--version", help="Index version (default: the published one).", show_default=False),
]
OperatingPointOpt = Annotated[
    str | None,
    typer.Option(
        "--operating-point",
        help="Override the tuned operating point, e.g. nprobe=32 or nprobe=16,k_factor=4.",
        show_default=False,
    ),
]
ManyOpt = list[str] | None


def _hit_lines(result: Any, show_content: bool) -> None:
    """Print hits as people read them; repository text is never parsed as rich markup."""
    from rich.text import Text

    from python_ext.cli._output import stdout

    head = Text(f"{result.channel} ", style="bold")
    if result.channel == "hybrid":
        head.append(f"(RRF k0={result.rrf['k0']}, cutoff {result.rrf['rank_cutoff']}, over faiss + bm25)  ")
    head.append(f"version {result.version}")
    if result.operating_point:
        head.append(f"  op {result.operating_point}")
    scope = f"{result.matched:,} of {result.ntotal:,} chunks match" if result.matched is not None else ""
    head.append(f"  {scope or f'{result.ntotal:,} chunks'}  {result.timings.get('total', 0) * 1000:,.1f} ms")
    embed = result.timings.get("embed", 0.0)
    if embed > 1.0:
        head.append(
            f" ({embed * 1000:,.0f} ms loading and running the embedder: every new process loads the "
            "model; indexctl serve keeps it warm)",
            style="dim",
        )
    stdout.print(head)
    if not result.hits:
        stdout.print(Text("(no hits)"))
        return
    for hit in result.hits:
        c = hit.chunk
        line = Text(f"{hit.rank:>3}  ", style="bold")
        line.append(c.location, style="cyan")
        line.append(f"  {c.language}")
        if c.symbols:
            shown = ", ".join(name.rsplit(".", 1)[-1] for name in c.symbol_names[:3])
            line.append(f"  {shown}{' …' if len(c.symbols) > 3 else ''}", style="green")
        elif c.enclosing_symbol:  # the rest of a definition that started in an earlier chunk
            line.append(f"  in {c.enclosing_name}", style="green")
        line.append(f"  score {hit.score:.4f}")
        ranks = "  ".join(f"{ch} #{r.rank} ({r.score:.3g})" for ch, r in hit.channel_ranks.items())
        if hit.channel == "hybrid":
            missing = [ch for ch in ("faiss", "bm25") if ch not in hit.channel_ranks]
            ranks += "".join(f"  {ch} -" for ch in missing)
            line.append(f"  [{ranks}]", style="dim")
        stdout.print(line)
        if show_content:
            text = c.content if c.content is not None else "(the chunk changed since this version was built)"
            for row in text.splitlines() or [""]:
                stdout.print(Text("     " + row))
        else:
            preview = " ".join(c.preview.split())
            stdout.print(Text(f"     {preview[:100]}{' …' if len(preview) > 100 else ''}", style="dim"))


def search_cmd(
    text: Annotated[str, typer.Argument(help="The query text.")],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of hits (1 … corpus size).")] = 10,
    channel: Annotated[
        str,
        typer.Option("--channel", help="hybrid (RRF of faiss + bm25), faiss, bm25, or flat (exact oracle)."),
    ] = "hybrid",
    lang: Annotated[
        ManyOpt, typer.Option("--lang", help="Only chunks in this language (repeat for several).")
    ] = None,
    include: Annotated[
        ManyOpt,
        typer.Option(
            "--include", help="Only paths matching this glob ('*' spans folders; 'src/' = under src)."
        ),
    ] = None,
    exclude: Annotated[ManyOpt, typer.Option("--exclude", help="Drop paths matching this glob.")] = None,
    module: Annotated[
        ManyOpt, typer.Option("--module", help="Only chunks of this module and its submodules.")
    ] = None,
    symbol: Annotated[
        ManyOpt, typer.Option("--symbol", help="Only chunks that define or reference this symbol.")
    ] = None,
    content: Annotated[
        bool, typer.Option("--content", help="Show (and emit) each hit's chunk text.")
    ] = False,
    version: VersionOpt = None,
    operating_point: OperatingPointOpt = None,
    data_root: DataRootOpt = None,
    as_json: JsonOpt = False,
    as_nl: NlOpt = False,
) -> None:
    """Search the published index: hybrid ranking by default, filters applied before ranking.

    Example: indexctl search "parse the config file" -k 5 --lang python --exclude 'tests/*'
    """
    from python_ext.cli._output import print_json, print_nl
    from python_ext.search import Searcher

    searcher = Searcher(
        resolve_data_root(data_root), version=version, operating_point=operating_point, embed_threads=1
    )
    result = searcher.search(
        text,
        k,
        channel=channel,
        lang=lang,
        include=include,
        exclude=exclude,
        module=module,
        symbol=symbol,
        content=content,
    )
    if as_json:
        print_json([h.to_dict() for h in result.hits])
    elif as_nl:
        print_nl(h.to_dict() for h in result.hits)
    else:
        _hit_lines(result, content)


def serve_cmd(
    host: Annotated[
        str,
        typer.Option("--host", help="Interface to bind (127.0.0.1: this machine only; no authentication)."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="TCP port (0: any free port, printed at start).")
    ] = 8765,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval",
            help="Seconds between checks for a newly published version or refreshed catalog (0: off).",
        ),
    ] = 2.0,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", help="Serve this version instead of following the published one.", show_default=False
        ),
    ] = None,
    operating_point: OperatingPointOpt = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level: critical, error, warning, info, debug.")
    ] = "warning",
    embed_threads: Annotated[
        int,
        typer.Option(
            "--embed-threads",
            min=1,
            help="torch intra-op threads per query embedding (requests run concurrently).",
        ),
    ] = 1,
    data_root: DataRootOpt = None,
) -> None:
    """Serve search over HTTP (JSON API + Prometheus /metrics), warm, switching atomically on publish.

    Example: indexctl serve --port 8765   # then: curl 'http://127.0.0.1:8765/search?q=parse+config&k=5'
    """
    from python_ext.serve import serve

    serve(
        resolve_data_root(data_root),
        host=host,
        port=port,
        version=version,
        operating_point=operating_point,
        reload_interval=reload_interval,
        log_level=log_level,
        embed_threads=embed_threads,
    )


def register(app: typer.Typer) -> None:
    """Attach the top-level ``search`` and ``serve`` commands to the app."""
    app.command("search")(search_cmd)
    app.command("serve")(serve_cmd)
