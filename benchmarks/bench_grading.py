"""Grading at scale: `tinyml grade --workers 2` (sandboxed) against plain `nbgrader autograde`.

Generates N submissions of course1's c1_a1_gradient_descent (a mix of right,
partly wrong and blank answers), grades them with nbgrader's own autograde
converter one at a time, then with `tinyml grade` (2 local workers, sandbox
on), checks both give every student the same score, and prints both times,
the ratio, the per-submission overhead beyond executing the notebook and peak
memory.

    .venv/bin/python benchmarks/bench_grading.py [--n 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TINYML_FAST", "1")
os.environ.setdefault("TINYML_OFFLINE", "1")

ASSIGNMENT = "c1_a1_gradient_descent"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = REPO / "course1/assignments" / ASSIGNMENT / NOTEBOOK
RELEASE = REPO / "release/course1/assignments" / ASSIGNMENT / NOTEBOOK

RIGHT = {
    "mse": "def mse(y_true, y_pred):\n    return float(np.mean((np.asarray(y_pred) - "
           "np.asarray(y_true)) ** 2))",
    "gradient": "def gradient(w, b, x, y):\n    e = w * x + b - y\n"
                "    return 2 * np.mean(e * x), 2 * np.mean(e)",
    "step": "def step(w, b, x, y, learning_rate):\n    dw, db = gradient(w, b, x, y)\n"
            "    return w - learning_rate * dw, b - learning_rate * db",
    "fit": textwrap.dedent("""\
        def fit(x, y, learning_rate, steps):
            w = b = 0.0
            losses = [mse(y, w * x + b)]
            for _ in range(steps):
                w, b = step(w, b, x, y, learning_rate)
                losses.append(mse(y, w * x + b))
            return w, b, losses"""),
}
WRONG_MSE = ("def mse(y_true, y_pred):\n    d = np.asarray(y_pred) - np.asarray(y_true)\n"
             "    return float(np.sum(d ** 2) / max(len(d) - 1, 1))")


def make(path: Path, kind: int) -> None:
    nb = nbformat.read(str(RELEASE), as_version=4)
    answers = {0: RIGHT, 1: {**RIGHT, "mse": WRONG_MSE}, 2: {}, 3: {"mse": RIGHT["mse"],
                                                                   "gradient": RIGHT["gradient"]}}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers[kind]:
            cell.source = answers[kind][gid]
    nbformat.write(nb, str(path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from grading import project
    from grading.batch import grade_batch
    from grading.nbgrader_course import Course
    from grading.sandbox import Limits, warm_up

    root = Path(tempfile.mkdtemp(prefix="tinyml-bench-grading-"))
    try:
        subs = root / "submitted"
        for i in range(args.n):
            (subs / f"s{i:03d}").mkdir(parents=True)
            make(subs / f"s{i:03d}" / NOTEBOOK, i % 4)
        print(f"{args.n} submissions of {ASSIGNMENT} (right / wrong mse / blank / half), "
              f"{os.cpu_count()} CPU cores")

        # 1. plain nbgrader autograde, one at a time, in this process.
        course = Course(root / "nbgrader")
        start = time.monotonic()
        course.add_source(ASSIGNMENT, [SOURCE])
        course.generate(ASSIGNMENT)
        plain = {}
        for i in range(args.n):
            student = f"s{i:03d}"
            course.submit(student, ASSIGNMENT, [subs / student / NOTEBOOK])
            plain[student] = course.autograde(ASSIGNMENT, student).score
        plain_seconds = time.monotonic() - start
        plain_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"plain nbgrader autograde:  {plain_seconds:7.1f} s  "
              f"({plain_seconds / args.n:.2f} s per submission; largest kernel "
              f"{plain_peak:.0f} MB)")

        # 2. tinyml grade, sandbox on.
        warm_up([])                      # machine set-up, once: bytecode and font caches
        start = time.monotonic()
        summary = grade_batch(project.load(REPO), ASSIGNMENT, subs, root / "out",
                              workers=args.workers, limits=Limits(wall_seconds=120))
        ours_seconds = time.monotonic() - start
        verdicts = summary.verdicts
        ours = {v.student: v.score for v in verdicts}
        mismatched = sorted(s for s in plain if plain[s] != ours.get(s))
        wall = [v.wall_seconds for v in verdicts]
        run = [v.wall_seconds - v.execute_seconds for v in verdicts]
        spawn = [v.wall_seconds - v.execute_seconds - v.startup_seconds for v in verdicts]
        print(f"tinyml grade --workers {args.workers}: {ours_seconds:7.1f} s  "
              f"({ours_seconds / args.n:.2f} s per submission; statuses "
              f"{dict(summary.counts)})")
        print(f"ratio (plain / tinyml):    {plain_seconds / ours_seconds:7.2f}x")
        print(f"per submission in the sandbox: {statistics.mean(wall):.2f} s wall, of which "
              f"executing the cells and tests {statistics.mean(v.execute_seconds for v in verdicts):.2f} s")
        print(f"overhead beyond executing the notebook: {statistics.mean(run):.2f} s mean, "
              f"{max(run):.2f} s max (sandbox start, interpreter, library imports); "
              f"without the library imports a kernel also pays: {statistics.mean(spawn):.2f} s")
        print(f"peak memory: coordinator {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
              f" MB (includes the nbgrader baseline run), one sandbox (runner + notebook) "
              f"{max(v.peak_mb for v in verdicts):.0f} MB max")
        print("scores agree with nbgrader for every student" if not mismatched else
              f"SCORES DIFFER for {len(mismatched)}: {mismatched[:5]}")
        return 0 if not mismatched else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
