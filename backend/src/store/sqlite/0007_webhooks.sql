-- Where each webhook endpoint is in the change feed, per organisation: the seq of the
-- last event it was sent. Deliveries themselves are kept on their run.
CREATE TABLE webhook_cursors (
    hook TEXT NOT NULL,
    org  TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (hook, org)
) WITHOUT ROWID;
