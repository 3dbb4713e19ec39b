# lcopia: two commands for people (make assess, make test); the rest is plumbing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
APT_PACKAGES := chromium fonts-dejavu-core poppler-utils

# Notebook tooling pitfalls (see README "How it runs"): use the venv's kernel, never a
# user-level one; keep a developer's IPython/matplotlib settings out of results; an inherited
# MPLBACKEND=Agg would silently drop every figure.
export JUPYTER_PREFER_ENV_PATH := 1
export IPYTHONDIR := $(CURDIR)/build/ipython
export MPLCONFIGDIR := $(CURDIR)/build/matplotlib
export PYDEVD_DISABLE_FILE_VALIDATION := 1
unexport MPLBACKEND

.PHONY: help assess test drills fuzz lab lab-env setup lint deps venv bench clean

# The project folder `make assess` assesses (a library's own: make assess DATA=../mylibrary).
DATA ?= data
LAB_VENV := .venv-lab
LAB_STAMP := $(LAB_VENV)/.installed-stamp

help:
	@echo "make assess   run the whole assessment on $(DATA)/ and write reports/<date>/"
	@echo "make lab      open the notebooks in JupyterLab on the project kernel"
	@echo "make test     install what is needed, then run every check (pytest, nbval, ruff)"
	@echo "make drills   the failure drills make test leaves out (Ctrl-C, kill -9, time limits)"
	@echo "make fuzz     run the fuzzers and property tests with many more examples"
	@echo "make bench    run the benchmarks (slow; not part of the tests)"
	@echo "make capture URL=https://www.mylibrary.org/  record the library's pages into $(DATA)/evidence/web/"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# notebooks saved in JupyterLab keep their outputs out of git (a filter in .git/config)
	@if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then \
	  $(BIN)/nbstripout --install --extra-keys "metadata.papermill cell.metadata.papermill" \
	    >/dev/null 2>&1 || true; fi
	touch $(STAMP)

venv: $(STAMP)

# The default setup: the project environment and JupyterLab beside it.
setup: $(STAMP) $(LAB_STAMP)

# Chromium renders the PDF and runs the browser tests; poppler reads PDFs in tests.
deps:
	@if ! command -v chromium >/dev/null || ! command -v pdftotext >/dev/null; then \
	  echo "Installing $(APT_PACKAGES) from Debian packages..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $(APT_PACKAGES) >/dev/null; \
	fi

assess: setup deps
	$(BIN)/python -m lcopia assess --data $(DATA) --out reports

# JupyterLab, part of the default setup, in its own environment (.venv-lab): in the project's
# environment its server's jsonschema extras would slow every papermill, nbval and nbconvert
# start (benchmarks/bench_startup.py). Its kernel is the project's interpreter.
$(LAB_STAMP): requirements-lab.txt scripts/lab_kernel.py $(STAMP)
	$(PYTHON) -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LAB_VENV)/bin/python -m pip install --quiet -r requirements-lab.txt
	$(BIN)/python scripts/lab_kernel.py $(LAB_VENV) $(BIN)/python build
	touch $@

lab-env: $(LAB_STAMP)

lab: setup
	LCOPIA_DATA=$(abspath $(DATA)) $(LAB_VENV)/bin/jupyter lab notebooks

# The library's own website, recorded with Chromium for the web audit (README: "Capturing the
# website"). HEADED=1 shows the browser window, for sites that refuse headless browsers.
.PHONY: capture
URL ?=
capture: venv deps
	@if [ -z "$(URL)" ]; then echo "Give the site: make capture URL=https://www.mylibrary.org/"; exit 2; fi
	$(BIN)/python -m lcopia capture $(URL) --data $(DATA) $(if $(HEADED),--headed,)

lint: venv
	$(BIN)/ruff check lcopia tests scripts benchmarks
	$(BIN)/nbstripout --verify --extra-keys "metadata.papermill cell.metadata.papermill" notebooks/*.ipynb

# axe-core for the accessibility test, from the npm registry (a pinned lock file).
AXE := tests/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/axe/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "Installing nodejs and npm from Debian packages..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends nodejs npm >/dev/null; \
	fi
	npm ci --prefix tests/axe --no-audit --no-fund --silent

# In `make test` the JupyterLab check must run, not skip.
test drills: export LCOPIA_LAB_REQUIRED := 1
# Compiled Python is cached (in __pycache__ folders, which git ignores) even when the shell
# sets PYTHONDONTWRITEBYTECODE: every kernel and `python -m lcopia` the tests start would
# otherwise compile lcopia again, and each pytest worker its rewritten test modules (about
# 4 s of CPU per worker). No PYTHONPYCACHEPREFIX: it would also hide the bytecode pip
# compiled at install, and on a fresh machine every process would compile pandas, numpy and
# jupyter again (a cold import of the kernel's libraries: 7.0 s instead of 1.6 s).
test drills: export PYTHONDONTWRITEBYTECODE :=
# The failure drills (pytest marker `drill`: Ctrl-C and kill -9 part-way through a run, a cell
# past its time limit, a dead kernel, a second run, a troubled website) wait or kill on purpose
# (31-32 s on two workers); `make test` leaves them to `make drills`. CI (.ci/run) runs both.
test: setup deps lint $(AXE)
	$(BIN)/python -m pytest -n 2 --dist worksteal -p no:nbval -m "not drill" tests
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env -p no:cacheprovider notebooks
	scripts/check_package.sh

drills: setup deps
	$(BIN)/python -m pytest -n 2 --dist worksteal -p no:nbval -m drill tests

# The fuzzers and the property tests of `make test` (scoring, detectors, identifier-kind
# rules) with the "full" hypothesis profile (50x the examples; minutes).
fuzz: venv
	LCOPIA_FUZZ=full $(BIN)/python -m pytest -n 2 --dist worksteal tests/test_fuzz.py \
	  tests/test_scoring.py tests/test_detectors.py tests/test_kind_rules.py

bench: setup
	$(BIN)/python benchmarks/bench_assess.py
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_startup.py

clean:
	rm -rf build .pytest_cache .ruff_cache
