# TinyML Courseware: `make run` (launch check on embedded defaults), `make test`, `make lab`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.9.5
STAMP := $(VENV)/.installed-stamp
EXTRAS ?= ml,grading,lab,dev

# Fast + offline: small data, no network (what CI and the launch check use).
CHECK_ENV := TINYML_FAST=1 TINYML_OFFLINE=1 MPLBACKEND=Agg

.PHONY: run test lab install lock clean

run: $(STAMP)
	$(CHECK_ENV) $(VENV)/bin/tinyml check

test: $(STAMP)
	$(CHECK_ENV) $(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

install: $(STAMP)

# --compile-bytecode: machines that set PYTHONDONTWRITEBYTECODE would otherwise recompile
# TensorFlow's Python in every kernel (keras import 11 s -> 6 s here).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --constraint constraints.txt -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# Re-pin what CI tests (run after changing dependencies in pyproject.toml).
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --extra grading --extra lab --extra dev \
		--extra ml --no-header --output-file constraints.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache
