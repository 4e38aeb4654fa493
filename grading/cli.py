"""The ``tinyml`` command line: one entry point for course staff and instructors.

Every command has ``--help``; a failure exits non-zero with a one-line reason.
"""

from __future__ import annotations

import argparse
import sys

from .errors import TinymlError

EPILOG = "Run `tinyml COMMAND --help` for a command's options."


def _project(args):
    from . import project

    return project.load(args.root)


def cmd_lint(args) -> int:
    from . import conventions

    proj = _project(args)
    notebooks = proj.select(args.paths)
    if args.fix:
        changed = [nb for nb in notebooks if conventions.fix(nb)]
        for nb in changed:
            print(f"fixed {nb.rel}")
    violations = [v for nb in notebooks for v in conventions.lint(nb)]
    for v in violations:
        print(v)
    if violations:
        raise TinymlError(f"{len(violations)} convention violation(s) in "
                          f"{len({v.path for v in violations})} notebook(s)")
    print(f"{len(notebooks)} notebook(s) follow the conventions")
    return 0


def cmd_build(args) -> int:
    from tqdm.auto import tqdm

    from . import build

    proj = _project(args)
    with tqdm(total=len(proj.notebooks), desc="generate student editions", unit="notebook",
              leave=False, disable=None) as bar:
        result = build.build(proj, check=args.check, progress=bar)
    if args.check:
        for line in result:
            print(line)
        if result:
            raise TinymlError(f"{proj.release_dir_name}/ is out of date with the sources "
                              f"({len(result)} file(s)): run `tinyml build`")
        print(f"{proj.release_dir_name}/ is up to date ({len(proj.notebooks)} notebook(s))")
    else:
        for line in result:
            print(f"wrote {line}")
        print(f"{proj.release_dir_name}/: {len(result)} file(s) changed")
    return 0


def cmd_check(args) -> int:
    from . import check

    proj = _project(args)
    notebooks = proj.select(args.paths)
    rows = check.run_check(proj, notebooks, grade=not args.no_grade)
    print(check.format_table(rows))
    failed = [r for r in rows if not r.ok]
    if failed:
        first = failed[0]
        raise TinymlError(f"launch check failed: {first.name}: {first.error}")
    return 0


def cmd_grade(args) -> int:
    from pathlib import Path

    from tqdm.auto import tqdm

    from . import batch
    from .sandbox import Limits

    proj = _project(args)
    limits = Limits(wall_seconds=args.timeout, memory_mb=args.memory)
    out = Path(args.out) if args.out else Path("grades") / args.assignment
    with tqdm(desc=f"grade {args.assignment}", unit="submission", leave=False,
              disable=None) as bar:
        summary = batch.grade_batch(proj, args.assignment, Path(args.submissions), out,
                                    db=args.db, workers=args.workers, scheduler=args.scheduler,
                                    limits=limits, progress=bar)
    print(summary.line())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinyml",
        description="TinyML Courseware: check, build and grade the course notebooks.",
        epilog=EPILOG)
    parser.add_argument("--root", help="repository root (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lint = sub.add_parser("lint", help="check notebooks against the course conventions",
                          description="Check notebooks against the course conventions (title, "
                                      "Colab badge, what-you-will-learn, setup cell, alt text, "
                                      "stripped outputs, nbgrader metadata).")
    lint.add_argument("paths", nargs="*", help="notebooks or folders (default: every course)")
    lint.add_argument("--fix", action="store_true",
                      help="strip outputs, normalise metadata, regenerate badge and setup cell")
    lint.set_defaults(func=cmd_lint)

    build = sub.add_parser("build", help="generate the student editions into release/",
                           description="Generate the student editions with nbgrader's "
                                       "generate_assignment into release/.")
    build.add_argument("--check", action="store_true",
                       help="do not write; fail when release/ is out of date")
    build.set_defaults(func=cmd_build)

    check = sub.add_parser("check", help="the launch check: lint, build --check, run every "
                                         "notebook, autograde every assignment",
                           description="The launch check: lint, build --check, execute every "
                                       "notebook (fast + offline) and autograde every "
                                       "assignment's solution (full marks) and blank student "
                                       "edition (zero). Prints one table.")
    check.add_argument("paths", nargs="*", help="notebooks or folders (default: every course)")
    check.add_argument("--no-grade", action="store_true", help="skip the autograding step")
    check.set_defaults(func=cmd_check)

    grade = sub.add_parser(
        "grade", help="autograde a batch of submissions, sandboxed and in parallel",
        description="Autograde every submission of ASSIGNMENT in SUBMISSIONS_DIR "
                    "(<student_id>/<notebook>.ipynb) in a bubblewrap sandbox (no network, "
                    "private scratch, CPU/memory/process limits). Grades go to the nbgrader "
                    "gradebook; OUT gets grades.csv and one feedback page per student. "
                    "Running the same command again resumes: unchanged submissions that are "
                    "already graded are skipped. Exits 0 when the batch completed, even if "
                    "some submissions failed.")
    grade.add_argument("assignment", metavar="ASSIGNMENT", help="assignment id, as in release/")
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                       help="one folder per student holding the submitted notebook")
    grade.add_argument("--db", metavar="URL",
                       help="gradebook: an SQLAlchemy URL (e.g. postgresql+psycopg://...) or a "
                            "SQLite file (default: OUT/gradebook.db)")
    grade.add_argument("--workers", metavar="N", type=int, default=1,
                       help="submissions graded at once on this machine (default: 1)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="send the work to the Dask scheduler at ADDRESS (tcp://host:port) "
                            "instead of local workers")
    grade.add_argument("--timeout", metavar="SECONDS", type=float, default=300.0,
                       help="wall-clock (and CPU) time per submission (default: 300)")
    grade.add_argument("--memory", metavar="MB", type=int, default=4096,
                       help="address space a submission may map beyond the Python interpreter "
                            "(default: 4096; TensorFlow reserves about 5 GB of address space on "
                            "import, so Keras assignments need at least 3072)")
    grade.add_argument("--out", metavar="DIR",
                       help="where grades.csv and feedback/ go (default: grades/ASSIGNMENT)")
    grade.set_defaults(func=cmd_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except TinymlError as exc:
        print(f"tinyml: error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        print(f"tinyml: error: {exc.name} is not installed: install the instructor tools with "
              "pip install 'tinyml-courseware[grading]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinyml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
