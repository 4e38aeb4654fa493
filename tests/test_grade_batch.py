"""`tinyml grade` as a batch: its command line, resume, SIGKILL mid-batch, Dask, PostgreSQL."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_tinyml
from test_grading_e2e import ASSIGNMENT, RIGHT, STUDENT, student_answer

pytestmark = pytest.mark.grading

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def make_batch(root: Path, n: int) -> Path:
    """``n`` students: alternately right (10 points) and blank (0 points)."""
    subs = root / "submitted"
    for i in range(n):
        folder = subs / f"s{i:02d}"
        folder.mkdir(parents=True)
        if i % 2 == 0:
            student_answer(RIGHT, folder / NOTEBOOK)
        else:
            shutil.copy(STUDENT, folder / NOTEBOOK)
    return subs


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def expected_scores(n: int) -> dict:
    return {f"s{i:02d}": ("10" if i % 2 == 0 else "0") for i in range(n)}


# -- the command line -----------------------------------------------------------------------------

def test_grade_help_shows_the_contract():
    result = run_tinyml("grade", "--help")
    assert result.returncode == 0
    for option in ("ASSIGNMENT", "SUBMISSIONS_DIR", "--db URL", "--workers N",
                   "--scheduler ADDRESS", "--timeout SECONDS", "--memory MB", "--out DIR"):
        assert option in result.stdout


@pytest.mark.parametrize("args, message", [
    (["no_such_assignment", "{subs}"], "unknown assignment 'no_such_assignment': this course has"),
    ([ASSIGNMENT, "{missing}"], "no such folder"),
    ([ASSIGNMENT, "{empty}"], "no student folders"),
    ([ASSIGNMENT, "{subs}", "--workers", "0"], "--workers must be at least 1"),
    ([ASSIGNMENT, "{subs}", "--memory", "10"], "--memory must be at least 64"),
    ([ASSIGNMENT, "{subs}", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    ([ASSIGNMENT, "{subs}", "--db", "postgresql+psycopg://nobody@127.0.0.1:9/none"],
     "cannot open the gradebook"),
])
def test_a_batch_that_cannot_run_exits_1_with_one_line(tmp_path, capsys, args, message):
    from grading import cli

    subs = make_batch(tmp_path, 1)
    (tmp_path / "empty").mkdir()
    fill = {"subs": subs, "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    args = [a.format(**fill) for a in args]
    code = cli.main(["--root", str(REPO), "grade", *args, "--out", str(tmp_path / "out")])
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyml: error: ") and message in lines[0], \
        lines


# -- resume ---------------------------------------------------------------------------------------

def test_a_rerun_skips_what_is_graded_and_regrades_what_changed(tmp_path):
    subs = make_batch(tmp_path, 3)
    out = tmp_path / "out"
    first = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out), "--workers", "2")
    assert first.returncode == 0, first.stderr
    assert {r["student_id"]: r["score"] for r in read_csv(out / "grades.csv")} == expected_scores(3)
    again = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out))
    assert "0 graded now, 3 unchanged and skipped" in again.stdout
    student_answer(RIGHT, subs / "s01" / NOTEBOOK)          # s01 resubmits a right answer
    third = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out))
    assert "1 graded now, 2 unchanged and skipped" in third.stdout
    rows = read_csv(out / "grades.csv")
    assert [r["student_id"] for r in rows] == ["s00", "s01", "s02"]
    assert rows[1]["score"] == "10"


def _graded_count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("select count(*) from tinyml_grading").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_batch_killed_with_sigkill_resumes_and_grades_everyone_once(tmp_path):
    n = 6
    subs = make_batch(tmp_path, n)
    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("tinyml")
    proc = subprocess.Popen([str(exe), "grade", ASSIGNMENT, str(subs), "--out", str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _graded_count(out / "gradebook.db") < 2 and time.monotonic() < deadline \
            and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _graded_count(out / "gradebook.db")
    assert 2 <= partial < n
    result = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert f"{n - partial} graded now, {partial} unchanged and skipped" in result.stdout
    rows = read_csv(out / "grades.csv")
    assert {r["student_id"]: r["score"] for r in rows} == expected_scores(n)
    assert len(rows) == n
    from grading.nbgrader_course import open_gradebook

    with open_gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        graded = [s.student.id for s in gb.assignment_submissions(ASSIGNMENT)]
    assert sorted(graded) == sorted(expected_scores(n))


# -- Dask -----------------------------------------------------------------------------------------

def test_a_dask_cluster_grades_the_same_batch(tmp_path):
    from distributed import LocalCluster

    subs = make_batch(tmp_path, 4)
    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", scheduler_port=0, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        result = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out),
                            "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr
    assert {r["student_id"]: r["score"] for r in read_csv(out / "grades.csv")} == expected_scores(4)


# -- PostgreSQL -----------------------------------------------------------------------------------

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres():
    """A private PostgreSQL server (Debian's binaries) on a free port, torn down afterwards."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing: .ci/run installs the postgresql package")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="tinyml-pg-"))    # outside root's private pytest dir
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    run_as = []
    if os.geteuid() == 0:                       # the server refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(root / "log"), "-o", f"-p {port} -k {sockets} -h 127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*run_as, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "postgres", "gradebook"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_grades_go_to_a_postgresql_gradebook(tmp_path, postgres):
    from grading.nbgrader_course import open_gradebook

    subs = make_batch(tmp_path, 2)
    out = tmp_path / "out"
    result = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out), "--db", postgres,
                        "--workers", "2")
    assert result.returncode == 0, result.stderr
    with open_gradebook(postgres) as gb:
        scores = {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert scores == {"s00": 10.0, "s01": 0.0}
    again = run_tinyml("grade", ASSIGNMENT, str(subs), "--out", str(out), "--db", postgres)
    assert "0 graded now, 2 unchanged and skipped" in again.stdout
    assert not (out / "gradebook.db").exists()


# -- every course assignment under the production grader ------------------------------

def _course_assignments():
    from grading import project as project_mod

    return sorted(project_mod.load(REPO).assignments())


@pytest.mark.parametrize("assignment", _course_assignments())
def test_sandboxed_grader_gives_solution_full_marks_and_blank_zero(assignment, tmp_path):
    """Hidden tests must work through the sandbox's data-only bridge (no isinstance on
    student objects, no tensors crossing): the solution scores full marks, the blank zero."""
    from grading import project as project_mod

    (source,) = project_mod.load(REPO).assignments()[assignment]
    subs = tmp_path / "subs"
    for student, notebook in (("solution", source.path), ("blank", source.release_path)):
        (subs / student).mkdir(parents=True)
        shutil.copy(notebook, subs / student / notebook.name)
    result = run_tinyml("grade", assignment, str(subs), "--workers", "2",
                        "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert rows["solution"]["status"] == "graded", rows["solution"]["reason"]
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"]) > 0, \
        rows["solution"]["reason"]
    assert float(rows["blank"]["score"]) == 0, rows["blank"]["reason"]
