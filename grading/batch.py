"""``tinyml grade``: sandboxed, parallel, resumable autograding of a batch of submissions.

The coordinator (this module, one process) discovers and validates the
submissions, builds for each one the notebook to execute (the student's own
cells; the instructor's locked and test cells from the course source, never
from the submission), hands it to workers that run it in a sandbox
(:mod:`grading.sandbox`, :mod:`grading.runner`), and is the ONE place that
writes the nbgrader gradebook. A grade and its resume record are committed in
one transaction, so a batch killed at any moment and run again grades every
student exactly once.

Example
-------
>>> summary = grade_batch(project, "c1_a1_gradient_descent", Path("submitted"),   # doctest: +SKIP
...                       out=Path("grades"), workers=2)
>>> summary.counts                                                                  # doctest: +SKIP
{'graded': 98, 'timeout': 1, 'invalid': 1}
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TinymlError
from .nbgrader_course import Course, open_gradebook
from .project import Project
from .sandbox import Limits, grade_in_sandbox, limits_dict

STATUSES = ("graded", "timeout", "memory", "error", "invalid")
CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "reason")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
HIDDEN_MARKERS = re.compile(r"^\s*###\s*(BEGIN|END)\s+HIDDEN\s+TESTS\s*$", re.IGNORECASE)
STATE_TABLE = "tinyml_grading"
MAX_NOTEBOOK_BYTES = 50 * 2 ** 20


# -- the assignment as the instructor wrote it ---------------------------------------------------

@dataclass
class MasterCell:
    grade_id: str
    kind: str            # "student" (solution), "shared" (locked code), "test" (autograder tests)
    source: str          # what the student edition shows (tests: without the hidden part)
    points: float = 0.0
    hidden_source: str = ""


@dataclass
class MasterNotebook:
    name: str                          # e.g. "c1_a1_gradient_descent.ipynb"
    cells: list[MasterCell]
    digest: str

    @property
    def ids(self) -> dict[str, MasterCell]:
        return {c.grade_id: c for c in self.cells}

    @property
    def tests(self) -> list[MasterCell]:
        return [c for c in self.cells if c.kind == "test"]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells if c.points)

    @property
    def preload(self) -> list[str]:
        """Modules the instructor's locked cells import (imported before the fork)."""
        names: list[str] = []
        for cell in self.cells:
            if cell.kind != "shared":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.append(node.module)
                    names += [f"{node.module}.{a.name}" for a in node.names]
        if any(n.split(".")[0] in ("tinyml_lib", "matplotlib") for n in names):
            names.append("matplotlib.pyplot")
        return list(dict.fromkeys(names))


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def load_master(source: Path, release: Path) -> MasterNotebook:
    """The graded cells of one assignment notebook: source (hidden tests) + student edition."""
    import nbformat

    src = nbformat.read(str(source), as_version=4)
    released = {}
    if release.exists():
        for cell in nbformat.read(str(release), as_version=4).cells:
            if _nbgrader(cell).get("grade_id"):
                released[_nbgrader(cell)["grade_id"]] = cell.source
    cells = []
    for cell in src.cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if not gid or cell.cell_type != "code":
            continue
        if meta.get("solution"):
            kind = "student"
        elif meta.get("grade"):
            kind = "test"
        elif meta.get("locked"):
            kind = "shared"
        else:
            continue
        hidden = "\n".join(line for line in cell.source.splitlines()
                           if not HIDDEN_MARKERS.match(line))
        visible = released.get(gid, cell.source if kind != "test" else hidden)
        points = float(meta.get("points") or 0) if meta.get("grade") else 0.0
        cells.append(MasterCell(gid, kind, visible, points, hidden if kind == "test" else ""))
    if not any(c.kind == "test" for c in cells):
        raise TinymlError(f"{source}: no autograder test cells (nbgrader grade=True, locked)")
    digest = hashlib.sha256(source.read_bytes() + b"\0" + (release.read_bytes() if release.exists()
                                                           else b"")).hexdigest()
    return MasterNotebook(source.name, cells, digest)


# -- submissions ---------------------------------------------------------------------------------

@dataclass
class Submission:
    student: str
    notebook: str                      # expected file name
    path: Path | None                  # None when the file is missing
    digest: str = ""
    task: dict | None = None           # what the sandbox runs (None when invalid)
    invalid: str = ""                  # why it cannot be run


class Invalid(Exception):
    pass


def discover(submissions: Path, assignment: str, notebooks: list[str]) -> list[tuple[str, dict]]:
    """``[(student_id, {notebook name: path or None})]`` from either layout:
    ``<student>/<notebook>.ipynb`` or nbgrader's ``<student>/<assignment>/<notebook>.ipynb``."""
    if not submissions.is_dir():
        raise TinymlError(f"{submissions}: no such folder (SUBMISSIONS_DIR holds one folder per "
                          "student, each with the submitted notebook)")
    found = []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        base = folder / assignment if (folder / assignment).is_dir() else folder
        files = {name: (base / name if (base / name).is_file() else None) for name in notebooks}
        found.append((folder.name, files))
    if not found:
        raise TinymlError(f"{submissions}: no student folders (expected "
                          f"{submissions}/<student_id>/{notebooks[0]})")
    return found


def build_cells(master: MasterNotebook, raw: bytes) -> list[dict]:
    """The cells to execute: the student's code, the instructor's locked and test cells."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Invalid(f"not a notebook: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:
        raise Invalid(f"not a notebook: malformed JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Invalid("not a Jupyter notebook: no list of cells (was it saved by Jupyter?)")
    import nbformat

    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise Invalid(f"not a Jupyter notebook: {str(exc).splitlines()[0][:200]}") from None
    if not nb.cells:
        raise Invalid("the notebook has no cells: submit the notebook you worked in")
    ids = master.ids
    seen = {_nbgrader(c).get("grade_id") for c in nb.cells} & set(ids)
    if not seen:
        raise Invalid(f"not a notebook of this assignment: none of its graded cells "
                      f"({', '.join(list(ids)[:4])}...) are in it")
    attached: dict[str | None, list[dict]] = {None: []}
    answers: dict[str, str] = {}
    anchor = None
    for position, cell in enumerate(nb.cells, start=1):
        gid = _nbgrader(cell).get("grade_id")
        if gid in ids:
            anchor = gid
            if ids[gid].kind == "student" and gid not in answers and cell.cell_type == "code":
                answers[gid] = cell.source
            continue
        if cell.cell_type == "code" and cell.source.strip():
            attached.setdefault(anchor, []).append(
                {"kind": "student", "index": f"cell {position}", "source": cell.source})
    cells = list(attached[None])
    for mc in master.cells:
        if mc.kind == "student":
            cells.append({"kind": "student", "index": mc.grade_id, "grade_id": mc.grade_id,
                          "source": answers.get(mc.grade_id, mc.source)})
        elif mc.kind == "shared":
            cells.append({"kind": "shared", "index": mc.grade_id, "grade_id": mc.grade_id,
                          "source": mc.source})
        else:
            cells.append({"kind": "test", "index": mc.grade_id, "grade_id": mc.grade_id})
        cells.extend(attached.get(mc.grade_id, []))
    return cells


def prepare(master: MasterNotebook, student: str, path: Path | None, limits: Limits) -> Submission:
    sub = Submission(student, master.name, path)
    if not STUDENT_ID.match(student):
        sub.invalid = (f"student id {student!r} is not usable as a gradebook key (letters, "
                       "digits and ._@+- only)")
        sub.digest = hashlib.sha256(f"{master.digest}|{student}|bad-id".encode()).hexdigest()
        return sub
    if path is None:
        sub.invalid = f"no {master.name} in the submission"
        sub.digest = hashlib.sha256(f"{master.digest}|{student}|missing".encode()).hexdigest()
        return sub
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_NOTEBOOK_BYTES else b""
    except OSError as exc:
        sub.invalid = f"cannot read {path.name}: {exc.strerror or exc}"
        sub.digest = hashlib.sha256(f"{master.digest}|{student}|unreadable".encode()).hexdigest()
        return sub
    if size > MAX_NOTEBOOK_BYTES:
        sub.invalid = (f"{path.name} is {size / 2 ** 20:.0f} MB; notebooks over "
                       f"{MAX_NOTEBOOK_BYTES // 2 ** 20} MB are not graded (clear its outputs)")
        sub.digest = hashlib.sha256(f"{master.digest}|{student}|{size}".encode()).hexdigest()
        return sub
    sub.digest = hashlib.sha256(master.digest.encode() + b"|" + raw).hexdigest()
    try:
        cells = build_cells(master, raw)
    except Invalid as exc:
        sub.invalid = str(exc)
        return sub
    sub.task = {"cells": cells, "tests": {c.grade_id: c.hidden_source for c in master.tests},
                "preload": master.preload, "limits": limits_dict(limits)}
    return sub


# -- verdicts ------------------------------------------------------------------------------------

@dataclass
class Verdict:
    student: str
    score: float
    max_score: float
    status: str
    reason: str
    tests: dict = field(default_factory=dict)       # grade_id -> {passed, message, output}
    cells: list = field(default_factory=list)
    wall_seconds: float = 0.0
    execute_seconds: float = 0.0
    peak_mb: float = 0.0
    startup_seconds: float = 0.0


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def judge(master: MasterNotebook, sub: Submission, result: dict | None, limits: Limits) -> Verdict:
    """Status, score and a one-line reason from what the runner reported."""
    if sub.invalid or result is None:
        return Verdict(sub.student, 0.0, master.max_score, "invalid", _one_line(sub.invalid))
    tests = result.get("tests") or {}
    points = {c.grade_id: c.points for c in master.tests}
    score = sum(points[g] for g, t in tests.items() if g in points and t.get("passed") is True)
    failed = [g for g in points if not (tests.get(g) or {}).get("passed")]
    stopped = result.get("stopped")
    status = "graded"
    if stopped:
        kind = stopped.get("kind")
        where = stopped.get("why", "")
        if kind == "timeout":
            status, reason = "timeout", (f"stopped at the {limits.wall_seconds:g} s time limit: "
                                         f"{where} (an endless loop?)")
        elif kind == "cpu":
            status, reason = "timeout", (f"used more than {limits.wall_seconds:g} s of CPU time: "
                                         f"{where}")
        elif kind == "killed":
            status, reason = "memory", f"killed by the system, most likely out of memory: {where}"
        elif kind == "processes":
            status, reason = "error", (f"hit the limit of {limits.processes} processes (a fork "
                                       f"bomb?): {where}; the tests after it were not run")
        elif kind == "crash":
            status, reason = "error", f"the notebook crashed: {where}"
        elif kind == "exit":
            status, reason = "error", (f"the notebook exited early (os._exit, sys.exit or "
                                       f"similar): {where}; the tests after it were not run")
        else:
            status, reason = "error", where or "the grading sandbox failed"
    elif result.get("memory_hit"):
        where = _first_error(result, "MemoryError")
        status, reason = "memory", (f"ran out of memory (limit {limits.memory_mb} MB)"
                                    f"{' in ' + where if where else ''}")
    elif result.get("process_limit_hit"):
        where = _first_error(result, "BlockingIOError")
        status, reason = "error", (f"hit the limit of {limits.processes} processes"
                                   f"{' in ' + where if where else ''} (a fork bomb?)")
    elif failed:
        parts = [f"{g} ({(tests.get(g) or {}).get('message') or 'failed'})" for g in failed]
        reason = f"{len(points) - len(failed)} of {len(points)} tests passed; failed " + \
                 "; ".join(parts)
    else:
        reason = f"all {len(points)} tests passed"
    if status != "graded":
        reason += f"; score {score:g}/{master.max_score:g} from the tests that passed"
    return Verdict(sub.student, float(score), master.max_score, status, _one_line(reason),
                   tests, result.get("cells") or [], float(result.get("wall_seconds") or 0),
                   float(result.get("execute_seconds") or 0),
                   float(result.get("peak_host_mb") or 0) + float(result.get("peak_runner_mb") or 0),
                   float(result.get("startup_seconds") or 0))


def _first_error(result: dict, ename: str) -> str:
    for cell in result.get("cells") or []:
        if str(cell.get("error", "")).startswith(ename):
            return str(cell.get("index"))
    for gid, test in (result.get("tests") or {}).items():
        if str(test.get("message", "")).startswith(ename):
            return gid
    return ""


# -- the gradebook (written only here) ----------------------------------------------------------------

def normalise_db_url(db: str | None, out: Path) -> str:
    if not db:
        return f"sqlite:///{(out / 'gradebook.db').resolve()}"
    if "://" not in db:
        return f"sqlite:///{Path(db).resolve()}"
    return db


class GradebookWriter:
    """nbgrader's gradebook plus one table of ours recording what was graded, in one transaction."""

    def __init__(self, db_url: str, assignment: str, master: MasterNotebook):
        import sqlalchemy as sa

        self.assignment, self.master = assignment, master
        self.gb = _open(db_url)
        meta = sa.MetaData()
        self.table = sa.Table(
            STATE_TABLE, meta,
            sa.Column("assignment", sa.String(128), primary_key=True),
            sa.Column("student_id", sa.String(128), primary_key=True),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("max_score", sa.Float, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("graded_at", sa.Float, nullable=False))
        meta.create_all(self.gb.engine)
        self.sa = sa

    def close(self):
        self.gb.close()

    def done(self) -> dict[str, str]:
        """student id -> digest of what was last graded."""
        rows = self.gb.db.execute(self.sa.select(self.table.c.student_id, self.table.c.digest)
                                  .where(self.table.c.assignment == self.assignment))
        return {r[0]: r[1] for r in rows}

    def rows(self) -> list[tuple]:
        t = self.table
        return list(self.gb.db.execute(
            self.sa.select(t.c.student_id, t.c.assignment, t.c.score, t.c.max_score, t.c.status,
                           t.c.reason).where(t.c.assignment == self.assignment)
            .order_by(t.c.student_id)))

    def record(self, verdict: Verdict, digest: str) -> None:
        import warnings

        with warnings.catch_warnings():
            # nbgrader 0.9 trips SQLAlchemy 2 autoflush warnings; they are not ours to fix.
            warnings.simplefilter("ignore", category=Warning)
            self._record(verdict, digest)

    def _record(self, verdict: Verdict, digest: str) -> None:
        from nbgrader.api import MissingEntry

        gb, sa, t = self.gb, self.sa, self.table
        try:
            gb.update_or_create_student(verdict.student)
            try:
                gb.find_submission(self.assignment, verdict.student)
            except MissingEntry:
                gb.add_submission(self.assignment, verdict.student)
            notebook = self.master.name.removesuffix(".ipynb")
            for cell in self.master.tests:
                grade = gb.find_grade(cell.grade_id, notebook, self.assignment, verdict.student)
                passed = (verdict.tests.get(cell.grade_id) or {}).get("passed") is True
                grade.auto_score = cell.points if passed else 0.0
            gb.db.execute(sa.delete(t).where(t.c.assignment == self.assignment,
                                             t.c.student_id == verdict.student))
            gb.db.execute(sa.insert(t).values(
                assignment=self.assignment, student_id=verdict.student, digest=digest,
                score=verdict.score, max_score=verdict.max_score, status=verdict.status,
                reason=verdict.reason, graded_at=time.time()))
            gb.db.commit()
        except Exception as exc:
            gb.db.rollback()
            raise TinymlError(f"could not write the grade of {verdict.student} to the gradebook: "
                              f"{_one_line(exc, 200)}") from exc


def _open(db_url: str):
    try:
        return open_gradebook(db_url)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TinymlError(f"cannot open the gradebook at {_safe_url(db_url)}: "
                          f"{_one_line(first, 200)}") from exc


def _safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def register_assignment(db_url: str, assignment: str, sources: list, master: MasterNotebook):
    """Make sure the gradebook knows the assignment and its grade cells (nbgrader generate)."""
    from nbgrader.api import MissingEntry

    with _open(db_url) as gb:
        try:
            have = {g.name for g in gb.find_notebook(master.name.removesuffix(".ipynb"),
                                                     assignment).grade_cells}
        except MissingEntry:
            have = set()
    if {c.grade_id for c in master.tests} <= have:
        return
    with tempfile.TemporaryDirectory(prefix="tinyml-register-") as tmp:
        course = Course(Path(tmp), db_url=db_url)
        course.add_source(assignment, [nb.path for nb in sources])
        course.generate(assignment)


# -- outputs ---------------------------------------------------------------------------------------

def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, rows: list[tuple]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for student, assignment, score, max_score, status, reason in rows:
        writer.writerow([student, assignment, f"{score:g}", f"{max_score:g}", status, reason])
    write_atomic(path, buffer.getvalue())


# -- the batch -------------------------------------------------------------------------------------

@dataclass
class Summary:
    total: int
    skipped: int
    counts: Counter
    csv: Path
    seconds: float
    verdicts: list[Verdict] = field(default_factory=list)

    def line(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        return (f"{self.total} submission(s): {self.total - self.skipped} graded now, "
                f"{self.skipped} unchanged and skipped ({parts or 'nothing new'}) "
                f"in {self.seconds:.1f} s; grades in {self.csv}")


def grade_batch(project: Project, assignment: str, submissions: Path, out: Path,
                db: str | None = None, workers: int = 1, scheduler: str | None = None,
                limits: Limits | None = None, progress=None) -> Summary:
    """Grade every submission of ``assignment`` under ``submissions``; see the module docstring."""
    from .feedback import write_feedback

    start = time.monotonic()
    limits = limits or Limits()
    if workers < 1:
        raise TinymlError(f"--workers must be at least 1, got {workers}")
    if scheduler:
        _probe(scheduler)
    groups = project.assignments()
    if assignment not in groups:
        known = ", ".join(sorted(groups)) or "none"
        raise TinymlError(f"unknown assignment {assignment!r}: this course has {known}")
    sources = groups[assignment]
    if len(sources) != 1:
        raise TinymlError(f"{assignment} has {len(sources)} notebooks; tinyml grade handles "
                          "assignments of one notebook")
    nb = sources[0]
    master = load_master(nb.path, nb.release_path)
    found = discover(Path(submissions), assignment, [master.name])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db_url = normalise_db_url(db, out)
    from .sandbox import bwrap_path

    bwrap_path()
    register_assignment(db_url, assignment, sources, master)
    writer = GradebookWriter(db_url, assignment, master)
    try:
        done = writer.done()
        todo: list[Submission] = []
        skipped = 0
        for student, files in found:
            sub = prepare(master, student, files[master.name], limits)
            if done.get(student) == sub.digest and (out / "feedback" / f"{student}.html").exists():
                skipped += 1
                continue
            todo.append(sub)
        counts: Counter = Counter()
        verdicts: list[Verdict] = []
        csv_path = out / "grades.csv"
        last_csv = time.monotonic()

        def finish(sub: Submission, result: dict | None):
            nonlocal last_csv
            verdict = judge(master, sub, result, limits)
            write_feedback(out / "feedback" / f"{sub.student}.html", assignment, master, verdict)
            writer.record(verdict, sub.digest)
            counts[verdict.status] += 1
            verdicts.append(verdict)
            if progress is not None:
                progress.update()
            if time.monotonic() - last_csv > 5:
                write_csv(csv_path, writer.rows())
                last_csv = time.monotonic()

        runnable = [s for s in todo if s.task is not None]
        for sub in todo:
            if sub.task is None:
                finish(sub, None)
        if progress is not None:
            progress.total = len(todo)
            progress.refresh()
        if scheduler:
            _run_dask(scheduler, runnable, finish)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tinyml-grade") as pool:
                futures = {pool.submit(grade_in_sandbox, s.task): s for s in runnable}
                for future in as_completed(futures):
                    finish(futures[future], _result_of(future))
        write_csv(csv_path, writer.rows())
    finally:
        writer.close()
    return Summary(len(found), skipped, counts, csv_path, time.monotonic() - start, verdicts)


def _result_of(future) -> dict:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker failure is this submission's error
        return {"stopped": {"kind": "sandbox", "why": f"the grading worker failed: "
                                                      f"{_one_line(exc, 200)}"}}


def _probe(address: str) -> None:
    """Fail in seconds, with a clear reason, when nothing listens at a tcp:// scheduler address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise TinymlError(f"cannot reach the Dask scheduler at {address}: expected "
                          "tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise TinymlError(f"cannot reach the Dask scheduler at {address}: "
                          f"{exc.strerror or exc}") from None


def _run_dask(address: str, runnable: list[Submission], finish) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - distributed is in the grading extra
        raise TinymlError("--scheduler needs the `distributed` package") from exc
    _probe(address)
    try:
        client = Client(address, timeout=15)
    except Exception as exc:
        raise TinymlError(f"cannot reach the Dask scheduler at {address}: "
                          f"{_one_line(exc, 200)}") from exc
    try:
        futures = {}
        for sub in runnable:
            future = client.submit(grade_in_sandbox, sub.task, pure=False,
                                   key=f"tinyml-grade-{sub.student}-{sub.digest[:12]}")
            futures[future] = sub
        for future in dask_completed(list(futures)):
            finish(futures[future], _result_of(future))
    finally:
        client.close()
