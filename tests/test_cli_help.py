"""Every command's summary in `opmetrics --help` is one sentence on one line: the command list
prints a summary's line breaks as they are, which cut it mid-sentence."""

from __future__ import annotations

from typing import Any

import typer

from opmetrics.cli import app


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    found = {}
    for name, cmd in group.commands.items():
        found[f"{prefix}{name}"] = cmd
        if hasattr(cmd, "commands"):  # a group of commands (`review`)
            found.update(_commands(cmd, f"{prefix}{name} "))
    return found


def test_every_command_summary_is_one_line() -> None:
    commands = _commands(typer.main.get_command(app))
    assert {"compute", "report", "customer-pack", "diff", "review init"} <= set(commands)
    for name, cmd in commands.items():
        summary = (cmd.help or "").strip().split("\n\n")[0]
        assert summary and "\n" not in summary, f"{name}: {summary!r}"
