-- OpenID Connect and remembered consent: the client registration fields beyond RFC 6749's
-- (response types, ID-token algorithm, pairwise sector…) as one JSON column, so later fields
-- need no migration; the OpenID context of access tokens (when and how the owner
-- authenticated, the claims asked for); signing keys shared by a fleet; remembered consent and
-- the grants it started.

ALTER TABLE grantor_clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

ALTER TABLE grantor_tokens ADD COLUMN openid TEXT; -- JSON, when the grant is OpenID Connect's

CREATE TABLE grantor_keys (
    kid           TEXT    NOT NULL PRIMARY KEY,
    alg           TEXT    NOT NULL,
    private_jwk   TEXT    NOT NULL, -- the key pair as a JWK (a host may encrypt it at rest)
    published_at  INTEGER  NOT NULL,
    signs_from    INTEGER  NOT NULL,
    retires_at    INTEGER,
    removed_at    INTEGER
);

CREATE TABLE grantor_consents (
    owner       TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    granted_at  INTEGER  NOT NULL,
    expires_at  INTEGER,
    PRIMARY KEY (owner, client_id)
);
CREATE INDEX grantor_consents_expires_at ON grantor_consents (expires_at);

-- The grants each owner–client pair started, so that revoking the pair's consent revokes them;
-- a row lives as long as its grant's row in grantor_grants.
CREATE TABLE grantor_consent_grants (
    owner       TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    grant_id    BLOB   NOT NULL,
    PRIMARY KEY (owner, client_id, grant_id)
);
CREATE INDEX grantor_consent_grants_grant_id ON grantor_consent_grants (grant_id);
