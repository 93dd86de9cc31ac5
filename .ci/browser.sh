#!/usr/bin/env bash
# The real-browser test: the real binary serves a database filled through the real
# pipeline (examples/demo.rs against the bundled fake forge); headless Chromium loads
# the pages. Screenshots are kept in target/screenshots/ for people to look at.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  if [ "${ORGPULSE_REQUIRE_ALL_SUITES:-}" = "1" ]; then
    echo "browser test cannot run: $* (and ORGPULSE_REQUIRE_ALL_SUITES=1)" >&2
    exit 1
  fi
  echo "SKIPPED browser test: $*"
  exit 0
}

if ! command -v chromium >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium curl >/dev/null
  fi
fi
command -v chromium >/dev/null 2>&1 || skip "no chromium (install Debian's chromium package)"
command -v node >/dev/null 2>&1 || skip "no node"
(cd .ci/browser && npm install --no-audit --no-fund --loglevel=error >/dev/null)

work=target/browser
rm -rf "$work" && mkdir -p "$work"
cargo run -q --example demo -- --db "$work/orgpulse.db" --days 40 --orgs 4 --repos 180 > "$work/demo.log"
cargo build -q --bin orgpulse
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ORGPULSE_DATABASE_URL="sqlite://$work/orgpulse.db" ROCKET_PORT="$port" ORGPULSE_LOG=warn \
  target/debug/orgpulse serve > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
node .ci/browser/check.mjs "http://127.0.0.1:$port" target/screenshots
