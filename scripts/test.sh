#!/usr/bin/env bash
# Builds and runs every test, installing what it needs first. CI runs exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (rustup) first" >&2; exit 1; }

./scripts/install-nats.sh
export NATS_SERVER_BIN="$root/.tools/bin/nats-server"

echo "== nats/ configs"
for conf in nats/*.conf nats/*/*.conf; do
  "$NATS_SERVER_BIN" -t -c "$conf" >/dev/null
done
echo "all $(ls nats/*.conf nats/*/*.conf | wc -l) configs valid"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
