# Two commands set up everything on a fresh machine: `make run` and `make test`.
# PYTHON: the interpreter the venv is made with (default: the first of python3, python3.12,
# python3.11 that is 3.11 or 3.12; see tools/pick-python).
PYTHON ?=
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: run test smoke bench clean

# Pick the interpreter before anything runs, and stop at once with one line when there is
# no supported one (never minutes of compiling NumPy for an unsupported Python).
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifeq ($(wildcard $(BIN)/python),)
VENV_PYTHON := $(shell sh tools/pick-python $(PYTHON))
ifneq ($(.SHELLSTATUS),0)
$(error $(VENV_PYTHON))
endif
endif
endif

$(BIN)/python:
	$(VENV_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the project metadata changed (the stamp is older than pyproject.toml).
# `local` is the extra for local training (MXNet); the base install works without it.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local,test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/hpo-tui $(ARGS)

# The suite runs on TEST_WORKERS pytest-xdist workers (each test still has its own HPO_TUI_HOME,
# temp dirs, ports and tmux socket). 3 on a 2-core machine: the workers spend much of their time
# waiting on subprocesses (MXNet jobs, runners, tmux, Chromium). TEST_WORKERS=0 runs it in one process.
# loadgroup: a module marked xdist_group (an expensive module fixture) stays on one worker.
TEST_WORKERS ?= 3

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

# The install smoke tests CI runs after the suite: the other supported Python, a base
# install without the local extra, wheels for macOS arm64 and Windows (tests/install/).
smoke: $(VENV)/.installed-test
	HPO_TUI_INSTALL_SMOKE=1 $(BIN)/python -m pytest tests/install $(ARGS)

# Every bench script; not the apps and the timer that tui_bench.py --startup starts itself.
BENCH_HELPERS := bench/minimal_textual_app.py bench/plain_form_app.py bench/startup_phases.py
bench: $(VENV)/.installed-test
	for b in $(filter-out $(BENCH_HELPERS),$(wildcard bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
