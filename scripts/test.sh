#!/usr/bin/env bash
# Run the whole test suite: lint (ruff check + format), Python tests (which include real
# `dbt build`/`dbt test` runs and the SQL lint of the dbt models with sqlfluff).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PATH="$PWD/.venv/bin:$PWD/.cache/node/node_modules/.bin:$PATH"
ruff check python_ext tests bench
ruff format --check python_ext tests bench
python -m pytest "$@"
