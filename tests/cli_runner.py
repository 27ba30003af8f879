"""`opmetrics ARGS...` run in this process, seen as a user sees it.

A subprocess per command paid the interpreter's start and every import each time (about 2 s,
5 s on a loaded machine), for ~40 commands in the suite. Running `opmetrics.cli.main` in the
test's own process costs only the command's work. What reaches the terminal is captured at
the file descriptors (1 and 2), so a library's warning or a traceback printed below Python's
streams is seen too. `tests/test_cli_process.py` keeps a few real subprocess runs, so the
installed entry point and `python -m opmetrics` are still exercised.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completed:
    """What a command left: like `subprocess.CompletedProcess`, read the same way."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _environment(env: Mapping[str, str | None] | None, cwd: Path | None) -> Iterator[None]:
    saved_env = {k: os.environ.get(k) for k in (env or {})}
    saved_cwd = os.getcwd()
    try:
        for k, v in (env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_cli(
    *args: str, cwd: Path | None = None, env: Mapping[str, str | None] | None = None
) -> Completed:
    """Run one command; its exit code and everything it wrote to stdout and stderr."""
    from opmetrics.cli import main

    env = {"COLUMNS": "200", **(env or {})}
    saved = [os.dup(1), os.dup(2)]
    streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), "utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(2), "wb"), "utf-8", write_through=True)
        try:
            with _environment(env, cwd):
                try:
                    main(list(args))
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
                stream.close()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        out.seek(0)
        err.seek(0)
        return Completed(
            tuple(args),
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
