-- A repository can belong to several tracked organisations at once: a GitLab project
-- belongs to its group and to every ancestor group, and any two organisations may list the
-- same repository id. Membership leaves `repos` for rows of its own, one per organisation
-- and repository, each with the organisation's own gone mark ("left this group" is not
-- "deleted"); the repository's data (and the day orgpulse first saw it) stays once in repos.
CREATE TABLE org_repos (
    org        TEXT    NOT NULL,
    forge      TEXT    NOT NULL,
    repo_id    INTEGER NOT NULL,
    gone_since TEXT,
    PRIMARY KEY (org, forge, repo_id)
) WITHOUT ROWID;
-- A purge asks whether any other organisation still lists a repository.
CREATE INDEX org_repos_by_repo ON org_repos (forge, repo_id);

INSERT INTO org_repos (org, forge, repo_id, gone_since)
SELECT org, forge, id, gone_since FROM repos;

-- The repository rows without their one organisation and gone mark; and an open-issue
-- count that may be unknown (NULL: the forge's listing did not say, as GitLab's does not
-- when issues are off), never stored as a zero.
CREATE TABLE repos_once (
    forge       TEXT    NOT NULL,
    id          INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    full_name   TEXT    NOT NULL,
    language    TEXT,
    stars       INTEGER NOT NULL,
    forks       INTEGER NOT NULL,
    open_issues INTEGER,
    pushed_at   TEXT,
    license     TEXT,
    archived    INTEGER NOT NULL,
    first_seen  TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (forge, id)
);
INSERT INTO repos_once (forge, id, name, full_name, language, stars, forks, open_issues,
                        pushed_at, license, archived, first_seen, doc)
SELECT forge, id, name, full_name, language, stars, forks, open_issues,
       pushed_at, license, archived, first_seen, doc FROM repos;
DROP TABLE repos;
ALTER TABLE repos_once RENAME TO repos;

-- Validators are kept per organisation too: two organisations fetching the same URL (a
-- shared repository's languages) each keep theirs, and a purge of one leaves the other's.
CREATE TABLE http_cache_per_org (
    org           TEXT NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    payload       TEXT NOT NULL,
    stored_at     TEXT NOT NULL,
    content_hash  TEXT,
    PRIMARY KEY (org, url)
);
INSERT INTO http_cache_per_org (org, url, etag, last_modified, payload, stored_at, content_hash)
SELECT org, url, etag, last_modified, payload, stored_at, content_hash FROM http_cache;
DROP TABLE http_cache;
ALTER TABLE http_cache_per_org RENAME TO http_cache;
