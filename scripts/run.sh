#!/usr/bin/env bash
# Sets up and runs the whole platform on this machine: installs nats-server if
# missing, builds, starts an embedded nats-server (store under ./data), every
# service and the market simulator. Extra arguments go to `trader run`
# (see `trader run --help`). Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (rustup) first" >&2; exit 1; }

./scripts/install-nats.sh
export NATS_SERVER_BIN="$root/.tools/bin/nats-server"
cargo build --release --locked -p trader
exec "$root/target/release/trader" run --data-dir "$root/data" --import-dir "$root/testdata" "$@"
