"""Generate ``docs/cli-reference.md`` from every command's ``--help`` so it cannot drift.

Run ``python -m python_ext.cli._reference --write`` after changing a command;
``tests/python/test_docs.py`` fails when the committed file is out of date.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer
from typer import Context

from python_ext.config import PROJECT_ROOT

WIDTH = 100
REFERENCE_PATH = PROJECT_ROOT / "docs" / "cli-reference.md"


def is_group(cmd: Any) -> bool:
    """True for a command group (it has sub-commands)."""
    return hasattr(cmd, "list_commands")


def root_context(app: typer.Typer | None = None) -> tuple[Any, Context]:
    """The Click command behind ``app`` (default: ``indexctl``) and its root context."""
    if app is None:
        from python_ext.cli import app as default_app

        app = default_app
    root = typer.main.get_command(app)
    return root, Context(root, info_name="indexctl", terminal_width=WIDTH, max_content_width=WIDTH)


def iter_commands(cmd: Any, ctx: Context) -> Iterator[tuple[str, Any, Context]]:
    """Yield ``(full name, command, context)`` for ``cmd`` and every sub-command, sorted."""
    yield ctx.command_path, cmd, ctx
    if is_group(cmd):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
            yield from iter_commands(sub, sub_ctx)


def plain_help(cmd: Any, ctx: Context) -> str:
    """Plain-text help for ``cmd`` (no rich boxes, fixed width: stable across terminals)."""
    saved = getattr(cmd, "rich_markup_mode", None)
    cmd.rich_markup_mode = None  # Typer falls back to Click's plain formatter
    try:
        return cmd.get_help(ctx).rstrip() + "\n"
    finally:
        cmd.rich_markup_mode = saved


def render_reference(app: typer.Typer | None = None) -> str:
    """Return the Markdown CLI reference for ``app`` (default: the ``indexctl`` app)."""
    root, ctx = root_context(app)
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
