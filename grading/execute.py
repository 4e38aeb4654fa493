"""Run a course notebook top to bottom, the way a learner would, and report how it went."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import conventions
from .nbgrader_course import kernel_env

MODE_ENV = {"TINYML_FAST": "1", "TINYML_OFFLINE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


@dataclass
class RunResult:
    ok: bool
    seconds: float
    error: str = ""                      # first error, one line
    cell: int | None = None              # index of the failing cell
    violations: list = field(default_factory=list)
    executed: object = None              # the executed notebook node


def _first_line_of_error(exc: Exception) -> tuple[str, int | None]:
    """The exception name and message of a failed cell, on one line."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if isinstance(exc, CellExecutionError):
        name = getattr(exc, "ename", "") or "Error"
        value = (getattr(exc, "evalue", "") or "").strip().splitlines()
        return f"{name}: {value[0] if value else ''}".strip(": "), None
    if isinstance(exc, CellTimeoutError):
        return f"timeout: {str(exc).splitlines()[0]}", None
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}", None


def run_notebook(path: Path, rel: str | None = None, timeout: int = 600) -> RunResult:
    """Execute ``path`` in a scratch copy of its folder (the sources are never written)."""
    from nbclient import NotebookClient

    rel = rel or str(path)
    nb_node = nbformat.read(str(path), as_version=4)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinyml-run-") as tmp:
        workdir = Path(tmp) / "work"
        shutil.copytree(path.parent, workdir,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        client = NotebookClient(nb_node, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}})
        kernel_log = Path(tmp) / "kernel.log"
        try:
            with kernel_env(**MODE_ENV), open(kernel_log, "wb") as log:
                client.execute(stderr=log)  # kernel chatter goes to a file, not the table
        except Exception as exc:  # a failing notebook is a result, not a crash
            message, _ = _first_line_of_error(exc)
            if "DeadKernel" in type(exc).__name__ or "died" in message.lower():
                tail = kernel_log.read_text(errors="replace").strip().splitlines()[-1:]
                message += f" (kernel said: {tail[0][:200]})" if tail else ""
            failing = next((i for i, c in enumerate(nb_node.cells)
                            if c.cell_type == "code" and any(o.get("output_type") == "error"
                                                             for o in c.get("outputs", []))), None)
            return RunResult(False, time.monotonic() - start, message, failing, executed=nb_node)
    seconds = time.monotonic() - start
    violations = conventions.output_alt_violations(rel, nb_node)
    if violations:
        first = violations[0]
        return RunResult(False, seconds, f"{first.message}", first.cell, violations, nb_node)
    return RunResult(True, seconds, executed=nb_node)
