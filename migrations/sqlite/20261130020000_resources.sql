-- Resource indicators (RFC 8707): the resources an access token is for (its `aud`), as a JSON
-- array of resource identifiers; NULL when it has none. Codes and refresh tokens keep theirs in
-- their JSON data.
ALTER TABLE grantor_tokens ADD COLUMN resources TEXT;
