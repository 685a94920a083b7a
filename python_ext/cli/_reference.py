"""Generate ``docs/cli-reference.md`` from every command's ``--help`` so it cannot drift.

Run ``python -m python_ext.cli._reference --write`` after changing a command;
``tests/python/test_docs.py`` fails when the committed file is out of date.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
import typer

WIDTH = 100
REFERENCE_PATH = Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md"


def iter_commands(
    cmd: click.Command, ctx: click.Context
) -> Iterator[tuple[str, click.Command, click.Context]]:
    """Yield ``(full name, command, context)`` for ``cmd`` and every sub-command, sorted."""
    yield ctx.command_path, cmd, ctx
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(
                sub, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH
            )
            yield from iter_commands(sub, sub_ctx)


def plain_help(cmd: click.Command, ctx: click.Context) -> str:
    """Click's plain-text help for ``cmd`` (no rich boxes, fixed width: stable across terminals)."""
    formatter = ctx.make_formatter()
    base = click.Group if isinstance(cmd, click.Group) else click.Command
    base.format_help(cmd, ctx, formatter)
    return formatter.getvalue().rstrip() + "\n"


def render_reference(app: typer.Typer | None = None) -> str:
    """Return the Markdown CLI reference for ``app`` (default: the ``indexctl`` app)."""
    if app is None:
        from python_ext.cli import app as default_app

        app = default_app
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="indexctl", terminal_width=WIDTH, max_content_width=WIDTH)
    parts = [
        "# indexctl CLI reference\n",
        "Generated from each command's `--help` by `python -m python_ext.cli._reference --write`;",
        "do not edit by hand. The narrative guide is in the per-stage pages under `docs/`.\n",
    ]
    for path, cmd, cmd_ctx in iter_commands(root, ctx):
        parts.append(f"## {path}\n")
        parts.append("```text\n" + plain_help(cmd, cmd_ctx) + "```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """``--write`` rewrites docs/cli-reference.md; otherwise print the reference."""
    argv = sys.argv[1:] if argv is None else argv
    text = render_reference()
    if "--write" in argv:
        from python_ext.atomic import atomic_write_text

        atomic_write_text(REFERENCE_PATH, text)
        print(f"wrote {REFERENCE_PATH}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
