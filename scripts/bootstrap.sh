#!/usr/bin/env bash
# Create ./.venv and install everything the project needs (idempotent; fast when up to date).
#   CODEINTEL_FAISS=cpu|gpu   which FAISS wheel to install (default cpu; they exclude each other)
#   CODEINTEL_PYTHON          interpreter to build the venv with (default python3.11, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DO_NOT_TRACK=1 PIP_DISABLE_PIP_VERSION_CHECK=1

faiss="${CODEINTEL_FAISS:-cpu}"
case "$faiss" in cpu|gpu) ;; *) echo "CODEINTEL_FAISS must be cpu or gpu, got '$faiss'" >&2; exit 2;; esac
py="${CODEINTEL_PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $py" >&2
  "$py" -m venv .venv
fi
stamp=".venv/.codeintel-installed"
want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)-$faiss"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing python_ext[$faiss,minilm,accel,e5,ray,spark,dev] into .venv" >&2
  other=$([ "$faiss" = cpu ] && echo faiss-gpu || echo faiss-cpu)
  .venv/bin/python -m pip uninstall -q -y "$other" >/dev/null 2>&1 || true
  # torch first and pinned: only 2.13.0 has a CPU build here; a bare `torch` pulls CUDA builds.
  # (pip's config lists local index folders that may be absent: drop its "is ignored" noise)
  .venv/bin/python -m pip install -q "torch==2.13.0" 2> >(grep -v "is ignored" >&2)
  # torch named again so no extra's dependency can move it off 2.13.0
  .venv/bin/python -m pip install -q -e ".[$faiss,minilm,accel,e5,ray,spark,dev]" "torch==2.13.0" 2> >(grep -v "is ignored" >&2)
  echo "$want" > "$stamp"
fi

# The SCIP indexers for Python (scip-python) and TypeScript/JavaScript (scip-typescript) from the
# npm registry, into .cache/node (not global). Both run offline once installed.
if command -v npm >/dev/null 2>&1; then
  for pkg in "@sourcegraph/scip-python@0.6.6:scip-python" "@sourcegraph/scip-typescript@0.4.0:scip-typescript"; do
    spec="${pkg%%:*}" bin="${pkg##*:}"
    if [ ! -x ".cache/node/node_modules/.bin/$bin" ]; then
      echo "bootstrap: installing $spec into .cache/node" >&2
      mkdir -p .cache/node
      npm install --silent --no-audit --no-fund --prefix .cache/node "$spec" >&2
    fi
  done
else
  echo "bootstrap: npm not found; SCIP indexing (scip-python, scip-typescript) will be unavailable" >&2
fi

# Chromium (Debian package) renders `indexctl report` in a real headless browser in the tests
# (tests/python/test_report.py). Installed when absent and apt-get is usable as root;
# CODEINTEL_CHROMIUM=skip opts out (the browser test then skips and says why).
if [ "${CODEINTEL_CHROMIUM:-auto}" != skip ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing chromium (apt) for the report's browser test" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends -o DPkg::Lock::Timeout=600 chromium; } >/dev/null 2>&1 \
      || echo "bootstrap: could not install chromium; the report's browser test will skip" >&2
  else
    echo "bootstrap: chromium not found and apt-get not usable as root; the report's browser test will skip" >&2
  fi
fi
