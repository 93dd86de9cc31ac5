#!/usr/bin/env bash
# The activity back-fill per forge, in one run against one fakeforge world on 127.0.0.1:
# one organisation whose $ACTIVE repositories (default 5,000, about four items each, so
# some 20,000 issues and pull requests) have activity, read as a GitHub organisation
# (GraphQL search, a token), a GitLab group and a Forgejo organisation. For each forge:
#   - the first refresh with activity (ORGPULSE_ACTIVITY_DAYS=90 back) against the same
#     refresh without it, on fresh databases: the activity's own requests, the items
#     stored, and those requests against ceil(items/100) (one page of 100 per request);
#   - an unchanged refresh right after, with and without activity: what activity adds.
# Languages and libraries off. Prints a Markdown section and files it in BENCHMARKS.md
# under "## Activity back-fill"; NO_APPEND=1 only prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
active=${ACTIVE:-5000}
work=target/bench-activity
rm -rf "$work" && mkdir -p "$work"
cargo build -q --release -p orgpulse --bin orgpulse && cargo build -q --release -p fakeforge --bin fakeforge
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port=$(free_port)
target/release/fakeforge --orgs 1 --repos "$active" --active-repos "$active" --rate-limit 100000000 \
  --changed-per-day 0.05 --day 30 --today --port "$port" > "$work/forge.log" 2>&1 &
forge_pid=$!
trap 'kill $forge_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^fakeforge on" "$work/forge.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
login=$(head -1 "$work/forge.log" | sed 's/.*organisations: //; s/github://g; s/,.*//')

refresh() { # forge db activity → "requests seconds"
  local started ended line
  started=$(date +%s.%N)
  line=$(ORGPULSE_DATABASE_URL="sqlite://$2" ORGPULSE_GITHUB_API_URL=$base GITHUB_TOKEN=bench-token \
    ORGPULSE_FORGES="gitlab=gitlab@$base/gitlab/api/v4,codeberg=forgejo@$base/forgejo/api/v1" \
    ORGPULSE_FETCH_ACTIVITY=$3 ORGPULSE_ACTIVITY_DAYS=90 ORGPULSE_CONCURRENCY=8 \
    ORGPULSE_FETCH_LANGUAGES=false ORGPULSE_FETCH_LIBRARIES=false \
    target/release/orgpulse refresh --org "$1:$login" 2>/dev/null | grep '^run ')
  ended=$(date +%s.%N)
  python3 - "$line" "$started" "$ended" <<'PY'
import re, sys
line, started, ended = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
m = re.search(r": (\d+) requests", line)
print(m.group(1), "%.2f" % (ended - started))
PY
}

stat() { curl -fsS "$base/_admin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'].get('$1', 0))"; }
declare -A got=()
for forge in github gitlab codeberg; do
  curl -fsS -X POST "$base/_admin/reset" >/dev/null
  got[$forge-without]=$(refresh "$forge" "$work/$forge-without.db" false)
  repo_nodes_without=$(stat "graphql repository nodes 200")
  curl -fsS -X POST "$base/_admin/reset" >/dev/null
  got[$forge-with]=$(refresh "$forge" "$work/$forge-with.db" true)
  if [ "$forge" = github ]; then
    # GitHub's activity queries by kind: searches, first responses by node, releases.
    got[github-queries]="$(stat "graphql search 200") $(stat "graphql item nodes 200") $(( $(stat "graphql repository nodes 200") - repo_nodes_without ))"
  fi
  got[$forge-again-without]=$(refresh "$forge" "$work/$forge-without.db" false)
  got[$forge-again-with]=$(refresh "$forge" "$work/$forge-with.db" true)
  got[$forge-items]=$(python3 -c "import sqlite3; c=sqlite3.connect('$work/$forge-with.db'); print(c.execute('select count(*) from activity_items').fetchone()[0], c.execute('select count(*) from activity_items where kind=\"pull_request\"').fetchone()[0], c.execute('select count(*) from releases').fetchone()[0])")
done

python3 - "$active" "${got[github-queries]}" \
  "${got[github-without]}" "${got[github-with]}" "${got[github-again-without]}" "${got[github-again-with]}" "${got[github-items]}" \
  "${got[gitlab-without]}" "${got[gitlab-with]}" "${got[gitlab-again-without]}" "${got[gitlab-again-with]}" "${got[gitlab-items]}" \
  "${got[codeberg-without]}" "${got[codeberg-with]}" "${got[codeberg-again-without]}" "${got[codeberg-again-with]}" "${got[codeberg-items]}" \
  > "$work/section.md" <<'PY'
import datetime, math, os, sys
active = int(sys.argv[1])
searches, responses, releases_q = map(int, sys.argv[2].split())
rest = sys.argv[3:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("### Activity back-fill — %s, %d cores (%s)\n" % (datetime.date.today(), os.cpu_count(), cpu))
print("`bench/activity.sh`: one fakeforge organisation on 127.0.0.1 whose %d repositories all have issues and pull requests (comments from people and bots, late first responses, a bot's dozen comments before some answers), read back 90 days (`ORGPULSE_ACTIVITY_DAYS`) as a GitHub organisation (GraphQL, a token), a GitLab group and a Forgejo organisation; no added latency, ORGPULSE_CONCURRENCY=8, languages and libraries off. Activity's requests = the refresh with activity minus the same refresh without it, on fresh databases.\n" % active)
print("| forge | items stored (pull requests) | releases | activity requests, first refresh | vs ceil(items/100) | wall: with / without | unchanged refresh: activity requests | wall: with / without |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for i, name in enumerate(["GitHub", "GitLab", "Forgejo"]):
    w, wi, aw, awi, items = rest[5 * i: 5 * i + 5]
    (r0, t0), (r1, t1), (a0, ta0), (a1, ta1) = [tuple(float(x) for x in v.split()) for v in (w, wi, aw, awi)]
    n, pulls, releases = map(int, items.split())
    pages = math.ceil(n / 100)
    print("| %s | %d (%d) | %d | %d | **%.2f×** (%d) | %.2f s / %.2f s | %d | %.2f s / %.2f s |" % (
        name, n, pulls, releases, r1 - r0, (r1 - r0) / pages, pages, t1, t0, a1 - a0, ta1, ta0))
gh_items = int(rest[4].split()[0])
print("\nGitHub's activity queries: %d searches and %d first-response queries for %d items (**%.2f×** ceil(items/100) = %d, the slices' probes included), and %d release queries (100 repositories each, for the repositories that moved)." % (
    searches, responses, gh_items, (searches + responses) / math.ceil(gh_items / 100), math.ceil(gh_items / 100), releases_q))
print("\nGitHub reads every item with its first 10 comments and reviews in the search (2 points a page), cuts a kind's span into time slices where `issueCount` passes the 1,000 results search pages to, reads the comments of items whose first ten hold no response by node id (100 a query), and releases of repositories that moved (100 a query): its figure is the 1.2× budget of the issue. GitLab and Forgejo list items 100 (Forgejo: the server's page size) a request too, but first responses cost more there: GitLab has no batched notes, so each item with comments and no stored response costs a notes request once; Forgejo reads comments per repository with activity (a page of 50 a request) and releases per repository that moved. An unchanged refresh costs one listing request per kind (plus releases of repositories active in the sync's one-hour overlap).\n")
PY
cat "$work/section.md"
if [ -z "${NO_APPEND:-}" ]; then
  python3 - "$work/section.md" <<'PY'
import sys
section = open(sys.argv[1]).read()
text = open("BENCHMARKS.md").read()
head = "## Activity back-fill"
if head not in text:
    text = text.rstrip() + "\n\n" + head + "\n\nThe activity sync's cost per forge on its first (90 days back) and an unchanged refresh (issue 25).\n\n"
start = text.index(head)
rest = text[start + len(head):]
nxt = rest.find("\n## ")
insert_at = start + len(head) + (nxt if nxt >= 0 else len(rest))
text = text[:insert_at].rstrip() + "\n\n" + section.strip() + "\n" + text[insert_at:]
open("BENCHMARKS.md", "w").write(text)
PY
fi
