"""The `tinyml` command line: help everywhere, one-line reasons, non-zero exits."""

import pytest

from conftest import code, header, run_tinyml
from grading import cli


@pytest.mark.parametrize("argv", [["--help"], ["lint", "--help"], ["build", "--help"],
                                  ["check", "--help"]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    assert "usage: tinyml" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_outside_a_checkout(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TINYML_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lint"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tinyml: error: not inside a TinyML Courseware checkout")
    assert len(err.splitlines()) == 1


def test_lint_names_file_and_cell_and_fails(mini, capsys):
    mini.add("course1/lessons/01_demo.ipynb", [header(), code("plt.show()")])
    assert cli.main(["--root", str(mini.root), "lint"]) == 1
    captured = capsys.readouterr()
    assert "course1/lessons/01_demo.ipynb cell 2: [alt-text]" in captured.out
    assert captured.err.strip() == ("tinyml: error: 1 convention violation(s) in 1 notebook(s)")


def test_lint_fix_repairs(mini, capsys):
    mini.add("course1/lessons/01_demo.ipynb", [header(), code("x = 1")], fix=False)
    assert cli.main(["--root", str(mini.root), "lint"]) == 1
    assert cli.main(["--root", str(mini.root), "lint", "--fix"]) == 0
    assert "fixed course1/lessons/01_demo.ipynb" in capsys.readouterr().out
    assert cli.main(["--root", str(mini.root), "lint"]) == 0


def test_lint_of_a_path_that_is_not_a_notebook(mini, capsys):
    assert cli.main(["--root", str(mini.root), "lint", str(mini.root / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_console_script_is_installed():
    result = run_tinyml("--help")
    assert result.returncode == 0, result.stderr
    assert "lint" in result.stdout and "build" in result.stdout and "check" in result.stdout


def test_missing_grading_extra_is_explained(monkeypatch, capsys):
    def needs_nbgrader(args):
        raise ModuleNotFoundError("No module named 'nbgrader'", name="nbgrader")

    monkeypatch.setattr(cli, "cmd_lint", needs_nbgrader)
    assert cli.main(["lint"]) == 1
    err = capsys.readouterr().err
    assert "nbgrader is not installed" in err
    assert "pip install 'tinyml-courseware[grading]'" in err
