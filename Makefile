# Two commands do all set-up on a fresh machine: `make serve` (local stack) and `make test` (the suite).
SHELL := /bin/bash
# Lambda runs python3.13; use it locally when the machine has it (pyenv keeps one off PATH).
PYTHON ?= $(shell command -v python3.13 2>/dev/null || ls $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 2>/dev/null | head -n1 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PORT ?= 3000

.PHONY: venv serve test lint unit sam-build deploy-check openapi events bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml layers/common/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

serve: venv
	PORT=$(PORT) $(BIN)/arbiter serve

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

unit: venv
	$(BIN)/pytest -n 2

test: lint unit

openapi: venv
	$(BIN)/arbiter openapi > docs/openapi.json

# SAM CLI pins its own boto3/pydantic/click, so it lives in a venv of its own.
$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli
	touch $@

sam-build: $(SAM_VENV)/.installed
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM_VENV)/bin/sam validate --lint --region us-east-1
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM_VENV)/bin/sam build

# Proves the built artifacts are deployable: each handler imports with only its build folder + the layer.
deploy-check: sam-build venv
	$(BIN)/python scripts/check_built_handlers.py --python $(PYTHON)

bench: venv
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam
