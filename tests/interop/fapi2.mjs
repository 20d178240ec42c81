// A FAPI 2.0 client built on panva's oauth4webapi, a strict OAuth 2.0 / OpenID Connect client
// that nobody in this project wrote. Driven by tests/axum_server/fapi.rs against the example
// server with the FAPI 2.0 profile on:
//
//   discovery → PAR (private_key_jwt, DPoP proof binding the code, PKCE S256) → the
//   authorization URL is printed as one JSON line; the test logs the user in and consents, then
//   writes the callback URL on stdin → the response is validated (iss, state) → code exchange
//   (private_key_jwt, DPoP, PKCE) → refresh (DPoP) → a DPoP-protected API call.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_KEY (the client's private JWK, ES256), REDIRECT_URI,
// API_URL. Each step prints one JSON line; a failure prints {"error": …} and exits with 1.
import * as readline from 'node:readline';
import * as oauth from 'oauth4webapi';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
// The example server runs on http://127.0.0.1 in the test: allowed explicitly, per request.
const insecure = { [oauth.allowInsecureRequests]: true };

// Retries once when the server asks for a DPoP nonce (RFC 9449 §8): the DPoP handle keeps the
// nonce it was sent, and the second proof carries it.
async function withNonceRetry(send, process) {
  try {
    return await process(await send());
  } catch (error) {
    if (oauth.isDPoPNonceError(error)) return process(await send());
    throw error;
  }
}

async function main() {
  const issuer = new URL(env('ISSUER'));
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }),
  );
  if (!as.require_pushed_authorization_requests) throw new Error('PAR is not required by the metadata');
  const client = { client_id: env('CLIENT_ID'), id_token_signed_response_alg: 'ES256' };
  const jwk = JSON.parse(env('CLIENT_KEY'));
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const clientAuth = oauth.PrivateKeyJwt({ key, kid: jwk.kid });
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
  const redirectUri = env('REDIRECT_URI');

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const parameters = new URLSearchParams({
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid profile offline_access',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const pushed = await withNonceRetry(
    () => oauth.pushedAuthorizationRequest(as, client, clientAuth, parameters, { ...insecure, DPoP }),
    (response) => oauth.processPushedAuthorizationResponse(as, client, response),
  );
  const authorize = new URL(as.authorization_endpoint);
  authorize.searchParams.set('client_id', client.client_id);
  authorize.searchParams.set('request_uri', pushed.request_uri);
  say({ step: 'par', request_uri: pushed.request_uri, expires_in: pushed.expires_in, authorize: authorize.href });

  const lines = readline.createInterface({ input: process.stdin });
  const callback = new URL((await lines[Symbol.asyncIterator]().next()).value);
  lines.close();
  const params = oauth.validateAuthResponse(as, client, callback, state);

  const tokens = await withNonceRetry(
    () => oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, { ...insecure, DPoP }),
    (response) => oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true }),
  );
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  say({ step: 'code', token_type: tokens.token_type, sub: claims.sub, has_refresh_token: Boolean(tokens.refresh_token) });

  const refreshed = await withNonceRetry(
    () => oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, { ...insecure, DPoP }),
    (response) => oauth.processRefreshTokenResponse(as, client, response),
  );
  say({ step: 'refresh', token_type: refreshed.token_type, rotated: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== tokens.refresh_token });

  // protectedResourceRequest throws on a 401 challenge, so a nonce demand is retried too.
  const api = await withNonceRetry(
    () => oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL(env('API_URL')), undefined, undefined, { ...insecure, DPoP }),
    async (response) => ({ status: response.status, body: await response.json() }),
  );
  // Without the DPoP key, the same token is refused: sent as a bearer token.
  const stolen = await fetch(env('API_URL'), { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  say({ step: 'api', status: api.status, body: api.body, as_bearer: stolen.status, challenge: stolen.headers.get('www-authenticate') });
}

main().then(
  () => process.exit(0),
  (error) => {
    say({ error: String(error?.message ?? error), code: error?.code, cause: error?.cause ?? null });
    process.exit(1);
  },
);
