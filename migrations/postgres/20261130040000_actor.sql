-- Token exchange (RFC 8693): the party acting on the owner's behalf with a delegated access
-- token (its `act` claim), as a JSON object; NULL for every other token. Refresh tokens keep
-- theirs in their JSON data.
ALTER TABLE grantor_tokens ADD COLUMN actor TEXT;
