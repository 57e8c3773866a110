#!/usr/bin/env bash
# Builds and runs every test, installing what it needs first. CI runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (rustup) first" >&2; exit 1; }

./scripts/install-nats.sh
export NATS_SERVER_BIN="$root/.tools/bin/nats-server"
# Debian's chromium (apt-get update + install, only when /usr/bin/chromium is
# missing) and playwright-core into .tools/node, for the dashboard's browser test.
./scripts/install-browser.sh

# README "Deploy" shows these lines as they are run here.
nats-server() { "$NATS_SERVER_BIN" "$@"; }

echo "== nats/ configs"
# nats/auth/users.conf reads each user's password from the environment, and
# nats/tls.conf needs certificates in ./certs.
[ -f certs/ca.pem ] || scripts/make-certs.sh   # keeps certificates a dev server may be using
set -a && . nats/auth/dev.env && set +a
nats-server -t -c nats/secure.conf && nats-server -t -c nats/tls.conf
for conf in nats/*.conf nats/*/*.conf; do
  nats-server -t -c "$conf" 2>/dev/null || { nats-server -t -c "$conf"; exit 1; }
done
echo "all $(ls nats/*.conf nats/*/*.conf | wc -l) configs valid"

echo "== compose.yml"
if ! command -v docker-compose >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's docker-compose (static validation only)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  fi
fi
if command -v docker-compose >/dev/null; then
  docker-compose -f compose.yml config -q
  echo "docker-compose accepts compose.yml"
else
  echo "SKIPPED: docker-compose is missing and apt-get cannot install it (not root, or no apt); compose.yml not validated by docker-compose"
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
scripts/check-compose.py

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
