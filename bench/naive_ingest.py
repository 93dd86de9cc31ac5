#!/usr/bin/env python3
"""The baseline for bench/ingest.sh: the job done the common way — one request at a time,
no conditional requests, the `next` chain walked page by page, one upsert per document in
its own transaction. Prints "<seconds> <requests>".

usage: naive_ingest.py API_URL DB_PATH ORG [ORG ...]
"""
import json
import sqlite3
import sys
import time
import urllib.request


def get(url):
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.github+json", "User-Agent": "naive"})
    with urllib.request.urlopen(request, timeout=30) as response:
        link = response.headers.get("link", "")
        return json.loads(response.read()), link


def next_url(link):
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None


def main():
    api, path, orgs = sys.argv[1], sys.argv[2], sys.argv[3:]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE IF NOT EXISTS repos (id INTEGER PRIMARY KEY, org TEXT, doc TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS orgs (login TEXT PRIMARY KEY, doc TEXT)")
    started, requests = time.monotonic(), 0
    for org in orgs:
        profile, _ = get("%s/orgs/%s" % (api, org))
        requests += 1
        db.execute("INSERT OR REPLACE INTO orgs VALUES (?, ?)", (org, json.dumps(profile)))
        url = "%s/orgs/%s/repos?per_page=100&type=public" % (api, org)
        while url:
            page, link = get(url)
            requests += 1
            for repo in page:
                db.execute("INSERT OR REPLACE INTO repos VALUES (?, ?, ?)", (repo["id"], org, json.dumps(repo)))
            url = next_url(link)
    print("%.3f %d" % (time.monotonic() - started, requests))


if __name__ == "__main__":
    main()
