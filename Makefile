# make synth / make test work on a fresh clone: they create .venv and node_modules when missing.
# No target needs AWS credentials except diff (and deploy), which talk to CloudFormation.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
STAGE ?= dev

# The CDK CLI runs "python3 app.py" (cdk.json): put the venv first so that is the venv's Python.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
CDK_FLAGS := --no-notices

.PHONY: synth test lint bench pin-stateful-ids diff deploy deploy-pipeline deps clean

synth: deps
	rm -rf cdk.out
	$(CDK) synth --quiet $(CDK_FLAGS)
	@echo "Synthesized into cdk.out/: $$(ls -d cdk.out/assembly-* | xargs -n1 basename | tr '\n' ' ')"

test: deps
	$(PY) -m pytest

# Wall time and peak memory of synth, of a one-bucket floor app and of the tests, against their targets.
bench: deps
	$(PY) bench/run.py

# On purpose only: accept that stateful logical IDs changed (tests/pinned/, see the README).
pin-stateful-ids: deps
	$(PY) -m pytest tests/compliance/test_stateful_ids.py --update-stateful-ids

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# These need AWS credentials for the stage's (or the tooling) account; synth and test never do.
diff: deps
	$(CDK) diff $(CDK_FLAGS) -c stages=$(STAGE) '$(STAGE)/*'

deploy: deps
	$(CDK) deploy $(CDK_FLAGS) -c stages=$(STAGE) '$(STAGE)/*'

# Once, in the tooling account; afterwards the pipeline updates itself from the repository.
deploy-pipeline: deps
	$(CDK) deploy $(CDK_FLAGS) pipeline

deps: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
