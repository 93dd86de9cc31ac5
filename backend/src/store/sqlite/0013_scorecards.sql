-- OpenSSF Scorecard results per repository (a result, or "not scored"), asked weekly.
CREATE TABLE scorecards (
    forge TEXT NOT NULL,
    repo_id INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (forge, repo_id)
) WITHOUT ROWID;
