"""Shared fixtures: the real checkout, and small throw-away projects to break on purpose."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]

# Every test runs in fast + offline mode, as CI does.
os.environ.setdefault("TINYML_FAST", "1")
os.environ.setdefault("TINYML_OFFLINE", "1")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def project():
    from grading import project as project_mod

    return project_mod.load(REPO)


def run_tinyml(*args, cwd=None):
    """Run the ``tinyml`` console script; returns the CompletedProcess."""
    import subprocess

    exe = Path(sys.executable).with_name("tinyml")
    return subprocess.run([str(exe), *args], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=600)


class MiniProject:
    """A throw-away checkout: the real pyproject.toml and whatever notebooks a test adds."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")

    @property
    def project(self):
        from grading import project as project_mod

        return project_mod.load(self.root)

    def add(self, rel: str, cells, fix: bool = True) -> Path:
        """Write a notebook of ``cells`` at ``rel``; with ``fix``, apply the conventions."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                     "language": "python", "name": "python3"}
        nbformat.write(nb, str(path))
        if fix:
            from grading import conventions

            notebook = next(n for n in self.project.notebooks if n.path == path.resolve())
            conventions.fix(notebook)
        return path

    def copy_from_repo(self, rel: str) -> Path:
        src = REPO / rel
        dst = self.root / rel
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
        return dst


@pytest.fixture
def mini(tmp_path) -> MiniProject:
    return MiniProject(tmp_path)


def md(text):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text, **metadata):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip())
    cell.metadata.update(metadata)
    return cell


def header(title="A lesson"):
    return md(f"""
        # {title}

        ## What you will learn

        How a small thing works.
        """)


# -- datasets: a private cache and a local file server ---------------------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh dataset cache (``TINYML_CACHE_DIR``) for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TINYML_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path / "www"`` on 127.0.0.1; yields (folder, base URL ending in /)."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def fill_answers(student_edition: Path, answers: dict, path: Path) -> Path:
    """A copy of ``student_edition`` with code typed into its solution cells, by grade id."""
    nb = nbformat.read(str(student_edition), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = textwrap.dedent(answers[grade_id]).strip()
    nbformat.write(nb, str(path))
    return path


def feedback(course, assignment, student) -> dict:
    """The error each failed test cell showed the student, by grade id (nbgrader's output)."""
    path = course.autograded_dir(student, assignment) / f"{assignment}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    errors = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors[grade_id] = f"{output['ename']}: {output['evalue']}"
    return errors


def with_changes(right: dict, wrong: dict) -> dict:
    """``right`` with some answers replaced (or removed, for None: left blank)."""
    answers = dict(right)
    for key, value in wrong.items():
        if value is None:
            answers.pop(key)
        else:
            answers[key] = value
    return answers
