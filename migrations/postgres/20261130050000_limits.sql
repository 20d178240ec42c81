-- Abuse limits (C-OB-3), shared by a fleet (`SqlLimiter`): failed attempts per key — the
-- SHA-256 of the check, the kind of key and its value, so that no username is kept in clear —
-- counted in buckets of a tenth of the window. `purge_expired` deletes the rows whose bucket
-- has left every window (`expires_at`).
CREATE TABLE grantor_limits (
    key         TEXT     NOT NULL,
    bucket      BIGINT   NOT NULL,
    failures    INTEGER  NOT NULL,
    expires_at  BIGINT   NOT NULL,
    PRIMARY KEY (key, bucket)
);
CREATE INDEX grantor_limits_expires_at ON grantor_limits (expires_at);
