#!/usr/bin/env bash
# Web serving benchmark: requests/s and p50/p99 latency of orgpulse's cached pages and
# API, each against baselines measured in the same run: the very same bytes served as a
# static file by Rocket's FileServer (the framework orgpulse runs on) and by nginx. The
# machine is noisy, so the ratios are the figures to read.
#
# usage: bench/web.sh [seconds per target, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
work=target/bench-web
rm -rf "$work" && mkdir -p "$work/www"

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx

echo "building (release)…" >&2
cargo build -q --release --bin orgpulse --example demo --example static_server
echo "filling the database: 2 organisations x 2,000 repositories, 14 days…" >&2
target/release/examples/demo --db "$work/orgpulse.db" --days 14 --orgs 2 --repos 2000 > "$work/demo.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
app_port=$(free_port)
static_port=$(free_port)
rocket_port=$(free_port)
ORGPULSE_DATABASE_URL="sqlite://$work/orgpulse.db" ROCKET_PORT=$app_port ORGPULSE_LOG=warn \
  target/release/orgpulse serve > "$work/serve.log" 2>&1 &
app=$!
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $PWD/$work/nginx.pid;
error_log $PWD/$work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$static_port;
    root $PWD/$work/www;
    default_type text/html;
  }
}
CONF
nginx -c "$PWD/$work/nginx.conf"
target/release/examples/static_server "$work/www" "$rocket_port" > "$work/static.log" 2>&1 &
rocket_static=$!
trap 'kill $app $rocket_static 2>/dev/null || true; nginx -c "$PWD/$work/nginx.conf" -s stop 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$app_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

org=$(curl -fsS "http://127.0.0.1:$app_port/api/v1/orgs" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["login"])')
repos=$(curl -fsS "http://127.0.0.1:$app_port/api/v1/orgs/github/$org" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["repos"])')

# wrk → "requests/s p50 p99" (latencies in ms).
measure() {
  wrk -t2 -c32 -d"${duration}s" --latency "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
print(f"{rps:.0f} {ms(50):.2f} {ms(99):.2f}")'
}

results=()
for target in "/" "/orgs/github/$org" "/api/v1/orgs/github/$org/repos"; do
  name=$(echo "$target" | tr '/' '_' | sed 's/^_$/overview/; s/^_//')
  curl -fsS "http://127.0.0.1:$app_port$target" -o "$work/www/$name"
  size=$(stat -c %s "$work/www/$name")
  curl -fsS "http://127.0.0.1:$static_port/$name" -o /dev/null
  curl -fsS "http://127.0.0.1:$rocket_port/$name" -o /dev/null
  read -r app_rps app_p50 app_p99 < <(measure "http://127.0.0.1:$app_port$target")
  read -r st_rps st_p50 st_p99 < <(measure "http://127.0.0.1:$static_port/$name")
  read -r rk_rps rk_p50 rk_p99 < <(measure "http://127.0.0.1:$rocket_port/$name")
  ratio=$(python3 -c "print(f'{$app_rps / $rk_rps:.2f}')")
  nginx_ratio=$(python3 -c "print(f'{$app_rps / $st_rps:.2f}')")
  results+=("| \`$target\` | $size | $app_rps | $app_p50 / $app_p99 | $rk_rps | $rk_p50 / $rk_p99 | **$ratio** | $st_rps | $st_p50 / $st_p99 | $nginx_ratio |")
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  echo "### Web serving — $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), orgpulse $(target/release/orgpulse --version | cut -d' ' -f2)"
  echo
  echo "\`bench/web.sh $duration\`: wrk -t2 -c32 -d${duration}s on 127.0.0.1, same machine as the servers. Org with $repos repositories, 14 days of history. Each target's bytes are saved to a file and served by two baselines in the same run: Rocket's FileServer (same framework and runtime; \`examples/static_server.rs\`) and nginx."
  echo
  echo "| target | bytes | orgpulse req/s | p50 / p99 ms | Rocket static req/s | p50 / p99 ms | ratio | nginx static req/s | p50 / p99 ms | ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${results[@]}"
  echo
} | tee "$work/result.md"
