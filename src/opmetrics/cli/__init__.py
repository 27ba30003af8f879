"""The `opmetrics` command: parse arguments, show progress, map errors to exit codes.

Commands live in one module per area (`data.py`, `generate.py`, ...), each with `register(app)`;
their options are defined once, in `options.py`. Nothing here computes anything: every command
calls a method of `opmetrics.Context` and shows what it returns. Nothing heavy is imported until
a command runs, so `opmetrics --help` answers at once.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer._click import exceptions as click_exc

from opmetrics import console
from opmetrics.cli.options import STATE
from opmetrics.errors import ExitCode, OpmetricsError

app = typer.Typer(
    name="opmetrics",
    help="SEC Operational Metrics (MP122): validate, compute, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# One module per area of commands; each defines `register(app)`.
COMMAND_MODULES = (
    "data",
    "compute",
    "duis",
    "generate",
    "report",
    "review",
    "pipeline",
    "customer",
    "diff",
)


def _show_version(value: bool) -> None:
    if value:
        from opmetrics.defaults import package_version

        console.out.print(f"opmetrics {package_version()}")
        raise typer.Exit()


@app.callback()
def _global(
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog", help="Reference catalog TOML replacing the shipped one.", dir_okay=False
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and results.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    STATE.catalog_path = catalog
    STATE.debug = debug
    console.set_quiet(quiet)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"opmetrics.cli.{name}").register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a command; exit with its documented code."""
    STATE.debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        rv = app(args=argv, standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except OpmetricsError as exc:
        if STATE.debug:
            traceback.print_exc()
        console.error(str(exc))
        code = int(exc.exit_code)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        console.error("interrupted")
        code = int(ExitCode.INTERRUPTED)
    except click_exc.ClickException as exc:
        console.error(exc.format_message())
        if isinstance(exc, click_exc.UsageError) and exc.ctx is not None:
            console.info(f"Try '{exc.ctx.command_path} --help' for help.")
        code = int(ExitCode.INPUT)
    except KeyboardInterrupt:
        console.error("interrupted")
        code = int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if STATE.debug:
            traceback.print_exc()
        from opmetrics.engine import resource_error

        resource = resource_error(exc)
        if resource is not None:
            console.error(str(resource))
            code = int(resource.exit_code)
        else:
            console.error(
                f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (run again with --debug for the traceback)"
            )
            code = int(ExitCode.INTERNAL)
    sys.exit(code)
