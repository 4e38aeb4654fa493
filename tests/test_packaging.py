"""pyproject.toml, environment.yml, constraints.txt, Makefile, README and CI agree."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from conftest import REPO


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_requirements():
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs.extend(extra)
    return {_norm(Requirement(r).name): str(Requirement(r).specifier) for r in reqs}


def _environment_requirements():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    found = {}
    entries = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            entries.extend(d for d in dep["pip"] if not d.startswith("-"))
        else:
            entries.append(dep)
    for entry in entries:
        name = re.split(r"[<>=!~ ]", entry, maxsplit=1)[0]
        if _norm(name) in ("python", "pip"):
            continue
        found[_norm(name)] = str(Requirement(entry.replace(" ", "")).specifier)
    return found


def test_environment_yml_has_the_same_dependencies_as_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_every_dependency_is_pinned_for_ci():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_norm(name)] = version
    for name, spec in _pyproject_requirements().items():
        assert name in pins, f"{name} is not pinned in constraints.txt (run make lock)"
        from packaging.specifiers import SpecifierSet

        assert SpecifierSet(spec).contains(pins[name], prereleases=True), (name, spec, pins[name])


def test_console_script_and_package_names():
    project = _pyproject()["project"]
    assert project["scripts"]["tinyml"] == "grading.cli:main"
    assert {"ml", "grading", "dev", "lab"} <= set(project["optional-dependencies"])


def test_readme_starts_with_the_two_commands():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"make (run|test|lab)", readme)
    assert commands[:2] == ["run", "test"]
    assert "Colab" in readme and "runtime" in readme


def test_ci_calls_make_test():
    assert "make test" in (REPO / ".ci/run").read_text()
