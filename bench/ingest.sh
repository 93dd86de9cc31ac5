#!/usr/bin/env bash
# Ingest benchmark against fakeforge on 127.0.0.1: 20 orgs x 500 repos at 50 ms added
# latency, default concurrency (4); per-repo details off (they need a token's budget).
#   - first refresh: wall time, requests, ratio to the ideal ceil(requests/concurrency) x latency
#   - an immediate second refresh: share answered 304, and rate-limit cost vs the first
#   - an "ordinary day" (about 5 % of repositories pushed to): the same two figures
#   - a baseline doing the job the common way (bench/naive_ingest.py), same run
#   - peak RSS of `orgpulse refresh` for 100 orgs x 1,000 repos (GNU time)
# Prints a Markdown section and files it in BENCHMARKS.md under "## Ingest" (after the
# sections already there); NO_APPEND=1 only prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
orgs_n=${ORGS:-20}; repos_n=${REPOS:-500}; latency_ms=${LATENCY_MS:-50}; concurrency=${CONCURRENCY:-4}
work=target/bench-ingest
rm -rf "$work" && mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
cargo build -q --release -p orgpulse --bin orgpulse && cargo build -q --release -p fakeforge --bin fakeforge
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_forge() { # orgs repos latency → sets forge_url, forge_orgs, forge_pid
  local port; port=$(free_port)
  target/release/fakeforge --orgs "$1" --repos "$2" --latency-ms "$3" --rate-limit 100000000 --changed-per-day 0.05 --day 30 --port "$port" > "$work/forge-$port.log" 2>&1 &
  forge_pid=$!
  for _ in $(seq 1 100); do grep -q "^fakeforge on" "$work/forge-$port.log" 2>/dev/null && break; sleep 0.1; done
  forge_url="http://127.0.0.1:$port"
  forge_orgs=$(head -1 "$work/forge-$port.log" | sed 's/.*organisations: //')
}

refresh() { # db → "seconds requests not_modified"
  local started ended line
  started=$(date +%s.%N)
  line=$(ORGPULSE_DATABASE_URL="sqlite://$1" ORGPULSE_GITHUB_API_URL=$forge_url ORGPULSE_ORGS=$forge_orgs \
    ORGPULSE_CONCURRENCY=$concurrency ORGPULSE_FETCH_LANGUAGES=false ORGPULSE_FETCH_LIBRARIES=false \
    target/release/orgpulse refresh 2>/dev/null | grep '^run ')
  ended=$(date +%s.%N)
  python3 - "$line" "$started" "$ended" <<'PY'
import re, sys
line, started, ended = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
m = re.search(r": (\d+) requests \((\d+) not modified\)", line)
print("%.3f %s %s" % (ended - started, m.group(1), m.group(2)))
PY
}

start_forge "$orgs_n" "$repos_n" "$latency_ms"
trap 'kill $forge_pid 2>/dev/null || true' EXIT
read -r t1 r1 n1 < <(refresh "$work/a.db")
read -r t2 r2 n2 < <(refresh "$work/a.db")
curl -fsS -X POST "$forge_url/_admin/day/31" >/dev/null
read -r t3 r3 n3 < <(refresh "$work/a.db")
read -r tb rb < <(python3 bench/naive_ingest.py "$forge_url" "$work/naive.db" $(echo "$forge_orgs" | tr ',' '\n' | sed 's/^github://'))
kill $forge_pid

start_forge 100 1000 0
peak_kb=$(ORGPULSE_DATABASE_URL="sqlite://$work/big.db" ORGPULSE_GITHUB_API_URL=$forge_url ORGPULSE_ORGS=$forge_orgs \
  ORGPULSE_CONCURRENCY=$concurrency ORGPULSE_FETCH_LANGUAGES=false ORGPULSE_FETCH_LIBRARIES=false \
  /usr/bin/time -v target/release/orgpulse refresh 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')
stored=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/big.db').execute('select count(*) from repos').fetchone()[0])")

python3 - "$t1" "$r1" "$n1" "$t2" "$r2" "$n2" "$t3" "$r3" "$n3" "$tb" "$rb" "$peak_kb" "$stored" "$latency_ms" "$concurrency" "$orgs_n" "$repos_n" > "$work/section.md" <<'PY'
import math, platform, subprocess, sys
(t1, r1, n1, t2, r2, n2, t3, r3, n3, tb, rb, peak_kb, stored, lat, conc, orgs, repos) = sys.argv[1:]
t1, t2, t3, tb = map(float, (t1, t2, t3, tb))
r1, n1, r2, n2, r3, n3, rb, peak_kb, stored, lat, conc = map(int, (r1, n1, r2, n2, r3, n3, rb, peak_kb, stored, lat, conc))
ideal = math.ceil(r1 / conc) * lat / 1000
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
import os, datetime
print("### Ingest — %s, %d cores (%s)\n" % (datetime.date.today(), os.cpu_count(), cpu))
print("`bench/ingest.sh`: fakeforge on 127.0.0.1, %s orgs x %s repos, %d ms added latency per answer, ORGPULSE_CONCURRENCY=%d, per-repo languages/libraries off.\n" % (orgs, repos, lat, conc))
print("| run | wall | requests | answered 304 | rate-limit cost | figure |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
print("| first refresh | %.2f s | %d | %d | %d | **%.2f×** the ideal ceil(%d/%d) x %d ms = %.2f s |" % (t1, r1, n1, r1 - n1, t1 / ideal, r1, conc, lat, ideal))
print("| unchanged, right after | %.2f s | %d | %d (**%.0f %%**) | %d (**%.0f %%** of the first) | |" % (t2, r2, n2, 100 * n2 / r2, r2 - n2, 100 * (r2 - n2) / r1))
print("| ordinary day (~5 %% of repos pushed) | %.2f s | %d | %d (%.0f %%) | %d (%.0f %% of the first) | most listing pages hold a changed repo |" % (t3, r3, n3, 100 * n3 / r3, r3 - n3, 100 * (r3 - n3) / r1))
print("| baseline: one request at a time, no validators, one upsert per row | %.2f s | %d | 0 | %d | first refresh is **%.1f×** faster |" % (tb, rb, rb, tb / t1))
print("\nPeak RSS of `orgpulse refresh` for 100 orgs x 1,000 repos (%d repositories stored): **%.0f MB** (GNU time, maximum resident set size).\n" % (stored, peak_kb / 1024))
PY
cat "$work/section.md"
if [ "${NO_APPEND:-0}" != 1 ]; then
  python3 - "$work/section.md" BENCHMARKS.md <<'PY'
import sys
section, path = open(sys.argv[1]).read().strip() + "\n", sys.argv[2]
text = open(path).read()
# Before the heading that follows "## Ingest", so each store keeps its own part.
start = text.find("\n## Ingest")
after = text.find("\n## ", start + 1) if start >= 0 else -1
if after < 0:
    text = text.rstrip("\n") + "\n\n" + section
else:
    text = text[:after].rstrip("\n") + "\n\n" + section + text[after:]
open(path, "w").write(text)
print("(filed in %s)" % path, file=sys.stderr)
PY
fi
