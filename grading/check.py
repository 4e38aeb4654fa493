"""``tinyml check``: the launch check course staff run before every launch.

1. lint every notebook against the conventions;
2. check that ``release/`` is in sync with the sources;
3. execute every notebook of every course in fast + offline mode;
4. autograde every assignment twice with nbgrader: its solution must score
   full marks and its blank student edition must score zero.

The result is one table (notebook, status, seconds, score).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import build as build_mod
from . import conventions
from .errors import TinymlError
from .execute import MODE_ENV, run_notebook
from .nbgrader_course import Course, patched_environ
from .project import Notebook, Project


@dataclass
class Row:
    name: str
    status: str          # "ok" or "FAIL"
    seconds: float | None = None
    score: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, disable=None)


def run_check(project: Project, notebooks: list[Notebook] | None = None,
              grade: bool = True, log=print) -> list[Row]:
    """Run the launch check; returns one row per check, notebook or graded submission."""
    notebooks = list(project.notebooks) if notebooks is None else notebooks
    if not notebooks:
        raise TinymlError("no notebooks found under " + ", ".join(project.courses))
    rows: list[Row] = []
    assignments = sorted({nb.group for nb in notebooks if nb.is_assignment})
    steps = 2 + len(notebooks) + (2 * len(assignments) if grade else 0)
    with patched_environ(set_=MODE_ENV), _progress(steps, "launch check") as bar:
        # 1. lint
        start = time.monotonic()
        violations = [v for nb in notebooks for v in conventions.lint(nb)]
        rows.append(Row("lint", "FAIL" if violations else "ok", time.monotonic() - start,
                        error=str(violations[0]) if violations else ""))
        bar.update()

        # 2. release/ in sync
        start = time.monotonic()
        try:
            diffs = build_mod.build(project, check=True)
            error = f"{diffs[0]} (run `tinyml build`)" if diffs else ""
        except TinymlError as exc:
            diffs, error = ["error"], str(exc)
        rows.append(Row("build --check", "FAIL" if diffs else "ok", time.monotonic() - start,
                        error=error))
        bar.update()

        # 3. every notebook, fast + offline
        for nb in notebooks:
            bar.set_postfix_str(nb.name, refresh=True)
            result = run_notebook(nb.path, nb.rel.as_posix())
            where = f" (cell {result.cell})" if result.cell is not None else ""
            rows.append(Row(nb.rel.as_posix(), "ok" if result.ok else "FAIL", result.seconds,
                            error=(result.error + where) if not result.ok else ""))
            bar.update()

        # 4. solution = full marks, blank = 0
        if grade:
            for assignment in assignments:
                rows.extend(grade_assignment(project, assignment, bar))
    return rows


def grade_assignment(project: Project, assignment: str, bar=None) -> list[Row]:
    sources = project.assignments()[assignment]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyml-grade-") as tmp:
        course = Course(Path(tmp))
        course.add_source(assignment, [nb.path for nb in sources] + build_mod._companions(sources))
        release = course.generate(assignment)
        for student, files, expect in (
            ("solution", [nb.path for nb in sources], "full"),
            ("blank", sorted(release.glob("*.ipynb")), "zero"),
        ):
            start = time.monotonic()
            course.submit(student, assignment, files)
            name = f"{assignment} ({student})"
            try:
                score = course.autograde(assignment, student)
            except TinymlError as exc:
                rows.append(Row(name, "FAIL", time.monotonic() - start, error=str(exc)))
            else:
                # Full marks means every autograded point; manually graded answers wait
                # for a person and are shown beside the score.
                auto_max = score.auto_max_score
                good = (score.score == auto_max > 0) if expect == "full" else score.score == 0
                shown = f"{score.score:g}/{auto_max:g}"
                if score.manual_points:
                    shown += f" +{score.manual_points:g} manual"
                error = ""
                if not good:
                    error = (f"expected {'full marks' if expect == 'full' else 'zero'}, got "
                             f"{shown}")
                    if expect == "full" and score.failed_tests:
                        error += f"; failing: {', '.join(score.failed_tests)}"
                rows.append(Row(name, "ok" if good else "FAIL", time.monotonic() - start,
                                shown, error))
            if bar is not None:
                bar.update()
    return rows


def format_table(rows: list[Row]) -> str:
    header = ("notebook", "status", "seconds", "score")
    body = [(r.name, r.status, "" if r.seconds is None else f"{r.seconds:.1f}", r.score or "-")
            for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(4)]
    fmt = lambda line: "  ".join(  # noqa: E731
        str(v).rjust(w) if i == 2 else str(v).ljust(w) for i, (v, w) in enumerate(zip(line, widths)))
    lines = [fmt(header), "  ".join("-" * w for w in widths), *map(fmt, body)]
    failed = [r for r in rows if not r.ok]
    total = sum(r.seconds or 0 for r in rows)
    lines.append("")
    lines.append(f"{len(rows) - len(failed)} passed, {len(failed)} failed "
                 f"in {total:.1f} s" if rows else "nothing checked")
    return "\n".join(lines)
