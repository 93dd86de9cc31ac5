#!/usr/bin/env bash
# GitHub details over REST (no token: a /languages request per repository) against
# GraphQL (a token: 100 repositories a query), on the same fakeforge world: one
# organisation of $REPOS repositories (default 2,000) with $LATENCY_MS per answer (default
# 20), languages on, libraries off. For each path: the first refresh, an unchanged one
# right after, and the next day (some repositories pushed to). Prints requests, 304s,
# GraphQL points and wall time per run, and each GraphQL figure as a ratio of the REST one
# measured in the same run.
#
# Note: fakeforge answers a 100-node query as fast as a REST call; GitHub's take longer
# (about a second), so the wall-time ratio here flatters GraphQL less than the request
# ratio suggests: read the requests column as the budget, the time column as a floor.
#
# usage: bench/graphql.sh   (REPOS=<n> LATENCY_MS=<n> PROFILE=release to change the defaults;
# the default debug build is enough: wall time here is the fake's latency, not our CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
repos_n=${REPOS:-2000}; latency=${LATENCY_MS:-20}
work=target/bench-graphql
rm -rf "$work" && mkdir -p "$work"
profile=${PROFILE:-debug}
flag=""; [ "$profile" = release ] && flag=--release
cargo build -q $flag --bin orgpulse && cargo build -q $flag -p fakeforge --bin fakeforge

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
target/$profile/fakeforge --orgs 1 --repos "$repos_n" --rate-limit 100000000 --latency-ms "$latency" \
  --changed-per-day 0.05 --day 30 --port "$port" > "$work/forge.log" 2>&1 &
forge_pid=$!
trap 'kill $forge_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^fakeforge on" "$work/forge.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
login=$(head -1 "$work/forge.log" | sed 's/.*organisations: //; s/github://g; s/,.*//')

refresh() { # token db → "requests not_modified points seconds"
  local started line ended
  started=$(date +%s.%N)
  line=$(ORGPULSE_DATABASE_URL="sqlite://$2" ORGPULSE_GITHUB_API_URL=$base GITHUB_TOKEN=$1 \
    ORGPULSE_FETCH_LANGUAGES=true ORGPULSE_FETCH_LIBRARIES=false ORGPULSE_CONCURRENCY=8 \
    target/$profile/orgpulse refresh --org "github:$login" 2>/dev/null | grep '^run ')
  ended=$(date +%s.%N)
  python3 - "$line" "$2" "$started" "$ended" <<'PY'
import re, sqlite3, sys, json
line, db, started, ended = sys.argv[1:]
m = re.search(r": (\d+) requests \((\d+) not modified\)", line)
conn = sqlite3.connect(db)
doc = json.loads(conn.execute("SELECT doc FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()[0])
print(m.group(1), m.group(2), doc.get("counts", {}).get("points", 0), f"{float(ended) - float(started):.2f}")
PY
}

declare -A got=()
for path in rest graphql; do
  token=""; [ "$path" = graphql ] && token=bench-token
  db="$work/$path.db"
  curl -fsS -X POST "$base/_admin/day/30" >/dev/null
  got[$path-first]=$(refresh "$token" "$db")
  got[$path-again]=$(refresh "$token" "$db")
  curl -fsS -X POST "$base/_admin/day/31" >/dev/null
  got[$path-day]=$(refresh "$token" "$db")
done
printf '%s repositories, %s ms an answer\n\n' "$repos_n" "$latency"
printf '| run | REST: requests (304s), s | GraphQL: requests (304s), points, s | requests ratio | time ratio |\n| --- | ---: | ---: | ---: | ---: |\n'
for run in first again day; do
  label=$(case $run in first) echo "first refresh";; again) echo "unchanged, right after";; day) echo "the next day";; esac)
  read -r r rn _ rs <<<"${got[rest-$run]}"; read -r g gn gp gs <<<"${got[graphql-$run]}"
  python3 -c "import sys; r,g,rs,gs=map(float,sys.argv[1:5]); print(f'| $label | $r ($rn), $rs | $g ($gn), $gp, $gs | {g/r:.3f} | {gs/rs:.2f} |')" "$r" "$g" "$rs" "$gs"
done
