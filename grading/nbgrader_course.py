"""A throw-away nbgrader course directory, driven through nbgrader's own converters.

nbgrader expects the layout ``<root>/source/<assignment>/<notebook>.ipynb``,
``<root>/release/...``, ``<root>/submitted/<student>/<assignment>/...`` and a
gradebook database. :class:`Course` builds that layout in a folder of ours and
runs ``generate_assignment`` and ``autograde`` exactly as ``nbgrader`` would.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import TinymlError

COURSE_ID = "tinyml"


@dataclass
class Score:
    student: str
    assignment: str
    score: float
    max_score: float
    failed_tests: list[str]
    manual_points: float = 0.0   #: points of manually graded answers (not scored by autograde)

    @property
    def auto_max_score(self) -> float:
        """What the autograder can award: every point but the manually graded ones."""
        return self.max_score - self.manual_points


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@contextmanager
def patched_environ(set_: dict[str, str] | None = None, prepend: dict[str, str] | None = None):
    """Set (``set_``) or put in front of path lists (``prepend``) environment variables,
    and restore them afterwards."""
    set_, prepend = set_ or {}, prepend or {}
    saved = {name: os.environ.get(name) for name in {*set_, *prepend}}
    os.environ.update(set_)
    for name, first in prepend.items():
        old = os.environ.get(name)
        os.environ[name] = first + (os.pathsep + old if old else "")
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def kernel_env(**set_: str):
    """Kernels and tools started by nbgrader come from this interpreter's environment.

    The venv's kernelspec comes first on JUPYTER_PATH, and its scripts (nbgrader
    calls ``alembic`` to create a gradebook) first on PATH, even when the venv
    is not activated. Keyword arguments set further variables.
    """
    return patched_environ(set_=set_, prepend={
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
        "PATH": str(Path(sys.executable).parent),
    })


_TEMPLATE: list[Path] = []


def _empty_gradebook() -> Path:
    """An empty SQLite gradebook, made once per process and copied from then on.

    Creating a gradebook makes nbgrader run ``alembic heads`` in a subprocess
    (about 3 s); a copy of an empty one costs a millisecond.
    """
    if not _TEMPLATE or not _TEMPLATE[0].exists():
        from nbgrader.api import Gradebook

        folder = Path(tempfile.mkdtemp(prefix="tinyml-gradebook-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "empty.db"
        with kernel_env(), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=Warning)
            Gradebook(f"sqlite:///{path}", COURSE_ID).close()
        _TEMPLATE[:] = [path]
    return _TEMPLATE[0]


def open_gradebook(db_url: str):
    """nbgrader's ``Gradebook`` at ``db_url``, created quickly when it does not exist yet.

    A missing SQLite file starts as a copy of the empty template; any other
    database is created by nbgrader itself (which runs ``alembic``, found in this
    interpreter's environment). SQLAlchemy warnings from nbgrader are silenced.
    """
    from nbgrader.api import Gradebook

    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///"):])
        if not path.exists() or path.stat().st_size == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_empty_gradebook(), path)
    with kernel_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return Gradebook(db_url, COURSE_ID)


class Course:
    """An nbgrader course rooted at ``root`` with a SQLite gradebook (or ``db_url``)."""

    def __init__(self, root: Path, db_url: str | None = None, timeout: int = 300):
        from traitlets.config import Config

        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        if db_url is None:
            db_file = self.root / "gradebook.db"
            if not db_file.exists():
                shutil.copyfile(_empty_gradebook(), db_file)
            db_url = f"sqlite:///{db_file}"
        self.db_url = db_url
        config = Config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.course_id = COURSE_ID
        config.CourseDirectory.db_url = self.db_url
        config.Execute.timeout = timeout
        config.Execute.interrupt_on_timeout = True
        config.Execute.raise_on_iopub_timeout = True
        # Kernel log chatter (e.g. the TCP transport warning) would flood batch output.
        config.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
        self.config = config

    # -- layout ------------------------------------------------------------------
    def source_dir(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release_dir(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def submitted_dir(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def add_source(self, assignment: str, files: list[Path]) -> None:
        target = self.source_dir(assignment)
        target.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copy2(path, target / Path(path).name)

    def submit(self, student: str, assignment: str, files: list[Path]) -> None:
        target = self.submitted_dir(student, assignment)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, target / Path(path).name)

    # -- nbgrader steps -----------------------------------------------------------------
    def _run(self, converter_cls, assignment: str, student: str | None = None, **traits):
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        coursedir.assignment_id = assignment
        if student is not None:
            coursedir.student_id = student
        app = converter_cls(coursedir=coursedir, config=self.config)
        for name, value in traits.items():
            setattr(app, name, value)
        capture = _Capture()
        app.log.addHandler(capture)
        try:
            with kernel_env(), warnings.catch_warnings():
                # nbgrader 0.9 trips SQLAlchemy 2 autoflush warnings; they are not ours to fix.
                warnings.simplefilter("ignore", category=Warning)
                app.start()
        except Exception as exc:
            detail = _first_error(capture.lines) or str(exc) or type(exc).__name__
            raise TinymlError(f"nbgrader {converter_cls.__name__} of {assignment}"
                              f"{' for ' + student if student else ''} failed: {detail}") from exc
        finally:
            app.log.removeHandler(capture)
        return capture.lines

    def generate(self, assignment: str) -> Path:
        """``nbgrader generate_assignment``: the student edition, in ``release/<assignment>``."""
        from nbgrader.converters import GenerateAssignment

        self._run(GenerateAssignment, assignment, force=True, create_assignment=True)
        return self.release_dir(assignment)

    def autograde(self, assignment: str, student: str) -> Score:
        """``nbgrader autograde`` one submission and read its score from the gradebook."""
        from nbgrader.converters import Autograde

        self._run(Autograde, assignment, student=student, force=True, create_student=True)
        return self.score(assignment, student)

    def score(self, assignment: str, student: str) -> Score:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url, COURSE_ID) as gb:
            submission = gb.find_submission(assignment, student)
            failed, manual = [], 0.0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.auto_score is None:
                        manual += float(grade.max_score)
                    elif grade.auto_score < grade.max_score:
                        failed.append(grade.name)
            return Score(student, assignment, float(submission.score),
                         float(submission.max_score), failed, manual)


_ERROR_LINE = re.compile(r"^\s*([\w.]+(Error|Exception|Exit)\b.*)$")


def _first_error(lines: list[str]) -> str:
    """The most specific error in nbgrader's log: the last 'SomethingError: ...' line."""
    found = ""
    for record in lines:
        for line in record.splitlines():
            match = _ERROR_LINE.match(line)
            if match and "NbGraderException" not in line:
                found = match.group(1)
    return found[:300]
