#!/usr/bin/env bash
# The overview at many organisations: 60 organisations (the compact table) against 4 (the
# cards) as the baseline measured in the same run, both filled by the demo (40
# repositories each, 35 days of history, the three forges in turn). For each: the first
# answer after start (the store read and the render), a render with the data in memory
# (median over 16 sort orders, each a page not rendered before), a cached answer (median
# of 50), the HTML's bytes and the page's height in pixels at 1280 px wide (headless
# Chromium; skipped with a note when Chromium or Pillow is missing).
#
# usage: bench/overview.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/bench-overview
rm -rf "$work" && mkdir -p "$work"
echo "building (release)…" >&2
cargo build -q --release --bin orgpulse --example demo
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

height() { # url → pixels of content, or "n/a"
  command -v chromium >/dev/null 2>&1 && python3 -c 'import PIL' 2>/dev/null || { echo "n/a"; return; }
  local dir; dir=$(mktemp -d)
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$dir" --hide-scrollbars \
    --window-size=1280,12000 --screenshot="$dir/page.png" "$1" >/dev/null 2>&1 || true
  python3 - "$dir/page.png" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
bg = im.getpixel((3, h - 3))
print(next((y for y in range(h - 1, 0, -2) if any(im.getpixel((x, y)) != bg for x in range(0, w, 6))), 0))
PY
  rm -rf "$dir"
}

measure() { # orgs → "cold_ms render_ms cached_ms bytes height"
  local db="$work/orgs-$1.db" port pid
  target/release/examples/demo --db "$db" --days 35 --orgs "$1" --repos 40 > "$work/demo-$1.log"
  port=$(free_port)
  ORGPULSE_DATABASE_URL="sqlite://$db" ROCKET_PORT=$port ORGPULSE_LOG=warn target/release/orgpulse serve > "$work/serve-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local base="http://127.0.0.1:$port"
  local cold; cold=$(curl -fsS -o /dev/null -w '%{time_total}' "$base/")
  local renders=() cached=()
  for key in name repos stars stars_7d stars_30d forks open_issues refreshed; do
    for order in asc desc; do
      renders+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$base/?sort=$key&order=$order")")
    done
  done
  for _ in $(seq 1 50); do cached+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$base/")"); done
  local bytes; bytes=$(curl -fsS "$base/" | wc -c)
  local px; px=$(height "$base/")
  kill "$pid" 2>/dev/null || true
  python3 - "$cold" "$bytes" "$px" "${renders[*]}" "${cached[*]}" <<'PY'
import statistics, sys
cold, size, px = float(sys.argv[1]), sys.argv[2], sys.argv[3]
med = lambda s: statistics.median(float(x) for x in s.split())
print("%.2f %.2f %.3f %s %s" % (cold * 1000, med(sys.argv[4]) * 1000, med(sys.argv[5]) * 1000, size, px))
PY
}

read -r b_cold b_render b_cached b_bytes b_px <<<"$(measure 4)"
read -r m_cold m_render m_cached m_bytes m_px <<<"$(measure 60)"
python3 - "$b_cold" "$b_render" "$b_cached" "$b_bytes" "$b_px" "$m_cold" "$m_render" "$m_cached" "$m_bytes" "$m_px" <<'PY'
import sys
b = sys.argv[1:6]; m = sys.argv[6:11]
def ratio(x, y):
    try:
        return "**%.2f×**" % (float(x) / float(y))
    except (ValueError, ZeroDivisionError):
        return "n/a"
rows = [
    ("first answer after start (store read + render), ms", 0),
    ("render with the data in memory (median of 16 orders), ms", 1),
    ("cached answer (median of 50), ms", 2),
    ("HTML bytes", 3),
    ("page height at 1280 px wide, px", 4),
]
print("| `/` | 4 organisations (cards) | 60 organisations (table) | ratio |")
print("| --- | ---: | ---: | ---: |")
for label, i in rows:
    print("| %s | %s | %s | %s |" % (label, b[i], m[i], ratio(m[i], b[i])))
PY
