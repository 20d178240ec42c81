-- Deleting a client (RFC 7592) finds its access tokens by client.
CREATE INDEX grantor_tokens_client_id ON grantor_tokens (client_id);
