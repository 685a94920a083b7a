"""Options shared by several commands, defined once as ``Annotated`` aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-root",
        "--out",
        help="Data root (default: $CODEINTEL_DATA_ROOT or ./data).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
NlOpt = Annotated[bool, typer.Option("--nl", help="Print newline-delimited JSON rows on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars on stderr.")]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="minilm (semantic all-MiniLM-L6-v2) or hashing (lexical, dependency-free). Default: the "
        "embedder the data root was built with, else minilm when installed, else hashing.",
        show_default=False,
    ),
]
AstLevelOpt = Annotated[
    int,
    typer.Option(
        "--ast-level",
        min=-1,
        help="Levels of named children recorded below each declaration in ast_nodes.parquet "
        "(0: declarations only; -1: every named node).",
    ),
]
