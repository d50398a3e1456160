#!/bin/sh
# cdk.json's app: app.py under the project's .venv, so `npx cdk ls` works without an activated venv. Without
# an up-to-date .venv (the Makefile's stamp) it prints how to get one instead of an import traceback.
here=$(dirname "$0")
if [ ! -e "$here/.venv/.runtime-installed" ] || [ "$here/requirements.lock" -nt "$here/.venv/.runtime-installed" ]; then
    echo "app.sh: .venv is missing or older than requirements.lock: run \`make deps\`, then try again" >&2
    exit 1
fi
# -O: without the run-time type checks jsii's bindings make (typeguard over every argument of every call into
# CDK, most of a second of a full synth). mypy checks the same types statically, and the tests run with them.
exec "$here/.venv/bin/python" -O "$here/app.py" "$@"
