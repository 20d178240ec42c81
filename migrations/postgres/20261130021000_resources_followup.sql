-- Deleting a client (RFC 7592) finds its access tokens by client.
CREATE INDEX grantor_tokens_client_id ON grantor_tokens (client_id);

-- The resources (RFC 8707) a remembered consent is for, as a JSON array; NULL: none.
ALTER TABLE grantor_consents ADD COLUMN resources TEXT;
