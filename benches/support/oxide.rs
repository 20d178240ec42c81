//! oxide-auth 0.6 set up as its own documentation does: its simple frontend's owning
//! `Request` (query and form body as `HashMap`s, the `Authorization` header as a string) built
//! directly, its simple `Response` read directly, `ClientMap` with a cheap (SHA-256) secret
//! policy instead of its Argon2 default, `AuthMap`/`TokenMap` over `RandomGenerator`, and the
//! same clients, scopes and PKCE S256 requirement as grantor's side. No `http` types and no
//! form parsing: an oxide-auth user whose frontend already has the parameters pays neither.

use std::collections::HashMap;

use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, OwnerConsent, OwnerSolicitor, RefreshFlow, Scope,
    Solicitation, WebRequest,
};
use oxide_auth::frontends::simple::endpoint::{
    Generic, Vacant, client_credentials_flow, resource_flow,
};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{Body, Request, Response};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{
    Client, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{APP, APP_REDIRECT, OWNER, SVC, SVC_SECRET, VERIFIER, svc_basic};

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The client credentials request: `grant_type=client_credentials&scope=read`, HTTP Basic.
pub fn client_credentials_request() -> Request {
    Request {
        urlbody: map(&[("grant_type", "client_credentials"), ("scope", "read")]),
        auth: Some(svc_basic()),
        ..Request::default()
    }
}

/// The public client's authorization request with its PKCE S256 challenge (the query as a
/// frontend decodes it).
pub fn authorization_request() -> Request {
    let challenge = grantor::CodeChallenge::s256(VERIFIER);
    Request {
        query: map(&[
            ("response_type", "code"),
            ("client_id", APP),
            ("redirect_uri", APP_REDIRECT),
            ("scope", "read"),
            ("state", "xyz"),
            ("code_challenge", challenge.value()),
            ("code_challenge_method", "S256"),
        ]),
        ..Request::default()
    }
}

/// The token request redeeming `code`: a frontend's decoded form body, built per request.
pub fn code_token_request(code: &str) -> Request {
    Request {
        urlbody: map(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", APP),
            ("code_verifier", VERIFIER),
        ]),
        ..Request::default()
    }
}

/// The public client's refresh request, built per request.
pub fn refresh_request(refresh_token: &str) -> Request {
    Request {
        urlbody: map(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", APP),
        ]),
        ..Request::default()
    }
}

/// A protected request carrying `token`.
pub fn protected_request(token: &str) -> Request {
    Request {
        auth: Some(format!("Bearer {token}")),
        ..Request::default()
    }
}

/// The JSON body of a token response (oxide-auth writes it as a string).
pub fn body(response: &Response) -> &[u8] {
    response.body.as_ref().map_or(&[], |b| match b {
        Body::Json(s) | Body::Text(s) => s.as_bytes(),
    })
}

/// Whether the response is `200 OK`.
pub fn is_ok(response: &Response) -> bool {
    response.status == oxide_auth::frontends::simple::request::Status::Ok
}

/// Client secrets stored as SHA-256 digests and compared in constant time, as grantor does
/// (oxide-auth's default policy is Argon2).
pub struct Sha256Policy;

impl PasswordPolicy for Sha256Policy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        Sha256::digest(passphrase).to_vec()
    }

    fn check(
        &self,
        _client_id: &str,
        passphrase: &[u8],
        stored: &[u8],
    ) -> Result<(), RegistrarError> {
        if bool::from(Sha256::digest(passphrase).as_slice().ct_eq(stored)) {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

/// The owner's decision: approve every request as [`OWNER`] (the "approve" step), or, for client
/// credentials, as the client itself.
pub struct Approve;

impl<W: WebRequest> OwnerSolicitor<W> for Approve {
    fn check_consent(
        &mut self,
        _: &mut W,
        solicitation: Solicitation,
    ) -> OwnerConsent<W::Response> {
        if solicitation.pre_grant().client_id == SVC {
            OwnerConsent::Authorized(SVC.to_owned())
        } else {
            OwnerConsent::Authorized(OWNER.to_owned())
        }
    }
}

/// oxide-auth's in-memory primitives, with the same two clients as grantor.
pub struct Oxide {
    pub registrar: ClientMap,
    pub authorizer: AuthMap<RandomGenerator>,
    pub issuer: TokenMap<RandomGenerator>,
    pub read: Vec<Scope>,
}

impl Oxide {
    /// New primitives, with the password policy `policy` (`None`: oxide-auth's Argon2 default).
    pub fn new(policy: Option<Sha256Policy>) -> Self {
        let mut registrar = ClientMap::new();
        if let Some(policy) = policy {
            registrar.set_password_policy(policy);
        }
        let scope: Scope = "read".parse().expect("valid scope");
        registrar.register_client(Client::confidential(
            SVC,
            RegisteredUrl::Semantic("https://svc.example/cb".parse().expect("valid url")),
            scope.clone(),
            SVC_SECRET.as_bytes(),
        ));
        registrar.register_client(Client::public(
            APP,
            RegisteredUrl::Semantic(APP_REDIRECT.parse().expect("valid url")),
            scope.clone(),
        ));
        let mut oxide = Self {
            registrar,
            authorizer: AuthMap::new(RandomGenerator::new(32)),
            issuer: TokenMap::new(RandomGenerator::new(32)),
            read: vec![scope],
        };
        oxide.reset();
        oxide
    }

    /// Forgets every code and token issued so far (the benches' memory bound).
    pub fn reset(&mut self) {
        // 32 random bytes per secret, as grantor mints.
        self.authorizer = AuthMap::new(RandomGenerator::new(32));
        self.issuer = TokenMap::new(RandomGenerator::new(32));
    }

    /// The client credentials grant.
    pub fn client_credentials(&mut self, request: &mut Request) -> Response {
        let mut solicitor = Approve;
        let mut flow = client_credentials_flow(&self.registrar, &mut self.issuer, &mut solicitor);
        match flow.execute(request) {
            Ok(response) => response,
            Err(_) => panic!("oxide-auth client credentials failed"),
        }
    }

    /// The code flow with PKCE: authorization request, approval, the client reading the code
    /// from the redirect and building its token request, token exchange.
    pub fn code_flow(&mut self, authorize: &mut Request) -> Response {
        let mut addons = AddonList::new();
        addons.push_code(Pkce::required());
        let mut endpoint = Extended::extend_with(
            Generic {
                registrar: &self.registrar,
                authorizer: &mut self.authorizer,
                issuer: &mut self.issuer,
                solicitor: Approve,
                scopes: Vacant,
                response: Vacant,
            },
            addons,
        );
        let redirect = match AuthorizationFlow::prepare(&mut endpoint)
            .expect("authorization flow")
            .execute(authorize)
        {
            Ok(response) => response,
            Err(_) => panic!("oxide-auth authorization failed"),
        };
        let location = redirect.location.as_ref().expect("a redirect");
        // The client decodes the code from the redirect's query.
        let code = location
            .query_pairs()
            .find_map(|(name, value)| (name == "code").then_some(value))
            .expect("a code");
        let mut token = code_token_request(&code);
        match AccessTokenFlow::prepare(&mut endpoint)
            .expect("access token flow")
            .execute(&mut token)
        {
            Ok(response) => response,
            Err(_) => panic!("oxide-auth token exchange failed"),
        }
    }

    /// The refresh grant (oxide-auth's `TokenMap` rotates the refresh token).
    pub fn refresh(&mut self, request: &mut Request) -> Response {
        let flow = RefreshFlow::prepare(Generic {
            registrar: &self.registrar,
            authorizer: Vacant,
            issuer: &mut self.issuer,
            solicitor: Vacant,
            scopes: Vacant,
            response: Vacant,
        });
        match flow.expect("refresh flow").execute(request) {
            Ok(response) => response,
            Err(_) => panic!("oxide-auth refresh failed"),
        }
    }

    /// Bearer validation of a protected request requiring `read`. `true` when it is allowed.
    pub fn validate(&mut self, request: &mut Request) -> bool {
        let mut flow = resource_flow(&mut self.issuer, &self.read);
        flow.execute(request).is_ok()
    }

    /// A fresh refresh token, from a code flow.
    pub fn refresh_token(&mut self) -> String {
        let response = self.code_flow(&mut authorization_request());
        assert!(is_ok(&response), "{:?}", response);
        super::json_field(body(&response), "refresh_token")
    }
}
