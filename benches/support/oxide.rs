//! oxide-auth 0.6 doing the same protocol work as grantor, from an `http::Request` to an
//! `http::Response`: the adapter an oxide-auth frontend provides (parsing query and form body,
//! building the response), a SHA-256 client-secret policy instead of its Argon2 default, and the
//! same clients, scopes and PKCE S256 requirement.

use std::borrow::Cow;

use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, NormalizedParameter, OwnerConsent, OwnerSolicitor,
    QueryParameter, RefreshFlow, Scope, Solicitation, WebRequest, WebResponse,
};
use oxide_auth::frontends::simple::endpoint::{
    Generic, Vacant, client_credentials_flow, resource_flow,
};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{
    Client, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{APP, APP_REDIRECT, OWNER, SVC, SVC_SECRET};

/// An `http::Request` as oxide-auth sees it: query and form body parsed once, as its frontends
/// do.
pub struct Req<'a> {
    inner: &'a http::Request<Vec<u8>>,
    query: NormalizedParameter,
    body: NormalizedParameter,
}

impl<'a> Req<'a> {
    pub fn new(inner: &'a http::Request<Vec<u8>>) -> Self {
        let query = parse(inner.uri().query().unwrap_or("").as_bytes());
        let is_form = inner.headers().get(CONTENT_TYPE).is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
        let body = if is_form {
            parse(inner.body())
        } else {
            NormalizedParameter::new()
        };
        Self { inner, query, body }
    }
}

fn parse(input: &[u8]) -> NormalizedParameter {
    let mut params = NormalizedParameter::new();
    for (name, value) in url::form_urlencoded::parse(input) {
        params.insert_or_poison(
            Cow::Owned(name.into_owned()),
            Cow::Owned(value.into_owned()),
        );
    }
    params
}

/// The adapter's error (its requests never fail to read).
#[derive(Debug)]
pub enum Never {}

impl WebRequest for Req<'_> {
    type Error = Never;
    type Response = Resp;

    fn query(&mut self) -> Result<Cow<'_, dyn QueryParameter + 'static>, Never> {
        Ok(Cow::Borrowed(&self.query))
    }

    fn urlbody(&mut self) -> Result<Cow<'_, dyn QueryParameter + 'static>, Never> {
        Ok(Cow::Borrowed(&self.body))
    }

    fn authheader(&mut self) -> Result<Option<Cow<'_, str>>, Never> {
        Ok(self
            .inner
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(Cow::Borrowed))
    }
}

/// The `http::Response` oxide-auth writes into.
#[derive(Default)]
pub struct Resp(pub http::Response<Vec<u8>>);

impl Resp {
    fn header(&mut self, name: http::HeaderName, value: &str) {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.0.headers_mut().insert(name, value);
        }
    }
}

impl WebResponse for Resp {
    type Error = Never;

    fn ok(&mut self) -> Result<(), Never> {
        *self.0.status_mut() = StatusCode::OK;
        Ok(())
    }

    fn redirect(&mut self, url: url::Url) -> Result<(), Never> {
        *self.0.status_mut() = StatusCode::FOUND;
        self.header(LOCATION, url.as_str());
        Ok(())
    }

    fn client_error(&mut self) -> Result<(), Never> {
        *self.0.status_mut() = StatusCode::BAD_REQUEST;
        Ok(())
    }

    fn unauthorized(&mut self, header_value: &str) -> Result<(), Never> {
        *self.0.status_mut() = StatusCode::UNAUTHORIZED;
        self.header(WWW_AUTHENTICATE, header_value);
        Ok(())
    }

    fn body_text(&mut self, text: &str) -> Result<(), Never> {
        self.header(CONTENT_TYPE, "text/plain");
        *self.0.body_mut() = text.as_bytes().to_vec();
        Ok(())
    }

    fn body_json(&mut self, data: &str) -> Result<(), Never> {
        self.header(CONTENT_TYPE, "application/json");
        *self.0.body_mut() = data.as_bytes().to_vec();
        Ok(())
    }
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

impl<'a> OwnerSolicitor<Req<'a>> for Approve {
    fn check_consent(&mut self, _: &mut Req<'a>, solicitation: Solicitation) -> OwnerConsent<Resp> {
        let pre_grant = solicitation.pre_grant();
        if pre_grant.client_id == SVC {
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
    pub fn client_credentials(
        &mut self,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let mut solicitor = Approve;
        let mut flow = client_credentials_flow(&self.registrar, &mut self.issuer, &mut solicitor);
        match flow.execute(Req::new(request)) {
            Ok(response) => response.0,
            Err(_) => panic!("oxide-auth client credentials failed"),
        }
    }

    /// The code flow with PKCE: authorization request, approval, token exchange.
    pub fn code_flow(&mut self, authorize: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
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
            .ok()
            .expect("authorization flow")
            .execute(Req::new(authorize))
        {
            Ok(response) => response.0,
            Err(_) => panic!("oxide-auth authorization failed"),
        };
        let code = super::location_param(&redirect, "code");
        let token = super::code_token_request(&code);
        match AccessTokenFlow::prepare(&mut endpoint)
            .ok()
            .expect("access token flow")
            .execute(Req::new(&token))
        {
            Ok(response) => response.0,
            Err(_) => panic!("oxide-auth token exchange failed"),
        }
    }

    /// The refresh grant (oxide-auth's `TokenMap` rotates the refresh token).
    pub fn refresh(&mut self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let flow = RefreshFlow::prepare(Generic {
            registrar: &self.registrar,
            authorizer: Vacant,
            issuer: &mut self.issuer,
            solicitor: Vacant,
            scopes: Vacant,
            response: Vacant,
        });
        match flow.ok().expect("refresh flow").execute(Req::new(request)) {
            Ok(response) => response.0,
            Err(_) => panic!("oxide-auth refresh failed"),
        }
    }

    /// Bearer validation of a protected request requiring `read`. `true` when it is allowed.
    pub fn validate(&mut self, request: &http::Request<Vec<u8>>) -> bool {
        let mut flow = resource_flow(&mut self.issuer, &self.read);
        flow.execute(Req::new(request)).is_ok()
    }
}
