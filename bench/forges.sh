#!/usr/bin/env bash
# Ingest per forge, in one run against one fakeforge world on 127.0.0.1: the same
# organisations read as GitHub organisations, GitLab groups (each with a subgroup) and
# Forgejo organisations, each through its own flavour of the fake. 10 orgs x 500 repos,
# 50 ms added latency per answer, default concurrency (4), per-repo details off.
# For each forge:
#   - first refresh: wall time and requests, against the ideal ceil(requests/concurrency) x latency
#   - an immediate second refresh: answers reused (304, or a page whose body hashes as
#     before on Forgejo), and its wall time against the first
#   - the next day (about 5 % of repositories pushed to): the same figures
# Prints a Markdown section and files it in BENCHMARKS.md under "## Ingest per forge";
# NO_APPEND=1 only prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
orgs_n=${ORGS:-10}; repos_n=${REPOS:-500}; latency_ms=${LATENCY_MS:-50}; concurrency=${CONCURRENCY:-4}
work=target/bench-forges
rm -rf "$work" && mkdir -p "$work"
cargo build -q --release -p orgpulse --bin orgpulse && cargo build -q --release -p fakeforge --bin fakeforge
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port=$(free_port)
target/release/fakeforge --orgs "$orgs_n" --repos "$repos_n" --latency-ms "$latency_ms" --rate-limit 100000000 \
  --changed-per-day 0.05 --day 30 --port "$port" > "$work/forge.log" 2>&1 &
forge_pid=$!
trap 'kill $forge_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^fakeforge on" "$work/forge.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
logins=$(head -1 "$work/forge.log" | sed 's/.*organisations: //; s/github://g')

refresh() { # forge db → "seconds requests reused"
  local forge=$1 db=$2 started ended line orgs
  orgs=$(echo "$logins" | tr ',' '\n' | sed "s/^/$forge:/" | paste -sd, -)
  started=$(date +%s.%N)
  line=$(ORGPULSE_DATABASE_URL="sqlite://$db" ORGPULSE_GITHUB_API_URL=$base \
    ORGPULSE_FORGES="gitlab=gitlab@$base/gitlab/api/v4,codeberg=forgejo@$base/forgejo/api/v1" \
    ORGPULSE_ORGS=$orgs ORGPULSE_CONCURRENCY=$concurrency ORGPULSE_FETCH_LANGUAGES=false ORGPULSE_FETCH_LIBRARIES=false \
    target/release/orgpulse refresh 2>/dev/null | grep '^run ')
  ended=$(date +%s.%N)
  python3 - "$line" "$started" "$ended" <<'PY'
import re, sys
line, started, ended = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
m = re.search(r": (\d+) requests \((\d+) not modified\)", line)
print("%.3f %s %s" % (ended - started, m.group(1), m.group(2)))
PY
}

declare -A figures
for forge in github gitlab codeberg; do
  curl -fsS -X POST "$base/_admin/day/30" >/dev/null
  figures[$forge-first]=$(refresh "$forge" "$work/$forge.db")
  figures[$forge-again]=$(refresh "$forge" "$work/$forge.db")
  curl -fsS -X POST "$base/_admin/day/31" >/dev/null
  figures[$forge-day]=$(refresh "$forge" "$work/$forge.db")
done
repos_stored=$(for forge in github gitlab codeberg; do
  python3 -c "import sqlite3; print(sqlite3.connect('$work/$forge.db').execute('select count(*) from repos').fetchone()[0])"
done | paste -sd' ' -)

python3 - "$latency_ms" "$concurrency" "$orgs_n" "$repos_n" "$repos_stored" \
  "${figures[github-first]}" "${figures[github-again]}" "${figures[github-day]}" \
  "${figures[gitlab-first]}" "${figures[gitlab-again]}" "${figures[gitlab-day]}" \
  "${figures[codeberg-first]}" "${figures[codeberg-again]}" "${figures[codeberg-day]}" > "$work/section.md" <<'PY'
import datetime, math, os, sys
lat, conc, orgs, repos = map(int, sys.argv[1:5])
stored = sys.argv[5].split()
runs = [tuple(float(x) for x in a.split()) for a in sys.argv[6:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("### Ingest per forge — %s, %d cores (%s)\n" % (datetime.date.today(), os.cpu_count(), cpu))
print("`bench/forges.sh`: one fakeforge world on 127.0.0.1 (%d orgs x %d repos) read as GitHub organisations, GitLab groups (a `libs` subgroup each, `include_subgroups=true`) and Forgejo organisations; %d ms added latency per answer, ORGPULSE_CONCURRENCY=%d, per-repo languages/libraries off. \"Reused\" = answered 304 (GitHub, GitLab) or a page whose body hashes as the stored one (Forgejo: no validators, nothing decoded or written).\n" % (orgs, repos, lat, conc))
print("| forge | repos stored | first refresh | requests | vs ideal ceil(requests/%d) x %d ms | unchanged run: requests, reused | wall vs first | next day: requests, reused | wall vs first |" % (conc, lat))
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
names = [("GitHub", "100 a page, link headers"), ("GitLab", "100 a page, x-total-pages"), ("Forgejo", "50 a page (max_response_items), X-Total-Count")]
for i, (name, paging) in enumerate(names):
    (t1, r1, _), (t2, r2, n2), (t3, r3, n3) = runs[3 * i: 3 * i + 3]
    ideal = math.ceil(r1 / conc) * lat / 1000
    print("| %s (%s) | %s | %.2f s | %d | **%.2f×** (%.2f s) | %d, %d (**%.0f %%**) | %.2f | %d, %d (%.0f %%) | %.2f |" % (
        name, paging, stored[i], t1, r1, t1 / ideal, ideal, r2, n2, 100 * n2 / r2, t2 / t1, r3, n3, 100 * n3 / r3, t3 / t1))
print("\nReused answers include each organisation's profile. On GitLab and Forgejo an unchanged run sends one request more per organisation than the first when its last page is full: a reused page carries no count there, so the page after it is read to catch growth past a page boundary (GitHub is not probed: it lists newest first by default, so growth changes its first page). Unchanged runs take about as long as first runs here because the added latency, not decoding or writing, dominates. GitLab's next day reuses no listing page: the fake, like gitlab.com, carries a volatile `container_expiration_policy.next_run_at` on some projects, so every page's ETag moves daily although nothing a user sees did (FORGE-APIS.md); GitLab charges its 304s to the rate limit (unconfirmed on gitlab.com; the fake charges them), GitHub does not. Forgejo's pages are alphabetical, so a day's changes leave some whole pages unchanged.\n")
PY
cat "$work/section.md"
if [ "${NO_APPEND:-0}" != 1 ]; then
  python3 - "$work/section.md" BENCHMARKS.md <<'PY'
import sys
section, path = open(sys.argv[1]).read().strip() + "\n", sys.argv[2]
text = open(path).read()
heading = "\n## Ingest per forge"
start = text.find(heading)
if start < 0:
    # A new part, before "## Stores" when there is one.
    stores = text.find("\n## Stores")
    intro = heading + "\n\nThe same world through each forge's flavour of fakeforge (issue 12): what a first and an\nunchanged refresh cost per forge. `bench/forges.sh` files its section here (newest last).\n\n"
    if stores < 0:
        text = text.rstrip("\n") + "\n" + intro + section
    else:
        text = text[:stores].rstrip("\n") + "\n" + intro + section + text[stores:]
else:
    after = text.find("\n## ", start + 1)
    if after < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[:after].rstrip("\n") + "\n\n" + section + text[after:]
open(path, "w").write(text)
print("(filed in %s)" % path, file=sys.stderr)
PY
fi
