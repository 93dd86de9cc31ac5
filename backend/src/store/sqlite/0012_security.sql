-- Vulnerability data. OSV's advisories and its answers per package version are caches
-- shared by every organisation; findings, daily counts and check state are per
-- organisation. Records are JSON (the domain types), read whole.
CREATE TABLE osv_advisories (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE osv_packages (
    purl TEXT PRIMARY KEY,
    checked_at TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE security_findings (
    org TEXT NOT NULL,
    repo_id INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX security_findings_org ON security_findings (org, repo_id);

CREATE TABLE security_days (
    org TEXT NOT NULL,
    day TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (org, day)
) WITHOUT ROWID;

CREATE TABLE security_state (
    org TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
