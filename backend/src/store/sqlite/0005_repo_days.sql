-- Per-repository daily counts leave the snapshots' JSON `repos` column for rows of their
-- own, written only when a repository's counts change (or it stops being listed: NULL
-- counts), so a repository's history is a range of this key and a day costs a row per
-- repository that moved. See domain/history.rs for the rules.
CREATE TABLE repo_days (
    org         TEXT    NOT NULL,
    repo_id     INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    stars       INTEGER,
    forks       INTEGER,
    open_issues INTEGER,
    PRIMARY KEY (org, repo_id, day)
) WITHOUT ROWID;

-- Existing snapshots become change rows: every snapshot day x every repository the
-- organisation ever listed, kept where the counts differ from the day before (a repository
-- listed before and missing now gets a NULL row).
WITH listed AS (
    SELECT s.org, s.day, json_extract(j.value, '$.id') AS repo_id,
           json_extract(j.value, '$.stars') AS stars,
           json_extract(j.value, '$.forks') AS forks,
           json_extract(j.value, '$.open_issues') AS open_issues
    FROM snapshots s, json_each(s.repos) j
),
ever AS (SELECT DISTINCT org, repo_id FROM listed),
grid AS (
    SELECT s.org, s.day, e.repo_id, l.stars, l.forks, l.open_issues
    FROM snapshots s
    JOIN ever e ON e.org = s.org
    LEFT JOIN listed l ON l.org = s.org AND l.day = s.day AND l.repo_id = e.repo_id
),
marked AS (
    SELECT *,
           LAG(stars) OVER w AS prev_stars,
           LAG(forks) OVER w AS prev_forks,
           LAG(open_issues) OVER w AS prev_issues,
           ROW_NUMBER() OVER w AS n
    FROM grid
    WINDOW w AS (PARTITION BY org, repo_id ORDER BY day)
)
INSERT INTO repo_days (org, repo_id, day, stars, forks, open_issues)
SELECT org, repo_id, day, stars, forks, open_issues FROM marked
WHERE (n = 1 AND stars IS NOT NULL)
   OR (n > 1 AND (stars IS NOT prev_stars OR forks IS NOT prev_forks OR open_issues IS NOT prev_issues));

ALTER TABLE snapshots DROP COLUMN repos;
