-- Reads that must not scan every item of an organisation: each author's first item (the
-- new-contributor figure asks only for a window's authors, each found by one index walk),
-- and the open items still waiting for a first response (a partial index of just those).
CREATE INDEX activity_by_author ON activity_items (forge, author, created_at);
CREATE INDEX activity_waiting ON activity_items (forge, repo_id, created_at)
    WHERE state = 'open' AND first_response_at IS NULL;
