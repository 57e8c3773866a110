#!/usr/bin/env bash
# Installs what the dashboard's browser test (services/gateway/tests/browser.rs)
# needs when it is missing: Debian's chromium and chromium-driver (apt-get, as
# root), and playwright-core from npm at the version pinned in
# services/gateway/web/e2e/package-lock.json, into the git-ignored .tools/node.
# Idempotent. Node.js >= 20 with npm must be there already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
e2e="$root/services/gateway/web/e2e"
tools="$root/.tools/node"

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium and chromium-driver (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "error: /usr/bin/chromium is missing and apt-get cannot install it here (not root, or no apt):" >&2
    echo "       install Debian's chromium and chromium-driver, then run this again." >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: the browser test needs Node.js >= 20 and npm (https://nodejs.org or your distribution's nodejs 20+)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "error: the browser test needs Node.js >= 20 (playwright-core), found $(node --version)" >&2
  exit 1
fi

if cmp -s "$e2e/package-lock.json" "$tools/package-lock.json" && [ -f "$tools/node_modules/playwright-core/package.json" ]; then
  exit 0
fi
echo "installing playwright-core (pinned in $e2e/package-lock.json) into $tools" >&2
mkdir -p "$tools"
cp "$e2e/package.json" "$e2e/package-lock.json" "$tools/"
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
