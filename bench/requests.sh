#!/usr/bin/env bash
# A refresh's upstream cost before and after a change, on the same fakeforge world: the
# orgpulse of commit $BEFORE (default e57fbaf, the tree before the insight work: history
# rows, events, webhooks, attention) and the working tree's, each refreshing the same
# organisations on GitHub, GitLab and Forgejo — first refresh, an immediate second one and
# the next day — with per-repository languages and libraries on. Prints the requests and
# 304s each run's record counts (what the runs page shows), side by side. Both binaries
# talk to the working tree's fakeforge, so the world is the same bytes for both.
#
# usage: bench/requests.sh   (BEFORE=<commit> ORGS=<n> REPOS=<n> to change the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
before=${BEFORE:-e57fbaf}; orgs_n=${ORGS:-6}; repos_n=${REPOS:-300}
work=target/bench-requests
rm -rf "$work" && mkdir -p "$work"

echo "building orgpulse at $before (its own target directory) and at the working tree…" >&2
git worktree remove --force "$work/before-tree" 2>/dev/null || true
git worktree add --detach "$work/before-tree" "$before" >/dev/null 2>&1
trap 'git worktree remove --force "$work/before-tree" 2>/dev/null || true' EXIT
(cd "$work/before-tree" && cargo build -q --bin orgpulse --target-dir "$PWD/../../before-target")
cargo build -q --bin orgpulse && cargo build -q -p fakeforge --bin fakeforge

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
target/debug/fakeforge --orgs "$orgs_n" --repos "$repos_n" --rate-limit 100000000 \
  --changed-per-day 0.05 --day 30 --port "$port" > "$work/forge.log" 2>&1 &
forge_pid=$!
trap 'kill $forge_pid 2>/dev/null || true; git worktree remove --force "$work/before-tree" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^fakeforge on" "$work/forge.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
logins=$(head -1 "$work/forge.log" | sed 's/.*organisations: //; s/github://g')

refresh() { # binary forge db → "requests not_modified"
  local orgs line
  orgs=$(echo "$logins" | tr ',' '\n' | sed "s/^/$2:/" | paste -sd, -)
  line=$(ORGPULSE_DATABASE_URL="sqlite://$3" ORGPULSE_GITHUB_API_URL=$base GITHUB_TOKEN=bench-token \
    ORGPULSE_FORGES="gitlab=gitlab@$base/gitlab/api/v4,codeberg=forgejo@$base/forgejo/api/v1" \
    ORGPULSE_ORGS=$orgs ORGPULSE_FETCH_LANGUAGES=true ORGPULSE_FETCH_LIBRARIES=true \
    "$1" refresh 2>/dev/null | grep '^run ')
  python3 -c 'import re,sys; m=re.search(r": (\d+) requests \((\d+) not modified\)", sys.argv[1]); print(m.group(1), m.group(2))' "$line"
}

printf '| forge | run | requests (304s), %s | requests (304s), this tree | equal |\n| --- | --- | ---: | ---: | --- |\n' "$before"
for forge in github gitlab codeberg; do
  declare -A got=()
  for side in before after; do
    bin=target/debug/orgpulse
    [ "$side" = before ] && bin=target/before-target/debug/orgpulse
    db="$work/$forge-$side.db"
    curl -fsS -X POST "$base/_admin/day/30" >/dev/null
    got[$side-first]=$(refresh "$bin" "$forge" "$db")
    got[$side-again]=$(refresh "$bin" "$forge" "$db")
    curl -fsS -X POST "$base/_admin/day/31" >/dev/null
    got[$side-day]=$(refresh "$bin" "$forge" "$db")
  done
  for run in first again day; do
    label=$(case $run in first) echo "first refresh";; again) echo "unchanged, right after";; day) echo "the next day";; esac)
    read -r b bn <<<"${got[before-$run]}"; read -r a an <<<"${got[after-$run]}"
    same=no; [ "$b $bn" = "$a $an" ] && same=yes
    printf '| %s | %s | %s (%s) | %s (%s) | %s |\n' "$forge" "$label" "$b" "$bn" "$a" "$an" "$same"
  done
done
