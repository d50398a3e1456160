# make synth / make test work on a fresh clone with only python3, npm and make: they install uv (pinned and
# hash-checked) into .tools/, .venv from the hash-locked requirements*.lock, and Node and the CDK CLI from
# package.json. No target needs AWS credentials except prices, bootstrap, diff, deploy, destroy and
# deploy-pipeline; each of those says so in one line and stops when they are missing.

PYTHON ?= python3
# The interpreter that installs uv (with its pip) and that .venv is made from: the base one even where a venv
# is first on PATH (as it is below, or activated), since a venv made by uv has no pip.
HOST_PYTHON = $(shell $(PYTHON) -c 'import sys; print(sys._base_executable)')
VENV := .venv
PY := $(VENV)/bin/python
UV := .tools/uv/bin/uv
# make synth STAGE=dev (or dev,prod) builds only those stages; diff and deploy act on one stage, dev by default.
STAGE ?=
PYTEST_ARGS ?=
# make lock LOCK_ARGS=--upgrade moves every unpinned (transitive) dependency to its newest release.
LOCK_ARGS ?=

# The pinned Node (package.json) first: it runs the CDK CLI and jsii, which aws-cdk-lib's Python bindings
# spawn as `node`. Then the venv: what the targets run by name (python3, cfn-lint) is the venv's.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
# Python caches the bytecode of what it imports, even where the environment says not to (this machine's does):
# compiling aws-cdk-lib's modules again costs about 6 s of every synth. uv does not compile at install (25 s).
unexport PYTHONDONTWRITEBYTECODE
# uv trusts the system's CA store, which holds the CA of a TLS-intercepting proxy where there is one.
export UV_SYSTEM_CERTS := 1
CDK_FLAGS := --no-notices
SELECT_STAGES = $(if $(STAGE),-c stages=$(STAGE))
ONE_STAGE = $(or $(STAGE),dev)

.PHONY: flink-connectors synth ls test scan snapshots lint bench pin-stateful-ids diff deploy deploy-pipeline runtime-deps deps lock clean \
	cost prices diagram recovery-docs failover-plan preflight bootstrap bootstrap-pipeline destroy

synth: runtime-deps $(if $(CODEBUILD_BUILD_ID),flink-connectors)
	rm -rf cdk.out
	cdk synth --quiet $(CDK_FLAGS) $(SELECT_STAGES)
	@echo "Synthesized into cdk.out/: $$(ls -d cdk.out/assembly-* | xargs -n1 basename | tr '\n' ' ')"

ls: runtime-deps
	cdk ls $(CDK_FLAGS) $(SELECT_STAGES)

# Extra pytest arguments in PYTEST_ARGS; STAGES=dev in the environment reaches the tests as it is.
test: deps
	$(PY) -m pytest $(PYTEST_ARGS)

# checkov over what synth wrote (every stage, or STAGE=...), from its own venv: its pins conflict with the
# test tools'. Zero failed checks; a skip is template metadata written by the construct's acknowledgment
# (constructs/common/acknowledgments.py), with its reason. --skip-download: offline, no platform look-ups.
CHECKOV_VENV := .tools/checkov
scan: synth $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -d cdk.out --framework cloudformation --skip-download --compact --quiet

# On purpose only: accept the templates as they are now (tests/snapshots/__snapshots__).
snapshots: deps
	$(PY) -m pytest tests/snapshots --snapshot-update

# Wall time and peak memory of synth, the tests and a fresh clone's make synth against their targets.
bench: deps
	$(PY) bench/run.py

# On purpose only: accept that stateful logical IDs changed (tests/pinned/, see the README).
pin-stateful-ids: deps
	$(PY) -m pytest tests/compliance/test_stateful_ids.py --update-stateful-ids

# The Kinesis SQL connector the Flink job's zip must carry (constructs/analytics/flink_aggregates.py), from Maven
# Central, checked against the digest published beside it. The pipeline's synth runs this first (CODEBUILD_BUILD_ID).
FLINK_CONNECTOR := flink-sql-connector-aws-kinesis-streams/5.0.0-1.20/flink-sql-connector-aws-kinesis-streams-5.0.0-1.20.jar
flink-connectors:
	mkdir -p flink_jobs/lib
	curl -fsSL -o flink_jobs/lib/$(notdir $(FLINK_CONNECTOR)) https://repo1.maven.org/maven2/org/apache/flink/$(FLINK_CONNECTOR)
	echo "$$(curl -fsSL https://repo1.maven.org/maven2/org/apache/flink/$(FLINK_CONNECTOR).sha1)  flink_jobs/lib/$(notdir $(FLINK_CONNECTOR))" | sha1sum -c -

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The deploy tooling (tools/, one module per command). Each reads cdk.out/, synthesizing first when it is
# missing, lacks the stage or is older than the sources. CONFIG_DIR=environments/examples prices the examples.
CONFIG_DIR ?= environments
TOOL_CONFIG = $(if $(filter-out environments,$(CONFIG_DIR)),--config-dir $(CONFIG_DIR))
REQUIRE_STAGE = $(if $(STAGE),,$(error $@ needs STAGE=<stage>, e.g. make $@ STAGE=dev))

# The monthly estimate per stack and component (DETAIL=1: every line item); no credentials.
cost: runtime-deps
	$(REQUIRE_STAGE)
	@$(PY) -m tools.cost --stage $(STAGE) $(TOOL_CONFIG) $(if $(DETAIL),--detail)

# docs/diagrams/<stage>.svg for every stage, from the templates (commit them; the tests fail when stale).
diagram: runtime-deps
	@$(PY) -m tools.diagram

# docs/recovery.md's tables (each stateful component's replication, RPO and promotion; the RTO and RPO sums
# against the stage's targets), from the stage files (commit them; the tests fail when stale).
recovery-docs: runtime-deps
	@$(PY) -m tools.recovery

# The ordered failover plan of STAGE from its synthesized assembly: the global database's clusters, the secret
# replicas, the EFS destination, what to scale per region, the Route 53 records; exit 1 when a piece is missing.
failover-plan: runtime-deps
	$(REQUIRE_STAGE)
	@$(PY) -m tools.failover_plan --stage $(STAGE) $(TOOL_CONFIG)

# Refresh docs/prices/<region>.json from the AWS Price List API: needs AWS credentials (any account).
prices: runtime-deps
	@$(PY) -m tools.prices

# These need AWS credentials for the stage's (or the tooling) account; synth and test never do.
# Everything that would make a deploy of STAGE fail or do nothing useful, one line each; exit 1 when any
# blocks. Checks in AWS run when the credentials in use are the stage's account's, and are listed as
# unchecked otherwise. diff and deploy run it first (there, credentials of the stage's account are required),
# then act on the very assembly it checked.
preflight: runtime-deps
	$(REQUIRE_STAGE)
	@$(PY) -m tools.preflight --stage $(STAGE) $(TOOL_CONFIG)

diff: runtime-deps
	@$(PY) -m tools.preflight --stage $(ONE_STAGE) --for diff
	cdk diff $(CDK_FLAGS) --app cdk.out '$(ONE_STAGE)/*'

deploy: runtime-deps
	@$(PY) -m tools.preflight --stage $(ONE_STAGE) --for deploy
	cdk deploy $(CDK_FLAGS) --app cdk.out '$(ONE_STAGE)/*'

# Bootstrap every account/region pair STAGE's assembly deploys to, trusting pipeline.yaml's tooling account;
# bootstrap-pipeline: the tooling account's own pairs. Both need credentials for the account bootstrapped.
bootstrap: runtime-deps
	$(REQUIRE_STAGE)
	@$(PY) -m tools.bootstrap --stage $(STAGE) $(TOOL_CONFIG)

bootstrap-pipeline: runtime-deps
	@$(PY) -m tools.bootstrap --pipeline

# Tear STAGE down in reverse deploy order after typing its name (or CONFIRM=<stage>), then list what survives
# by design. Refused unless the stage file sets allow_destroy: true; needs the stage's credentials.
destroy: runtime-deps
	$(REQUIRE_STAGE)
	@$(PY) -m tools.destroy --stage $(STAGE) $(TOOL_CONFIG) $(if $(CONFIRM),--confirm $(CONFIRM))

# Once, in the tooling account; afterwards the pipeline updates itself from the repository.
deploy-pipeline: runtime-deps
	cdk deploy $(CDK_FLAGS) pipeline

# Regenerate the locks from requirements*.txt; a new dependency is one ==pin line there, then make lock. For
# Python 3.11 on (pyproject.toml) on any platform; the dev lock is resolved within the runtime lock, so both
# install the same runtime versions.
LOCK := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(UV)
	$(LOCK) requirements-uv.txt -o requirements-uv.lock
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(LOCK) requirements-checkov.txt -o requirements-checkov.lock

# What synth needs (the runtime lock, Node, the CLI, then its caches warm); deps adds the test and lint tools.
# The Python and Node installs run side by side (-j2), most of a fresh clone's make synth; the -q check keeps
# an up-to-date run quiet.
install = @$(MAKE) -sq $(1) || $(MAKE) --no-print-directory -j2 $(1)
runtime-deps:
	$(call install,$(VENV)/.caches-warmed)
deps:
	$(call install,$(VENV)/.dev-installed node_modules/.installed)

# -qq: errors only (a pip config may name local indexes that do not exist here); the hashes pin the wheel.
$(UV): requirements-uv.lock
	rm -rf .tools/uv
	$(HOST_PYTHON) -m pip install -qq --require-hashes --no-deps --target .tools/uv -r requirements-uv.lock
	touch $@

$(PY): | $(UV)
	$(UV) venv --quiet --no-python-downloads --python $(HOST_PYTHON) $(VENV)

# app.sh reads this stamp too: it tells whether .venv is there and up to date.
$(VENV)/.runtime-installed: requirements.lock | $(PY)
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.lock
	touch $@

# sync: exactly the dev lock (runtime + tools), nothing left over from older locks.
$(VENV)/.dev-installed: requirements-dev.lock $(VENV)/.runtime-installed
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements-dev.lock
	touch $@

# checkov's own venv, exactly its lock (hashes pin every wheel).
$(CHECKOV_VENV)/.installed: requirements-checkov.lock | $(UV)
	rm -rf $(CHECKOV_VENV)
	$(UV) venv --quiet --no-python-downloads --python $(HOST_PYTHON) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes requirements-checkov.lock
	touch $@

# A fresh clone's first synth would fill jsii's package cache and then compile the bindings' bytecode, one
# after the other; tools/warm_caches.py does both at once, once per install (a fresh clone's make synth: 53 s
# -> 43 s on a shared 2-core machine, medians of 3).
$(VENV)/.caches-warmed: $(VENV)/.runtime-installed node_modules/.installed
	$(PY) -m tools.warm_caches
	touch $@

# Node comes as the platform's own package (node-<os>-<arch>, its binary hash-locked like the CLI); npm skips the
# others. Without one for this platform the tools would run on whatever Node the system has: stop instead.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
	@test -x node_modules/.bin/node || { echo "package.json pins Node for Linux x64 and arm64 only; add this platform's node-<os>-<arch> package of the same version to optionalDependencies, then npm install"; exit 1; }
	touch $@

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
