-- grantor's tables. Secrets are stored only as SHA-256 digests (C-SE-1).

CREATE TABLE grantor_clients (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    secret_digest   BLOB,
    redirect_uris   TEXT    NOT NULL, -- JSON array of strings
    grant_types     TEXT    NOT NULL, -- space-delimited grant type names
    allowed_scopes  TEXT    NOT NULL,
    default_scopes  TEXT    NOT NULL,
    owner           TEXT,
    owner_only      BOOLEAN NOT NULL,
    native          BOOLEAN NOT NULL,
    introspects_any_token BOOLEAN NOT NULL
);

-- One row per grant: its revocation flag outlives the revoked records, so that an exchange
-- racing with a revocation cannot add tokens to it. Kept until the last of its records expires.
CREATE TABLE grantor_grants (
    id          BLOB    NOT NULL PRIMARY KEY,
    revoked     BOOLEAN NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX grantor_grants_expires_at ON grantor_grants (expires_at);

CREATE TABLE grantor_codes (
    digest              BLOB    NOT NULL PRIMARY KEY,
    grant_id            BLOB    NOT NULL,
    client_id           TEXT    NOT NULL,
    owner               TEXT    NOT NULL,
    redirect_uri        TEXT    NOT NULL,
    redirect_uri_sent   BOOLEAN NOT NULL,
    scope               TEXT    NOT NULL,
    challenge_method    TEXT,
    challenge           TEXT,
    issued_at           INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    redeemed            BOOLEAN NOT NULL,
    -- How long the row is kept: the code's expiry, or after redemption its tokens' expiry,
    -- so that a late replay still revokes them.
    retain_until        INTEGER  NOT NULL
);
CREATE INDEX grantor_codes_grant_id ON grantor_codes (grant_id);
CREATE INDEX grantor_codes_retain_until ON grantor_codes (retain_until);

-- Access and refresh tokens; `kind` is 'access' or 'refresh'.
CREATE TABLE grantor_tokens (
    digest      BLOB    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    grant_id    BLOB    NOT NULL,
    client_id   TEXT    NOT NULL,
    owner       TEXT,
    scope       TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated     BOOLEAN NOT NULL
);
CREATE INDEX grantor_tokens_grant_id ON grantor_tokens (grant_id);
CREATE INDEX grantor_tokens_expires_at ON grantor_tokens (expires_at);
