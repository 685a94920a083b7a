"""``indexctl report``: the catalog as one self-contained HTML page of figures.

:func:`build_report` reads the catalog's marts (read-only), draws the tuning frontier, the
metrics per channel across runs, chunk lengths per language against the embedder's window, the
module import graph sized by centrality and the channel shares of the fused ranking with
plotly, and writes one HTML file with plotly.js inlined: it opens offline, from any folder,
with no network. The file is written to a temporary sibling and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from python_ext.atomic import atomic_write_text
from python_ext.config import DataRootLike, resolve_data_root
from python_ext.errors import CatalogError, MissingDependencyError
from python_ext.progress import NULL_PROGRESS, Reporter

#: Figures in page order (the ``key`` of each section: ``<section id="fig-KEY">``).
FIGURE_KEYS = ("frontier", "metrics", "chunk-lengths", "module-graph", "channel-shares")


@dataclass
class ReportResult:
    """Where the report is and what it holds."""

    path: Path
    bytes: int
    seconds: float
    figures: list[str] = field(default_factory=list)
    empty: dict[str, str] = field(default_factory=dict)
    chunks_measured: int = 0
    length_unit: str = ""
    window: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "figures": list(self.figures),
            "empty": dict(self.empty),
            "chunks_measured": self.chunks_measured,
            "length_unit": self.length_unit,
            "window": self.window,
        }


def default_report_path(db_path: Path) -> Path:
    """``<catalog dir>/<catalog stem>-report.html`` (``data/db/codeintel-report.html``)."""
    return db_path.with_name(f"{db_path.stem}-report.html")


def build_report(
    data_root: DataRootLike = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    sample_per_language: int = 2000,
    progress: Reporter = NULL_PROGRESS,
) -> ReportResult:
    """Write the HTML report of a catalog.

    :param data_root: data root whose ``db/codeintel.duckdb`` to read (None: as everywhere).
    :param db_path: catalog file; overrides ``data_root``.
    :param out: HTML file to write (default :func:`default_report_path`).
    :param sample_per_language: chunks per language whose length is measured.
    :raises CatalogError: when there is no catalog, or it is not a codeintel catalog.
    """
    import duckdb

    from python_ext.embed.window import TokenWindow, token_window
    from python_ext.report import figures as F
    from python_ext.report.data import load_report_data
    from python_ext.report.page import render_page

    t0 = time.perf_counter()
    path = Path(db_path).expanduser().resolve() if db_path else resolve_data_root(data_root).db_path
    if not path.is_file():
        raise CatalogError(f"no catalog at {path}", hint="build it with `indexctl catalog refresh`")
    target = Path(out).expanduser().resolve() if out else default_report_path(path)
    with progress.task("report: read the catalog", total=1) as advance:
        con = duckdb.connect(str(path), read_only=True)
        try:
            data = load_report_data(con, sample_per_language=sample_per_language)
        except duckdb.CatalogException as exc:
            raise CatalogError(
                f"{path} is not a codeintel catalog (or predates this report): {exc}",
                hint="refresh it with `indexctl catalog refresh`",
            ) from exc
        finally:
            con.close()
        advance(1)
    window = TokenWindow("characters", None, lambda texts: [len(t) for t in texts])
    if data.embedding is not None:
        # without the minilm extra MiniLM's tokenizer is missing: lengths stay in characters
        with contextlib.suppress(MissingDependencyError):
            window = token_window(data.embedding)
    lengths: dict[str, list[int]] = {}
    measured = sum(len(v) for v in data.chunk_samples.values())
    with progress.task("report: measure chunk lengths", total=measured) as advance:
        for lang, texts in data.chunk_samples.items():
            lengths[lang] = window.count(texts)
            advance(len(texts))
    with progress.task("report: draw", total=len(FIGURE_KEYS)) as advance:
        drawn = []
        for make in (
            lambda: F.tuning_frontier(data),
            lambda: F.metrics_over_runs(data),
            lambda: F.chunk_lengths(data, lengths, window.unit, window.window),
            lambda: F.module_graph(data),
            lambda: F.channel_shares(data),
        ):
            drawn.append(make())
            advance(1)
    facts = {
        "chunks": f"{data.facts['chunks']:,} in {data.facts['files']:,} files",
        "modules": f"{data.facts['modules']:,}",
        "symbol-graph edges": f"{data.facts['symbol_edges']:,}",
        "embedder": (
            f"{data.embedding.model} ({data.embedding.kind}, d={data.embedding.dim})"
            if data.embedding
            else "-"
        ),
        "published index": data.facts["index_version"] or "-",
        "operating point": data.facts["operating_point"] or "-",
        "evaluation runs": f"{data.facts['eval_runs']:,}",
    }
    page = render_page(
        drawn,
        facts=facts,
        worst=data.worst,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        catalog=str(path),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, page)
    return ReportResult(
        path=target,
        bytes=target.stat().st_size,
        seconds=time.perf_counter() - t0,
        figures=[f.key for f in drawn if f.plot is not None],
        empty={f.key: f.empty or "" for f in drawn if f.plot is None},
        chunks_measured=measured,
        length_unit=window.unit,
        window=window.window,
    )
