"""The report page: one self-contained HTML file (plotly.js inlined, no network at view time)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from python_ext.report.figures import Figure

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #222; background: #fafafa; }
header { background: #1f3b57; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; opacity: .85; font-size: 13px; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; margin: 18px 0;
          padding: 12px 20px 16px; }
section h2 { font-size: 17px; margin: 4px 0 6px; }
p.caption { font-size: 13px; color: #555; margin: 0 0 8px; }
p.empty { font-size: 14px; color: #8a6d3b; background: #fcf8e3; padding: 10px 12px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f3f3f3; }
table.facts td:first-child { color: #555; width: 220px; }
code { font-size: 12px; }
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _script_json(fig: Any) -> str:
    """The figure as JSON that is safe inside a <script> element whatever its strings hold."""
    import plotly.io as pio

    text = pio.to_json(fig, validate=False, pretty=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _figure_section(figure: Figure) -> str:
    head = (
        f'<section id="fig-{figure.key}" class="figure" data-figure="{figure.key}">'
        f'<h2>{_esc(figure.title)}</h2><p class="caption">{figure.caption}</p>'
    )
    if figure.plot is None:
        return f'{head}<p class="empty">{_esc(figure.empty)}</p></section>'
    div = f"plot-{figure.key}"
    return (
        f'{head}<div id="{div}" class="plot"></div><script>(function () {{ var spec = '
        f"{_script_json(figure.plot)}; Plotly.newPlot({div!r}, spec.data, spec.layout, "
        '{"displaylogo": false, "responsive": true}); })();</script></section>'
    )


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    head = "".join(f"<th>{_esc(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(row.get(key))}</td>" for key, _ in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(
    figures: Sequence[Figure],
    *,
    facts: dict[str, Any],
    worst: Sequence[dict[str, Any]],
    generated_at: str,
    catalog: str,
) -> str:
    """The whole HTML document.

    :param figures: drawn or empty figures, in page order.
    :param facts: headline facts (label → value), shown as a table.
    :param worst: rows of v_eval_worst_queries (worst first).
    :param generated_at: when the report was made (shown in the header).
    :param catalog: the catalog file it was made from (shown in the header).
    """
    from plotly.offline import get_plotlyjs

    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    fact_rows = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in facts.items())
    worst_html = (
        _table(
            worst,
            [
                ("worst_rank", "#"),
                ("query_text", "query"),
                ("origin", "origin"),
                ("failure", "why"),
                ("hybrid_first_positive_rank", "hybrid rank"),
                ("found_by", "found by (channel@rank)"),
            ],
        )
        if worst
        else '<p class="empty">no failing queries in the latest run with hybrid (or no such run)</p>'
    )
    run = _esc(worst[0]["run_id"]) if worst else "-"
    sections = "".join(_figure_section(f) for f in figures)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>codeintel catalog report</title><style>{_CSS}</style>"
        f"<script>{plotly_js}</script></head><body>"
        f"<header><h1>codeintel catalog report</h1><p>{_esc(catalog)} · generated {_esc(generated_at)}"
        "</p></header><main>"
        f'<section id="facts"><h2>The catalog</h2><table class="facts">{fact_rows}</table></section>'
        f"{sections}"
        f'<section id="worst-queries"><h2>Where search fails (run {run})</h2><p class="caption">'
        "The worst queries of the latest run with the fused channel (v_eval_worst_queries): hybrid "
        "misses first, with the channels that had a positive and at what rank.</p>"
        f"{worst_html}</section></main></body></html>\n"
    )
