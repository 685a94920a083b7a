#!/usr/bin/env bash
# Run plain `dbt build --profiles-dir profiles` (in place, as operators do) N times over a data
# root and report how many runs passed: the check that in-place rebuilds are reliable
# (profiles/profiles.yml explains why the profile runs one dbt thread).
#   bash scripts/repeat_dbt_build.sh DATA_ROOT [N=10] [extra dbt args, e.g. --threads 2]
# The catalog is built at DATA_ROOT/db/codeintel.duckdb unless CODEINTEL_DB_PATH is set; the
# first run creates it, every later run rebuilds it in place. Exit 1 if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(cd "${1:?usage: repeat_dbt_build.sh DATA_ROOT [N] [dbt args]}" && pwd)"
n="${2:-10}"
shift $(( $# >= 2 ? 2 : 1 ))
export CODEINTEL_DATA_ROOT="$root" CODEINTEL_DB_PATH="${CODEINTEL_DB_PATH:-$root/db/codeintel.duckdb}"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1
mkdir -p "$(dirname "$CODEINTEL_DB_PATH")"
logs="$(mktemp -d "${TMPDIR:-/tmp}/repeat-dbt-build.XXXXXX")"
dbt="${DBT:-.venv/bin/dbt}"
passed=0
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  if "$dbt" build --profiles-dir profiles --target-path "$logs/target" --log-path "$logs/logs" "$@" \
      > "$logs/run-$i.log" 2>&1; then
    passed=$((passed + 1)); echo "run $i/$n: pass ($(( $(date +%s) - start )) s)"
  else
    echo "run $i/$n: FAIL ($(( $(date +%s) - start )) s): $(grep -m1 -E 'does not exist|Error' "$logs/run-$i.log" | cut -c1-200)"
  fi
done
echo "passed $passed of $n (logs: $logs)"
[ "$passed" -eq "$n" ]
