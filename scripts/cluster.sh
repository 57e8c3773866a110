#!/usr/bin/env bash
# A 3-node JetStream cluster on this machine from nats/cluster/n{1,2,3}.conf
# (clients 4122/4222/4322, routes 6122/6222/6322, monitoring 8122/8222/8322).
# Stores, pid files and logs go under ./data/cluster ($TRADER_CLUSTER_DIR/data/cluster
# when set: tests use a temporary one).
#
#   scripts/cluster.sh start    start the three nodes, wait until JetStream is ready, print the URLs
#   scripts/cluster.sh stop     stop them (SIGTERM: they flush and leave the cluster cleanly)
#   scripts/cluster.sh status   which nodes run and are healthy
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
base="${TRADER_CLUSTER_DIR:-$root}"
dir="$base/data/cluster"
nodes=(n1 n2 n3)
urls="nats://127.0.0.1:4122,nats://127.0.0.1:4222,nats://127.0.0.1:4322"

monitor_port() { case "$1" in n1) echo 8122 ;; n2) echo 8222 ;; n3) echo 8322 ;; esac; }

# GET on a node's monitoring port (bash's /dev/tcp: no curl needed); prints the body.
http_get() {
  local response
  response="$( { exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 &&
    timeout 2 cat <&3; } 2>/dev/null )" || return 1
  printf '%s' "${response#*$'\r\n\r\n'}"
}

pid_of() {
  local pid_file="$dir/$1.pid"
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

healthy() { http_get "$(monitor_port "$1")" /healthz | grep -q '"status": *"ok"'; }

meta_leader() {
  local node leader
  for node in "${nodes[@]}"; do
    leader="$(http_get "$(monitor_port "$node")" /jsz | grep -oE '"leader": *"[^"]+"' | head -n 1 |
      sed -E 's/.*"([^"]+)"$/\1/')" || true
    if [ -n "$leader" ]; then echo "$leader"; return 0; fi
  done
  return 1
}

nats_server_bin() {
  if [ -n "${NATS_SERVER_BIN:-}" ]; then echo "$NATS_SERVER_BIN"; return; fi
  "$root/scripts/install-nats.sh"
  echo "$root/.tools/bin/nats-server"
}

start() {
  local bin node
  bin="$(nats_server_bin)"
  mkdir -p "$dir"
  # The configs' store_dir is ./data/cluster/<node>: relative to $base.
  cd "$base"
  for node in "${nodes[@]}"; do
    if pid_of "$node" >/dev/null; then
      echo "$node already running (pid $(pid_of "$node"))"
      continue
    fi
    # Detached from this script's output, so whoever reads it sees its end.
    nohup "$bin" -c "$root/nats/cluster/$node.conf" -P "$dir/$node.pid" -l "$dir/$node.log" \
      </dev/null >/dev/null 2>&1 &
  done
  local deadline=$((SECONDS + 60))
  for node in "${nodes[@]}"; do
    until healthy "$node"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "error: $node is not healthy after 60 s; see $dir/$node.log" >&2
        tail -n 5 "$dir/$node.log" >&2 2>/dev/null || true
        exit 1
      fi
      sleep 0.2
    done
  done
  until meta_leader >/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: no JetStream meta leader after 60 s; see $dir/*.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "cluster ready (meta leader $(meta_leader)); stores and logs in $dir"
  echo "$urls"
}

stop() {
  local node pid
  for node in "${nodes[@]}"; do
    if pid="$(pid_of "$node")"; then
      kill -TERM "$pid"
      local deadline=$((SECONDS + 30))
      while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
          echo "$node did not stop in 30 s; killing it" >&2
          kill -KILL "$pid" 2>/dev/null || true
          sleep 0.5
          break
        fi
        sleep 0.1
      done
      echo "$node stopped"
    else
      echo "$node not running"
    fi
    rm -f "$dir/$node.pid"
  done
}

status() {
  local node pid running=0
  for node in "${nodes[@]}"; do
    if pid="$(pid_of "$node")"; then
      running=$((running + 1))
      if healthy "$node"; then echo "$node running (pid $pid), healthy"; else echo "$node running (pid $pid), not healthy yet"; fi
    else
      echo "$node stopped"
    fi
  done
  if [ "$running" -eq ${#nodes[@]} ]; then echo "$urls"; else return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
