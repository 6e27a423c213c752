#!/usr/bin/env bash
# A real Tandem cluster on loopback: redis-server + N `tandem serve` hubs + nginx in front.
#
#   deploy/local-cluster.sh start [--hubs N] [--routing affine|round-robin] [--dir DIR]
#                                 [-- EXTRA TANDEM SERVE FLAGS]
#   deploy/local-cluster.sh stop     [--dir DIR]     stop everything (hubs flush first)
#   deploy/local-cluster.sh status   [--dir DIR]     what runs, and the URLs
#   deploy/local-cluster.sh kill-hub I | stop-hub I | start-hub I     (I = 1..N)
#   deploy/local-cluster.sh stop-redis | start-redis | restart-redis
#
# Everything binds 127.0.0.1 on free ports. State, logs and the generated configs live in DIR
# (default $TANDEM_CLUSTER_DIR, else ${TMPDIR:-/tmp}/tandem-cluster); DIR/cluster.env holds the
# URLs (URL=http://127.0.0.1:PORT is nginx, the one to open). --routing: a document's sockets
# go to one hub (affine, the default, as in deploy/nginx.conf) or are spread round-robin.
# Tools: redis-server, nginx (Debian's /usr/sbin/nginx works unprivileged), python3; PYTHON
# picks the interpreter that runs the hubs (default: the repository's .venv, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TANDEM_CLUSTER_DIR:-${TMPDIR:-/tmp}/tandem-cluster}"
HUBS=3
ROUTING=affine
COMMAND="${1:-}"
shift || true
ARG=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hubs) HUBS="$2"; shift 2 ;;
    --routing) ROUTING="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) ARG="$1"; shift ;;
  esac
done

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

die() { echo "local-cluster: $*" >&2; exit 1; }
say() { echo "local-cluster: $*" >&2; }

free_ports() {  # free_ports N: N distinct free loopback ports, one per line
  "$PYTHON" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...: retry COMMAND until it succeeds
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not come up in ${seconds}s (logs: $DIR/logs)"
    sleep 0.1
  done
}

http_ok() {  # http_ok URL: the URL answers 2xx
  "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"
}

pid_of() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

spawn() {  # spawn NAME COMMAND...: run detached, remember its pid, log to DIR/logs/NAME.log
  local name="$1"; shift
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/pids/$name.pid"
}

stop_one() {  # stop_one NAME [SIGNAL]: signal it and wait for it to exit (SIGKILL after 20 s)
  local name="$1" sig="${2:-TERM}" pid
  pid="$(pid_of "$name")"
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; fi
      sleep 0.05
    done
  fi
  rm -f "$DIR/pids/$name.pid"
}

load_env() {
  [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (run: $0 start)"
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
}

start_redis() {
  load_env
  mkdir -p "$DIR/redis"
  cat > "$DIR/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
protected-mode yes
dir $DIR/redis
daemonize no
save ""
appendonly yes
appendfsync everysec
EOF
  spawn redis "$REDIS_SERVER" "$DIR/redis.conf"
  wait_for "redis-server" 10 "$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"PING\r\n")
assert s.recv(16).startswith(b"+PONG")' "$REDIS_PORT"
}

start_hub() {  # start_hub I: hub I on its port (the same one after a restart)
  load_env
  local i="$1" port_var="HUB_${1}_PORT"
  local port="${!port_var:-}"
  [ -n "$port" ] || die "no hub $i (hubs: 1..$HUB_COUNT)"
  local flags=()
  [ -f "$DIR/hub-flags" ] && mapfile -t flags < "$DIR/hub-flags"
  # nginx, their proxy, connects from 127.0.0.1: the client addresses it forwards are believed.
  spawn "hub-$i" env PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m server.cli serve --host 127.0.0.1 --port "$port" \
    --store "$REDIS_URL" --forwarded-allow-ips 127.0.0.1 ${flags[@]+"${flags[@]}"}
  wait_for "hub $i" 30 http_ok "http://127.0.0.1:$port/readyz"
}

write_nginx_conf() {
  load_env
  mkdir -p "$DIR/nginx"
  {
    echo "worker_processes 1;"
    echo "pid $DIR/nginx/nginx.pid;"
    echo "error_log $DIR/logs/nginx-error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  access_log $DIR/logs/nginx-access.log;"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $DIR/nginx/$t;"; done
    echo "  upstream tandem {"
    [ "$ROUTING" = round-robin ] || echo "    hash \$tandem_doc consistent;"
    for i in $(seq 1 "$HUB_COUNT"); do
      local port_var="HUB_${i}_PORT"
      echo "    server 127.0.0.1:${!port_var} max_fails=1 fail_timeout=2s;"
    done
    echo "  }"
    sed -n '/# -- shared with deploy\/nginx.conf: begin/,/# -- end/p' "$ROOT/deploy/nginx.conf" \
      | sed "s/listen 8080;/listen 127.0.0.1:$NGINX_PORT;/"
    echo "}"
  } > "$DIR/nginx/nginx.conf"
}

start_nginx() {
  load_env
  write_nginx_conf
  "$NGINX" -t -q -p "$DIR/nginx" -e "$DIR/logs/nginx-error.log" -c "$DIR/nginx/nginx.conf" \
    || die "nginx rejected $DIR/nginx/nginx.conf"
  spawn nginx "$NGINX" -p "$DIR/nginx" -e "$DIR/logs/nginx-error.log" \
    -c "$DIR/nginx/nginx.conf" -g "daemon off;"
  wait_for "nginx" 10 http_ok "http://127.0.0.1:$NGINX_PORT/healthz"
}

cmd_start() {
  if [ -f "$DIR/cluster.env" ] && alive redis; then die "a cluster already runs in $DIR"; fi
  case "$ROUTING" in affine|round-robin) ;; *) die "--routing is affine or round-robin" ;; esac
  [ -x "$REDIS_SERVER" ] || die "redis-server is not installed"
  [ -x "$NGINX" ] || die "nginx is not installed"
  mkdir -p "$DIR/pids" "$DIR/logs"
  mapfile -t ports < <(free_ports $((HUBS + 2)))
  {
    echo "REDIS_PORT=${ports[0]}"
    echo "REDIS_URL=redis://127.0.0.1:${ports[0]}/0"
    echo "NGINX_PORT=${ports[1]}"
    echo "URL=http://127.0.0.1:${ports[1]}"
    echo "WS_URL=ws://127.0.0.1:${ports[1]}/ws"
    echo "HUB_COUNT=$HUBS"
    echo "ROUTING=$ROUTING"
    for i in $(seq 1 "$HUBS"); do
      echo "HUB_${i}_PORT=${ports[$((i + 1))]}"
      echo "HUB_${i}_URL=http://127.0.0.1:${ports[$((i + 1))]}"
    done
  } > "$DIR/cluster.env"
  rm -f "$DIR/hub-flags"
  [ ${#EXTRA[@]} -eq 0 ] || printf '%s\n' "${EXTRA[@]}" > "$DIR/hub-flags"
  start_redis
  local starting=() failed=0
  for i in $(seq 1 "$HUBS"); do start_hub "$i" & starting+=($!); done
  for job in "${starting[@]}"; do wait "$job" || failed=1; done
  [ $failed -eq 0 ] || { cmd_stop; die "a hub did not start (logs: $DIR/logs)"; }
  start_nginx
  cmd_status
}

cmd_stop() {
  [ -d "$DIR/pids" ] || { say "nothing runs in $DIR"; return 0; }
  stop_one nginx QUIT
  local hubs=()
  for pidfile in "$DIR"/pids/hub-*.pid; do
    [ -e "$pidfile" ] || continue
    local name; name="$(basename "$pidfile" .pid)"
    stop_one "$name" & hubs+=($!)   # graceful: each hub flushes to Redis, in parallel
  done
  for job in ${hubs[@]+"${hubs[@]}"}; do wait "$job"; done
  stop_one redis
  say "stopped (logs kept in $DIR/logs)"
}

cmd_status() {
  load_env
  local name
  for name in redis nginx $(seq -f "hub-%g" 1 "$HUB_COUNT"); do
    if alive "$name"; then state="running (pid $(pid_of "$name"))"; else state="stopped"; fi
    printf '%-6s %s\n' "$name" "$state"
  done
  cat "$DIR/cluster.env"
}

case "$COMMAND" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill-hub) [ -n "$ARG" ] || die "kill-hub needs a hub number"; stop_one "hub-$ARG" KILL ;;
  stop-hub) [ -n "$ARG" ] || die "stop-hub needs a hub number"; stop_one "hub-$ARG" TERM ;;
  start-hub) [ -n "$ARG" ] || die "start-hub needs a hub number"; alive "hub-$ARG" || start_hub "$ARG" ;;
  stop-redis) stop_one redis TERM ;;
  start-redis) alive redis || start_redis ;;
  restart-redis) stop_one redis TERM; start_redis ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; [ -z "$COMMAND" ] || exit 2 ;;
esac
