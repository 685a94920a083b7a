#!/usr/bin/env bash
# Run the main job end to end on the embedded default repository (this project's own source):
# ingest (+SCIP) -> index build -> tune -> eval queries -> eval run -> catalog refresh -> summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PATH="$PWD/.venv/bin:$PWD/.cache/node/node_modules/.bin:$PATH"
exec indexctl pipeline "$@"
