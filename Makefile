# Two commands do all set-up on a fresh machine: `make serve` (local stack) and `make test` (the suite).
SHELL := /bin/bash
# Lambda runs python3.13; use it locally when the machine has it (pyenv keeps one off PATH).
# The first candidate that really runs wins: a pyenv shim on PATH exists but fails when 3.13 is not selected.
PYTHON ?= $(shell for p in "$$(command -v python3.13)" $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 2>/dev/null) "$$(command -v python3)"; do [ -n "$$p" ] && "$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
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

events: venv
	$(BIN)/python scripts/generate_events.py

# SAM CLI pins its own boto3/pydantic/click, so it lives in a venv of its own.
SAM_CLI_VERSION := 1.170.0
# sam build finds the Lambda runtime's python3.13 on PATH; no telemetry, no prompts (CI has no stdin).
SAM := PATH="$(dir $(PYTHON)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

# The real template (arm64): lint it and build it.
sam-build: $(SAM_VENV)/.installed
	$(SAM) validate --lint --region us-east-1
	$(SAM) build --cached --parallel

# Proves the built artifacts are deployable: each handler, built for this host's architecture, imports with only
# its build folder + the layer + the runtime's boto3 and answers its events/ sample (scripts/check_built_handlers.py).
deploy-check: sam-build venv
	$(BIN)/python scripts/check_built_handlers.py --python $(PYTHON) --sam $(SAM_VENV)/bin/sam

bench: venv
	$(BIN)/python -m benchmarks.run_all

# Offers learner vs random, fixed rankings, the oracle and Vowpal Wabbit (dev-only dependency); a few minutes.
.PHONY: bench-learning
bench-learning: venv
	$(BIN)/python -c 'import vowpalwabbit' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.offers_learning

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam
