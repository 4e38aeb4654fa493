"""`tinyml grade` against a corpus of hostile submissions: each one is contained, gets the right
status, score and reason, and the rest of the batch is graded as if it were not there."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, run_tinyml
from test_grading_e2e import ASSIGNMENT, RIGHT, STUDENT, student_answer

pytestmark = pytest.mark.grading

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = REPO / "course1/assignments" / ASSIGNMENT / NOTEBOOK
WRONG_MSE = "def mse(y_true, y_pred):\n    return 0.0"


def with_cells(answers: dict, path: Path, setup: str | None = None, edit=None) -> Path:
    """The student edition with ``answers`` in its solution cells (and ``setup`` as its setup cell)."""
    student_answer(answers, path)
    nb = nbformat.read(str(path), as_version=4)
    if setup is not None:
        cell = next(c for c in nb.cells if "tinyml-setup" in c.metadata.get("tags", []))
        cell.source = textwrap.dedent(setup).strip()
    if edit is not None:
        edit(nb)
    nbformat.write(nb, str(path))
    return path


def leak_or_fail(attempt: str) -> dict:
    """An mse that is right only if ``attempt`` (code that sets ``leaked``) got anything.

    A wrong mse fails test_mse and test_fit (fit's losses are mse): 5 of 10 points.
    """
    return {**RIGHT, "mse": f"""
        leaked = None
        try:
{textwrap.indent(textwrap.dedent(attempt).strip(), ' ' * 12)}
        except Exception as exc:
            print("attempt failed:", type(exc).__name__, exc)
        if leaked:
            print("LEAKED", repr(leaked)[:200])
            def mse(y_true, y_pred):
                return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))
        else:
            def mse(y_true, y_pred):
                return 0.0
        """}


def tamper_tests(nb):
    kept = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_mse":
            cell.source = "print('Part 1 looks right.')"
            meta["points"] = 100
        if meta.get("grade_id") == "test_gradient":
            meta.update(grade=False, locked=False, solution=True)
            cell.source = "pass"
        if meta.get("grade_id") == "test_step":
            continue                       # deleted
        kept.append(cell)
    nb.cells = kept


CORPUS = {}      # student id -> (builder, expected status, expected score, words in the reason)


def case(student, status, score, *words):
    def register(builder):
        CORPUS[student] = (builder, status, score, words)
        return builder
    return register


@case("good", "graded", 10, "all 4 tests passed")
def _(path, ctx):
    return student_answer(RIGHT, path)


@case("blank", "graded", 0, "0 of 4 tests passed", "test_mse")
def _(path, ctx):
    path.write_bytes(STUDENT.read_bytes())


@case("off_by_one", "graded", 8, "3 of 4 tests passed", "test_mse", "should be")
def _(path, ctx):
    return student_answer({**RIGHT, "mse": """
        def mse(y_true, y_pred):
            d = np.asarray(y_pred) - np.asarray(y_true)
            return float(np.sum(d ** 2) / (len(d) - 1)) if len(d) > 1 else float(d[0] ** 2)
        """}, path)


@case("infinite_loop", "timeout", 0, "time limit", "mse")
def _(path, ctx):
    return student_answer({**RIGHT, "mse": "while True:\n    pass"}, path)


@case("memory_bomb", "memory", 5, "out of memory", "mse")
def _(path, ctx):
    return student_answer({**RIGHT, "mse": "hog = bytearray(64 * 1024 ** 3)"}, path)


@case("fork_bomb", "error", 0, "processes", "fork bomb")
def _(path, ctx):
    return student_answer({**RIGHT, "mse": "import os\nwhile True:\n    os.fork()"}, path)


@case("network", "graded", 5, "test_mse")
def _(path, ctx):
    return with_cells(leak_or_fail("""
        import socket, urllib.request
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=3).close()
            leaked = "tcp"
        except OSError as exc:
            print("tcp:", exc)
        leaked = leaked or urllib.request.urlopen("http://example.com", timeout=3).read()
        """), path)


@case("read_gradebook", "graded", 5, "test_mse")
def _(path, ctx):
    return with_cells(leak_or_fail(f"leaked = open({str(ctx['gradebook'])!r}, 'rb').read(100)"),
                      path)


@case("read_sources", "graded", 5, "test_mse")
def _(path, ctx):
    return with_cells(leak_or_fail(f"""
        import glob
        for name in [{str(SOURCE)!r}, {str(REPO / 'grading' / 'batch.py')!r}]:
            try:
                leaked = leaked or open(name).read(100)
            except OSError as exc:
                print(name, exc)
        leaked = leaked or glob.glob({str(REPO)!r} + "/course*/**/*.ipynb", recursive=True)
        leaked = leaked or glob.glob("/root/*") or glob.glob("/home/*/*")
        """), path)


@case("read_others", "graded", 5, "test_mse")
def _(path, ctx):
    return with_cells(leak_or_fail(
        f"leaked = open({str(ctx['subs'] / 'good' / NOTEBOOK)!r}).read(100)"), path)


@case("read_hidden_tests", "graded", 5, "test_mse")
def _(path, ctx):
    # The hidden tests live in the runner (the parent process): try its memory, fds, environ.
    return with_cells(leak_or_fail("""
        import os, re
        ppid = os.getppid()
        for name in ("environ", "cmdline", "fd/0"):
            try:
                data = open(f"/proc/{ppid}/{name}", "rb").read()
                if b"default_rng(11)" in data:
                    leaked = data
            except OSError as exc:
                print(name, exc)
        with open(f"/proc/{ppid}/maps") as maps, open(f"/proc/{ppid}/mem", "rb", 0) as mem:
            for line in maps:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if "r" not in line.split()[1] or hi - lo > 1 << 28:
                    continue
                try:
                    mem.seek(lo)
                    if b"default_rng(11)" in mem.read(hi - lo):
                        leaked = "found in runner memory"
                except OSError:
                    pass
        """), path)


@case("write_outside", "graded", 5, "test_mse")
def _(path, ctx):
    targets = [ctx["subs"] / "good" / "pwned.txt", ctx["out"] / "pwned.txt",
               REPO / "pwned.txt", Path.home() / "pwned.txt"]
    return with_cells(leak_or_fail(f"""
        for name in {[str(t) for t in targets]!r}:
            try:
                open(name, "w").write("pwned")
                leaked = name
            except OSError as exc:
                print(name, exc)
        open("/tmp/scratch-is-writable.txt", "w").write("fine")
        """), path)


@case("patch_helpers", "graded", 0, "0 of 4 tests passed")
def _(path, ctx):
    # Everything a test leans on, patched in the setup cell; every answer is wrong.
    return with_cells({"mse": WRONG_MSE, "gradient": "def gradient(w, b, x, y):\n    return 0, 0",
                       "step": "def step(*a):\n    return 0, 0",
                       "fit": "def fit(*a, **k):\n    return 0, 0, []"}, path, setup="""
        import builtins, numpy as np
        class Never(Exception):
            pass
        builtins.AssertionError = Never
        np.isclose = lambda *a, **k: True
        np.allclose = lambda *a, **k: True
        ip = get_ipython()
        ip.showtraceback = lambda *a, **k: None
        ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
        """)


@case("always_equal", "graded", 0, "0 of 4 tests passed")
def _(path, ctx):
    return with_cells({
        "mse": """
            class Anything(float):
                def __eq__(self, other): return True
                def __ne__(self, other): return False
                def __lt__(self, other): return True
                def __gt__(self, other): return True
                def __le__(self, other): return True
                def __ge__(self, other): return True
                def __sub__(self, other): return self
                def __rsub__(self, other): return self
                def __abs__(self): return self
                def __len__(self): return 11
                def __getitem__(self, i): return self
                def __iter__(self): return iter([self, self, self])
                def __float__(self): return 0.0
            def mse(y_true, y_pred):
                return Anything(0.0)
            """,
        "gradient": "def gradient(w, b, x, y):\n    return Anything(0), Anything(0)",
        "step": "def step(w, b, x, y, lr):\n    return Anything(0)",
        "fit": "def fit(x, y, learning_rate, steps):\n    return Anything(0)"}, path)


@case("os_exit", "error", 2, "exited early", "gradient")
def _(path, ctx):
    return student_answer({**RIGHT, "gradient": "import os\nos._exit(0)"}, path)


@case("sys_exit", "graded", 0, "0 of 4 tests passed")
def _(path, ctx):
    return with_cells({}, path, setup="import sys\nsys.exit(0)")


@case("fake_output", "graded", 0, "0 of 4 tests passed")
def _(path, ctx):
    return with_cells({}, path, setup="""
        for part in range(1, 5):
            print(f"Part {part} looks right.")
        print("[AutogradeApp] all tests passed; score 10/10")
        """)


@case("edit_tests", "graded", 0, "0 of 4 tests passed")
def _(path, ctx):
    return with_cells({"mse": WRONG_MSE}, path, edit=tamper_tests)


@case("malformed_json", "invalid", 0, "malformed JSON")
def _(path, ctx):
    path.write_text('{"cells": [', encoding="utf-8")


@case("wrong_assignment", "invalid", 0, "not a notebook of this assignment")
def _(path, ctx):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def other():\n    return 1", metadata={"nbgrader": {
            "grade": False, "grade_id": "other", "locked": False, "schema_version": 3,
            "solution": True, "task": False}})])
    nbformat.write(nb, str(path))


@case("no_cells", "invalid", 0, "no cells")
def _(path, ctx):
    nbformat.write(nbformat.v4.new_notebook(), str(path))


@case("huge_output", "graded", 10, "all 4 tests passed")
def _(path, ctx):
    return student_answer({**RIGHT, "mse": RIGHT["mse"] + "\nprint('x' * 30_000_000)\n"
                                                          "for _ in range(100_000):\n"
                                                          "    print('spam ' * 20)"}, path)


@case("kernel_crash", "error", 2, "crashed", "SIGSEGV")
def _(path, ctx):
    return student_answer({**RIGHT, "gradient": "import ctypes\nctypes.string_at(0)"}, path)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    ctx = {"subs": root / "submitted", "out": root / "out", "gradebook": root / "out/gradebook.db"}
    for student, (builder, *_rest) in CORPUS.items():
        folder = ctx["subs"] / student
        folder.mkdir(parents=True)
        builder(folder / NOTEBOOK, ctx)
    result = run_tinyml("grade", ASSIGNMENT, str(ctx["subs"]), "--out", str(ctx["out"]),
                        "--workers", "2", "--timeout", "20", "--memory", "512")
    rows = {}
    if (ctx["out"] / "grades.csv").exists():
        with open(ctx["out"] / "grades.csv", newline="") as handle:
            rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    return ctx, result, rows


def test_the_corpus_has_at_least_15_hostile_kinds():
    assert len(CORPUS) - 3 >= 15


def test_the_batch_completes_and_exits_0(batch):
    _, result, rows = batch
    assert result.returncode == 0, result.stderr
    assert f"{len(CORPUS)} submission(s)" in result.stdout
    assert set(rows) == set(CORPUS)


@pytest.mark.parametrize("student", list(CORPUS))
def test_each_submission_gets_its_status_score_and_reason(batch, student):
    ctx, _, rows = batch
    _, status, score, words = CORPUS[student]
    row = rows[student]
    assert (row["status"], float(row["score"]), row["max_score"]) == (status, score, "10"), row
    assert "\n" not in row["reason"] and row["reason"]
    for word in words:
        assert word in row["reason"], row["reason"]
    feedback = ctx["out"] / "feedback" / f"{student}.html"
    assert feedback.exists() and feedback.stat().st_size < 200_000
    assert "LEAKED" not in feedback.read_text()


def test_attacks_failed_for_the_reason_the_sandbox_gives(batch):
    ctx, _, _ = batch
    text = lambda s: (ctx["out"] / "feedback" / f"{s}.html").read_text()
    assert "Network is unreachable" in text("network")
    assert "No such file or directory" in text("read_gradebook")
    assert "No such file or directory" in text("read_others")
    assert "Permission denied" in text("read_hidden_tests")
    assert "[... " in text("huge_output")  # output kept, but capped


def test_nothing_was_written_outside_the_scratch(batch):
    ctx, _, _ = batch
    for path in (ctx["subs"] / "good" / "pwned.txt", ctx["out"] / "pwned.txt",
                 REPO / "pwned.txt", Path.home() / "pwned.txt",
                 Path("/tmp/scratch-is-writable.txt")):
        assert not path.exists(), path


def test_the_gradebook_holds_every_grade(batch):
    from grading.nbgrader_course import open_gradebook

    ctx, _, rows = batch
    with open_gradebook(f"sqlite:///{ctx['gradebook']}") as gb:
        scores = {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert scores == {s: float(rows[s]["score"]) for s in rows}
    assert json.dumps(sorted(scores)) == json.dumps(sorted(CORPUS))
