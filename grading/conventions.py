"""The notebook conventions, checked by ``tinyml lint`` and applied by ``tinyml lint --fix``.

Every course notebook:

1. starts with a Markdown cell: a ``# Title`` line, the "Open in Colab" badge
   pointing at the notebook's student edition in ``release/``, and a
   "What you will learn" paragraph;
2. has, as its first code cell, the setup cell generated from
   ``[tool.tinyml] colab_install`` (installs the package in Colab, does nothing
   elsewhere), tagged ``tinyml-setup``;
3. gives every image alt text (Markdown ``![alt](...)``, HTML ``alt=``, and
   figures through ``tinyml_lib.plots.show(fig, alt=...)``, not ``plt.show()``);
4. is committed with outputs stripped and metadata normalised;
5. if graded, carries valid nbgrader metadata: unique grade ids, points on
   graded cells, autograder tests locked, solution and hidden-test delimiters
   only where nbgrader expects them.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .project import Notebook, Project

SETUP_TAG = "tinyml-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
LEARN_HEADING = re.compile(r"^#{2,3}\s*What you will learn\s*$", re.IGNORECASE | re.MULTILINE)
BADGE_LINE = re.compile(r"^\[!\[[^\]]*\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\([^)]*\)[ \t]*$",
                        re.MULTILINE)

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
KEPT_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable")
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info", "nbgrader")

DELIMITERS = ("### BEGIN SOLUTION", "### END SOLUTION",
              "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")

MD_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)]*)\)")
HTML_IMG = re.compile(r"<img\b(?P<attrs>[^>]*)>", re.IGNORECASE)
HTML_ALT = re.compile(r"\balt\s*=\s*(\"[^\"]*\S[^\"]*\"|'[^']*\S[^']*')", re.IGNORECASE)
PLT_SHOW = re.compile(r"\bplt\.show\s*\(")


@dataclass(frozen=True)
class Violation:
    path: str
    cell: int | None   # 0-based cell index; None for the whole notebook
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f" cell {self.cell}" if self.cell is not None else "")
        return f"{where}: [{self.rule}] {self.message}"


# -- generated pieces ---------------------------------------------------------

def setup_source(project: Project) -> str:
    """The setup cell every notebook starts with."""
    return (
        "# Setup: in Google Colab, install the course library; elsewhere, do nothing.\n"
        "import subprocess, sys\n"
        "\n"
        "if \"google.colab\" in sys.modules:\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        f"                    {project.colab_install!r}], check=True)"
    )


def badge_line(nb: Notebook) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({nb.colab_url})"


def new_setup_cell(project: Project):
    cell = nbformat.v4.new_code_cell(setup_source(project))
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def _is_setup(cell) -> bool:
    return cell.cell_type == "code" and SETUP_TAG in cell.metadata.get("tags", [])


def _cell_id(index: int, cell) -> str:
    digest = hashlib.sha1(f"{index}:{cell.cell_type}:{cell.source}".encode()).hexdigest()
    return digest[:8]


# -- normalisation --------------------------------------------------------------

def normalize(nb_node, project: Project | None = None, notebook: Notebook | None = None):
    """A copy of ``nb_node`` with outputs stripped, metadata normalised and, when
    ``project``/``notebook`` are given, the badge and setup cell regenerated."""
    nb_node = copy.deepcopy(nb_node)
    nb_node.nbformat, nb_node.nbformat_minor = 4, 5
    meta = {k: v for k, v in nb_node.metadata.items() if k in KEPT_NOTEBOOK_METADATA}
    meta["kernelspec"] = dict(KERNELSPEC)
    meta["language_info"] = dict(LANGUAGE_INFO)
    nb_node.metadata = nbformat.from_dict(meta)

    seen_ids: set[str] = set()
    for index, cell in enumerate(nb_node.cells):
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA})
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        cell.source = cell.source.rstrip()
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
        if not cell.get("id") or cell.id in seen_ids:
            cell.id = _cell_id(index, cell)
        seen_ids.add(cell.id)

    if project is not None and notebook is not None:
        _apply_header(nb_node, project, notebook)
    return nb_node


def _apply_header(nb_node, project: Project, notebook: Notebook) -> None:
    cells = nb_node.cells
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "):
        head = cells[0]
        wanted = badge_line(notebook)
        if BADGE_LINE.search(head.source):
            head.source = BADGE_LINE.sub(lambda _: wanted, head.source, count=1)
        else:
            title, _, rest = head.source.partition("\n")
            head.source = f"{title}\n\n{wanted}\n\n{rest.lstrip()}".rstrip()
    setup = [i for i, c in enumerate(cells) if _is_setup(c)]
    if setup:
        cells[setup[0]].source = setup_source(project)
    else:
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
        cell = new_setup_cell(project)
        cell.id = _cell_id(first_code, cell)
        cells.insert(first_code, cell)


def dumps(nb_node) -> str:
    """The canonical text of a notebook (what gets committed)."""
    return nbformat.writes(nb_node) + "\n"


# -- lint -----------------------------------------------------------------------

def lint(notebook: Notebook, text: str | None = None) -> list[Violation]:
    """Every convention ``notebook`` breaks, each with its cell."""
    rel = notebook.rel.as_posix()
    out: list[Violation] = []

    def v(cell, rule, message):
        out.append(Violation(rel, cell, rule, message))

    if text is None:
        text = notebook.path.read_text(encoding="utf-8")
    try:
        nb_node = nbformat.reads(text, as_version=4)
        nbformat.validate(nb_node)
    except Exception as exc:  # nbformat raises several kinds
        v(None, "format", f"not a valid notebook ({str(exc).splitlines()[0]}); "
                          "open and re-save it in Jupyter")
        return out

    project = notebook.project
    cells = nb_node.cells
    if not cells:
        v(None, "title", "the notebook is empty")
        return out

    # 1. header
    head = cells[0]
    if head.cell_type != "markdown" or not head.source.startswith("# "):
        v(0, "title", "the first cell must be Markdown starting with '# <Title>'")
    else:
        match = BADGE_LINE.search(head.source)
        if not match:
            v(0, "badge", "no 'Open in Colab' badge under the title (tinyml lint --fix adds it)")
        elif match.group(0).strip() != badge_line(notebook):
            v(0, "badge", f"the Colab badge must point at {notebook.colab_url} "
                          "(tinyml lint --fix rewrites it)")
        learn = LEARN_HEADING.search(head.source)
        if not learn or not head.source[learn.end():].strip():
            v(0, "learn", "the first cell needs a '## What you will learn' heading followed by "
                          "one paragraph")

    # 2. setup cell
    code_cells = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code"]
    setup = [(i, c) for i, c in code_cells if _is_setup(c)]
    if not setup:
        v(None, "setup", f"no setup cell tagged '{SETUP_TAG}' (tinyml lint --fix inserts it)")
    else:
        index, cell = setup[0]
        if code_cells[0][0] != index:
            v(index, "setup", "the setup cell must be the first code cell")
        if cell.source.rstrip() != setup_source(project):
            v(index, "setup", "the setup cell differs from the generated one "
                              "(tinyml lint --fix regenerates it from pyproject.toml)")
        if len(setup) > 1:
            v(setup[1][0], "setup", "only one setup cell per notebook")

    # 3. alt text
    for i, cell in enumerate(cells):
        source = cell.source
        if cell.cell_type == "markdown":
            for m in MD_IMAGE.finditer(source):
                if not m.group("alt").strip():
                    v(i, "alt-text", f"image {m.group('src')!r} has no alt text: write ![what it "
                                     "shows](...)")
        if cell.cell_type in ("markdown", "code"):
            for m in HTML_IMG.finditer(source):
                if not HTML_ALT.search(m.group("attrs")):
                    v(i, "alt-text", "<img> without a non-empty alt attribute")
        if cell.cell_type == "code" and PLT_SHOW.search(source):
            v(i, "alt-text", "plt.show() draws a figure without alt text: use "
                             "tinyml_lib.plots.show(fig, alt='what it shows')")

    # 4. stripped and normalised
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            v(i, "outputs", "outputs are committed: strip them (tinyml lint --fix)")
    if not out or all(x.rule != "outputs" for x in out):
        if dumps(normalize(nb_node)) != text:
            v(None, "normalized", "metadata or formatting is not normalised (tinyml lint --fix)")

    # 5. nbgrader
    out.extend(_lint_nbgrader(notebook, nb_node, rel))
    return out


def _lint_nbgrader(notebook: Notebook, nb_node, rel: str) -> list[Violation]:
    out: list[Violation] = []

    def v(cell, message):
        out.append(Violation(rel, cell, "nbgrader", message))

    grade_ids: dict[str, int] = {}
    graded = 0
    for i, cell in enumerate(nb_node.cells):
        meta = cell.metadata.get("nbgrader")
        source = cell.source
        present = [d for d in DELIMITERS if d in source]
        if not meta:
            if present:
                v(i, f"{present[0]!r} in a cell without nbgrader metadata: mark the cell as a "
                     "solution or test cell")
            continue
        if not notebook.is_assignment:
            v(i, "lessons are not graded: remove the nbgrader metadata or move the notebook "
                 "to <course>/assignments/<id>/")
            continue
        grade_id = meta.get("grade_id")
        if not grade_id:
            v(i, "nbgrader cell without a grade_id")
        elif grade_id in grade_ids:
            v(i, f"grade_id {grade_id!r} is also used by cell {grade_ids[grade_id]}")
        else:
            grade_ids[grade_id] = i
        if meta.get("schema_version") != 3:
            v(i, "nbgrader schema_version must be 3")
        if meta.get("grade"):
            graded += 1
            points = meta.get("points")
            if not isinstance(points, (int, float)) or points <= 0:
                v(i, f"graded cell {grade_id!r} needs points > 0")
            if cell.cell_type == "code" and not meta.get("solution") and not meta.get("locked"):
                v(i, f"autograder test cell {grade_id!r} must be locked (read-only)")
        if meta.get("solution") and cell.cell_type == "code":
            if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
                v(i, f"solution cell {grade_id!r} needs ### BEGIN SOLUTION / ### END SOLUTION")
        for begin, end in (DELIMITERS[:2], DELIMITERS[2:]):
            if source.count(begin) != source.count(end):
                v(i, f"unbalanced {begin!r} / {end!r}")
        if ("### BEGIN HIDDEN TESTS" in source
                and not (meta.get("grade") and not meta.get("solution"))):
            v(i, "hidden tests belong in autograder test cells (graded, not a solution)")
    if notebook.is_assignment:
        if graded == 0:
            v(None, "an assignment needs at least one graded cell")
        try:
            from nbgrader.nbgraderformat import MetadataValidator

            MetadataValidator().validate_nb(nb_node)
        except ImportError:  # pragma: no cover - nbgrader is a grading dependency
            pass
        except Exception as exc:
            v(None, f"nbgrader rejects the metadata: {str(exc).splitlines()[0]}")
    return out


def fix(notebook: Notebook) -> bool:
    """Rewrite ``notebook`` in normalised form with generated header; True when it changed."""
    text = notebook.path.read_text(encoding="utf-8")
    nb_node = nbformat.reads(text, as_version=4)
    fixed = dumps(normalize(nb_node, notebook.project, notebook))
    if fixed == text:
        return False
    tmp = notebook.path.with_suffix(".ipynb.tmp")
    tmp.write_text(fixed, encoding="utf-8")
    tmp.replace(notebook.path)
    return True


def images_without_alt(outputs) -> list[str]:
    """Problems with the images among a cell's executed ``outputs`` (no alt text)."""
    problems = []
    for output in outputs:
        data = output.get("data", {})
        for mime in ("image/png", "image/jpeg", "image/svg+xml"):
            if mime in data:
                problems.append(f"the cell outputs an {mime} image without alt text: "
                                "show figures with tinyml_lib.plots.show(fig, alt=...)")
        html = data.get("text/html", "")
        if isinstance(html, list):
            html = "".join(html)
        if any(not HTML_ALT.search(m.group("attrs")) for m in HTML_IMG.finditer(html)):
            problems.append("an output <img> has no alt text")
    return problems


def output_alt_violations(rel: str, nb_node) -> list[Violation]:
    """Images in *executed* outputs that carry no alt text."""
    return [Violation(rel, i, "alt-text", problem)
            for i, cell in enumerate(nb_node.cells)
            for problem in images_without_alt(cell.get("outputs", []))]


def read(path: Path):
    return nbformat.read(str(path), as_version=4)
