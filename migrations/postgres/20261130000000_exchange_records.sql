-- The open core's storage: one table for every record exchanged for tokens (authorization
-- codes, refresh tokens, and the records of extension grants), with the grant's own data as
-- JSON; access tokens may be bound to a key; a replay cache for one-time identifiers.
-- Existing codes and refresh tokens move to the new table, so no pending code, refresh token
-- or replay tombstone is lost.

CREATE TABLE grantor_records (
    digest       BYTEA   NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    grant_id     BYTEA   NOT NULL,
    data         TEXT    NOT NULL, -- JSON: the record's data (CodeRecord, TokenRecord, …)
    expires_at   BIGINT  NOT NULL,
    spent        BOOLEAN NOT NULL,
    -- How long the row is kept, spent or not, so that a late replay is still recognised.
    retain_until BIGINT  NOT NULL
);
CREATE INDEX grantor_records_grant_id ON grantor_records (grant_id);
CREATE INDEX grantor_records_retain_until ON grantor_records (retain_until);

INSERT INTO grantor_records (digest, kind, grant_id, data, expires_at, spent, retain_until)
SELECT digest, 'authorization_code', grant_id,
    json_build_object(
        'grant', encode(grant_id, 'hex'),
        'client_id', client_id,
        'owner', owner,
        'redirect_uri', redirect_uri,
        'redirect_uri_sent', redirect_uri_sent,
        'scope', scope,
        'challenge', CASE WHEN challenge IS NULL THEN NULL
            ELSE json_build_object('method', challenge_method, 'value', challenge) END,
        'issued_at', issued_at,
        'expires_at', expires_at
    )::TEXT,
    expires_at, redeemed, GREATEST(retain_until, expires_at)
FROM grantor_codes;

INSERT INTO grantor_records (digest, kind, grant_id, data, expires_at, spent, retain_until)
SELECT digest, 'refresh_token', grant_id,
    json_build_object(
        'grant', encode(grant_id, 'hex'),
        'client_id', client_id,
        'owner', owner,
        'scope', scope,
        'issued_at', issued_at,
        'expires_at', expires_at
    )::TEXT,
    expires_at, rotated, expires_at
FROM grantor_tokens WHERE kind = 'refresh';

DROP TABLE grantor_codes;
DELETE FROM grantor_tokens WHERE kind = 'refresh';
ALTER TABLE grantor_tokens DROP COLUMN kind;
ALTER TABLE grantor_tokens DROP COLUMN rotated;
-- The key an access token is bound to (RFC 7800 `cnf`, JSON), if any.
ALTER TABLE grantor_tokens ADD COLUMN confirmation TEXT;

CREATE TABLE grantor_replays (
    key         BYTEA  NOT NULL PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX grantor_replays_expires_at ON grantor_replays (expires_at);
