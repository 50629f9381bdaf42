#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
#
# torch is installed first, pinned, only when the environment has none: the package itself
# asks for a loose `torch>=2.4` so that users keep their own (CUDA) build, but a bare
# requirement on a machine without torch would pull the registry's newest multi-GB CUDA build.
# Override the pin with TORCH_SPEC (e.g. TORCH_SPEC="torch==2.13.0+cu128").
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing $TORCH_SPEC"
  "$PY" -m pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
fi

# Reinstall the package only when its metadata changed (the install is editable, so code
# changes need no reinstall).
stamp="$VENV/.revgnn-installed"
want=$(cat pyproject.toml setup.sh | "$PY" -c "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing revgnn and its dependencies"
  "$PY" -m pip install --quiet --disable-pip-version-check -e ".[test,plot]"
  echo "$want" > "$stamp"
fi
