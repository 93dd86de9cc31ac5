#!/usr/bin/env bash
# Web serving benchmark: requests/s and p50/p99 latency of orgpulse's cached pages and
# API, each against baselines measured in the same run: the very same bytes served as a
# static file by Rocket's FileServer (the framework orgpulse runs on) and by nginx. The
# machine is noisy, so the ratios are the figures to read. Then two cases users feel:
#  - the deployed path: the project's nginx/nginx.conf (upstream, port and cache directory
#    substituted as .ci/containers.sh does; its request-rate limits removed for this
#    benchmark only, since one client at wrk's rate is exactly what they refuse) in front
#    of the app, against nginx serving the same bytes statically, at 64 connections;
#  - while refreshing: the 2,000-repository org page at 32 connections, at rest and while
#    refreshes (against fakeforge) commit every few seconds.
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
cargo build -q --release -p fakeforge --bin fakeforge
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

org=$(curl -fsS "http://127.0.0.1:$app_port/api/v1/orgs" | python3 -c 'import json,sys; print(next(o["login"] for o in json.load(sys.stdin) if o["forge"] == "github"))')
repos=$(curl -fsS "http://127.0.0.1:$app_port/api/v1/orgs/github/$org" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["repos"])')

# wrk → "requests/s p50 p99" (latencies in ms); connections from $connections (32).
measure() {
  wrk -t2 -c"${connections:-32}" -d"${duration}s" --latency "$1" | python3 -c '
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

# --- the deployed path: the project's nginx in front of the app --------------------------
proxy_port=$(free_port)
mkdir -p "$work/nginx-cache" && chmod 1777 "$work/nginx-cache"
sed -e "s/server app:8000;/server 127.0.0.1:$app_port;/" -e "s/listen 8080;/listen 127.0.0.1:$proxy_port;/" \
  -e "s#/var/cache/nginx/orgpulse#$PWD/$work/nginx-cache#" -e "s#pid /tmp/nginx.pid;#pid $PWD/$work/proxy.pid;#" \
  -e '/^ *limit_req /d' nginx/nginx.conf > "$work/proxy.conf"
nginx -c "$PWD/$work/proxy.conf" > "$work/proxy.log" 2>&1
trap 'kill $app $rocket_static 2>/dev/null || true; nginx -c "$PWD/$work/nginx.conf" -s stop 2>/dev/null || true; nginx -c "$PWD/$work/proxy.conf" -s stop 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$proxy_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
deployed=()
connections=64
for target in "/" "/orgs/github/$org" "/api/v1/orgs/github/$org/repos"; do
  name=$(echo "$target" | tr '/' '_' | sed 's/^_$/overview/; s/^_//')
  curl -fsS "http://127.0.0.1:$proxy_port$target" -o /dev/null
  read -r px_rps px_p50 px_p99 < <(measure "http://127.0.0.1:$proxy_port$target")
  read -r st_rps st_p50 st_p99 < <(measure "http://127.0.0.1:$static_port/$name")
  ratio=$(python3 -c "print(f'{$px_rps / $st_rps:.2f}')")
  deployed+=("| \`$target\` | $px_rps | $px_p50 / $px_p99 | $st_rps | $st_p50 / $st_p99 | **$ratio** |")
done
connections=32

# --- while refreshing: commits every few seconds -----------------------------------------
# fakeforge with the demo's world (same seed and size), and the app pointed at it.
forge_port=$(free_port)
target/release/fakeforge --orgs 2 --repos 2000 --seed 1 --changed-per-day 0.04 --rate-limit 100000000 \
  --port "$forge_port" > "$work/forge.log" 2>&1 &
forge=$!
kill $app 2>/dev/null || true
wait $app 2>/dev/null || true
app_port=$(free_port)
token=$(ORGPULSE_DATABASE_URL="sqlite://$work/orgpulse.db" target/release/orgpulse token create bench 2>/dev/null)
ORGPULSE_DATABASE_URL="sqlite://$work/orgpulse.db" ROCKET_PORT=$app_port ORGPULSE_LOG=warn \
  ORGPULSE_GITHUB_API_URL="http://127.0.0.1:$forge_port" ORGPULSE_FETCH_LANGUAGES=false ORGPULSE_FETCH_LIBRARIES=false \
  ORGPULSE_FORGES="gitlab=gitlab@http://127.0.0.1:$forge_port/gitlab/api/v4,codeberg=forgejo@http://127.0.0.1:$forge_port/forgejo/api/v1" \
  target/release/orgpulse serve > "$work/serve-refreshing.log" 2>&1 &
app=$!
trap 'kill $app $rocket_static $forge $refresher 2>/dev/null || true; nginx -c "$PWD/$work/nginx.conf" -s stop 2>/dev/null || true; nginx -c "$PWD/$work/proxy.conf" -s stop 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$app_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
page="http://127.0.0.1:$app_port/orgs/github/$org"
curl -fsS "$page" -o /dev/null
read -r rest_rps rest_p50 rest_p99 < <(measure "$page")
committed_runs() {
  curl -fsS "http://127.0.0.1:$app_port/api/v1/runs?limit=200" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["runs"] if r["status"] in ("succeeded", "partial")))'
}
runs_before=$(committed_runs)
every=3
( while true; do
    curl -fsS -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$app_port/api/v1/refresh" -o /dev/null || true
    sleep "$every"
  done ) &
refresher=$!
sleep 1
read -r busy_rps busy_p50 busy_p99 < <(measure "$page")
kill $refresher 2>/dev/null || true
sleep 2
runs=$(( $(committed_runs) - runs_before ))
ratio_tail=$(python3 -c "print(f'{$busy_p99 / max($rest_p99, 0.01):.1f}')")

{
  echo "Deployed path (\`nginx/nginx.conf\` in front of the app, request-rate limits removed for the benchmark; its access log kept, buffered as configured, written to a file), wrk -t2 -c64 -d${duration}s, against nginx serving the same bytes as static files in the same run:"
  echo
  echo "| target | through nginx req/s | p50 / p99 ms | nginx static req/s | p50 / p99 ms | ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${deployed[@]}"
  echo
  echo "While refreshing: \`/orgs/github/$org\` ($repos repositories), wrk -t2 -c32 -d${duration}s, at rest and while a refresh (fakeforge, same world) is requested every ${every} s — $runs refreshes committed during the measurement:"
  echo
  echo "| case | req/s | p50 / p99 ms |"
  echo "| --- | ---: | ---: |"
  echo "| at rest | $rest_rps | $rest_p50 / $rest_p99 |"
  echo "| while refreshes commit | $busy_rps | $busy_p50 / $busy_p99 |"
  echo
  echo "p99 while refreshing / at rest: **$ratio_tail×**"
  echo
} | tee -a "$work/result.md"
