#!/usr/bin/env bash
# A private RabbitMQ node for development and tests, from Debian's rabbitmq-server.
#
#   scripts/rabbitmq.sh start [PORT] [--fresh]
#                                    start (or reuse) a node on 127.0.0.1:PORT, wait until ready;
#                                    --fresh drops the data of a stopped node first (tests)
#   scripts/rabbitmq.sh stop [PORT]    stop it cleanly (and its private epmd)
#   scripts/rabbitmq.sh url [PORT]     print its AMQP URL
#   scripts/rabbitmq.sh ctl PORT ARGS  run rabbitmqctl against it (e.g. list_queues)
#
# Data and logs live in .run/rabbitmq-PORT/ (ignored by git). The prometheus plugin listens on
# PORT+10000. Nothing is shared with a system-wide RabbitMQ: own node name, cookie, epmd port.
set -euo pipefail

cmd=${1:-start}
port=${2:-${SANGKIEN_RABBIT_PORT:-5699}}
root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.run/rabbitmq-$port"
node="sangkien$port@localhost"
rabbit_bin=/usr/lib/rabbitmq/bin

export HOME="$base/home"
export RABBITMQ_NODENAME="$node"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT=$((port + 20000))
export ERL_EPMD_PORT=$((port + 30000))
# Where a crashing Erlang VM (the node or a CLI call) writes its dump: not the working directory.
export ERL_CRASH_DUMP="$base/erl_crash.dump"
export RABBITMQ_MNESIA_BASE="$base/mnesia"
export RABBITMQ_LOG_BASE="$base/log"
export RABBITMQ_PID_FILE="$base/rabbit.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$base/rabbitmq"
export RABBITMQ_ADVANCED_CONFIG_FILE="$base/advanced.config"

ensure_installed() {
  [ -x "$rabbit_bin/rabbitmq-server" ] && return
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's rabbitmq-server…" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  else
    echo "rabbitmq-server is missing: run 'sudo apt-get install rabbitmq-server'," >&2
    echo "or point SANGKIEN_BROKER_URL at an existing broker." >&2
    exit 1
  fi
}

ctl() { "$rabbit_bin/rabbitmqctl" -n "$node" "$@"; }

running() { ctl status >/dev/null 2>&1; }

case "$cmd" in
  start)
    ensure_installed
    if [ "${3:-}" = "--fresh" ] && ! running; then
      rm -rf "$RABBITMQ_MNESIA_BASE"  # throwaway node (tests): start with no old vhosts
    fi
    mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
    if running; then
      echo "amqp://guest:guest@127.0.0.1:$port/"
      exit 0
    fi
    echo "[rabbitmq_prometheus]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    cat >"$RABBITMQ_CONFIG_FILE.conf" <<CONF
prometheus.tcp.port = $((port + 10000))
prometheus.tcp.ip = 127.0.0.1
log.console = false
log.file.level = warning
CONF
    echo "[]." >"$RABBITMQ_ADVANCED_CONFIG_FILE"
    nohup "$rabbit_bin/rabbitmq-server" >"$RABBITMQ_LOG_BASE/startup.out" 2>&1 &
    deadline=$((SECONDS + 120))
    until ctl ping >/dev/null 2>&1 && ctl await_startup --timeout 60 >/dev/null 2>&1; do
      if [ $SECONDS -ge $deadline ]; then
        echo "RabbitMQ did not start within 120 s; see $RABBITMQ_LOG_BASE" >&2
        tail -n 20 "$RABBITMQ_LOG_BASE/startup.out" >&2 || true
        exit 1
      fi
      sleep 1
    done
    echo "amqp://guest:guest@127.0.0.1:$port/"
    ;;
  stop)
    if [ -x "$rabbit_bin/rabbitmqctl" ] && running; then
      ctl stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
    fi
    if command -v epmd >/dev/null 2>&1; then epmd -kill >/dev/null 2>&1 || true; fi
    ;;
  ctl)
    shift 2
    ctl "$@"
    ;;
  url)
    echo "amqp://guest:guest@127.0.0.1:$port/"
    ;;
  *)
    echo "usage: $0 start|stop|url [PORT] | ctl PORT ARGS…" >&2
    exit 2
    ;;
esac
