# dlweek — every entry point a learner or CI needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch: the CPU build where one is available locally; override e.g. TORCH="torch==2.13.0"
TORCH ?= torch==2.13.0
PROFILE ?= full
PYTEST_ARGS ?=

.PHONY: help venv test unit nbval course lab lint format bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed-dev  ## create/update .venv with dlweek and what the tests need

test: venv  ## run the whole test suite: unit tests + every notebook (nbval, quick profile)
	DLWEEK_PROFILE=$${DLWEEK_PROFILE:-quick} $(BIN)/python -m pytest --nbval-lax tests notebooks $(PYTEST_ARGS)

unit: venv  ## unit tests only
	DLWEEK_PROFILE=$${DLWEEK_PROFILE:-quick} $(BIN)/python -m pytest tests $(PYTEST_ARGS)

nbval: venv  ## notebooks only (nbval, quick profile)
	DLWEEK_PROFILE=$${DLWEEK_PROFILE:-quick} $(BIN)/python -m pytest --nbval-lax notebooks $(PYTEST_ARGS)

course: venv  ## run the seven notebooks (PROFILE=full by default, PROFILE=quick for a tour) into build/course/
	$(BIN)/dlweek course --profile $(PROFILE) --out build/course

lab: venv  ## open JupyterLab on notebooks/
	$(BIN)/python -m pip install -q -e ".[dev,lab]"
	$(BIN)/jupyter lab notebooks/

lint: venv  ## ruff
	$(BIN)/ruff check src tests

format: venv  ## ruff format
	$(BIN)/ruff format src tests

bench: venv  ## benchmarks (ONLY=training|serving|course|backends; REPS=serving reps, TRAIN_REPS=training pairs)
	$(BIN)/python -m bench $(if $(ONLY),--only $(ONLY),) $(if $(REPS),--reps $(REPS),) $(if $(TRAIN_REPS),--train-reps $(TRAIN_REPS),)

clean:  ## remove build outputs (keeps .venv)
	rm -rf build dist .pytest_cache runs
