//! grantor in axum 0.8 (cargo feature `axum`): [`endpoints`] mounts grantor's endpoints,
//! [`Authorized`] guards one route, [`RequireLayer`] guards a whole router, and [`Buffered`]
//! hands your authorization endpoint the request as grantor takes it.
//!
//! ```
//! use std::sync::Arc;
//!
//! use axum::{Extension, Json, Router, routing::get};
//! use grantor::integration::axum::{Buffered, RequireLayer, endpoints, reply};
//! use grantor::integration::{Authorized, RequirementSpec};
//! use grantor::{AccessGrant, Config, MemoryStorage, Requirement, ScopeError, Server};
//!
//! type Auth = Arc<Server<MemoryStorage>>;
//!
//! struct Profile;
//! impl RequirementSpec for Profile {
//!     fn requirement() -> Result<Requirement, ScopeError> {
//!         Requirement::user().scopes("profile")
//!     }
//! }
//!
//! async fn authorize(axum::extract::State(auth): axum::extract::State<Auth>, Buffered(request): Buffered) -> axum::response::Response {
//!     match auth.authorize(&request).await {
//!         Ok(_pending) => todo!("keep it in the session; show login, then consent"),
//!         Err(error) => reply(error.into_response()),
//!     }
//! }
//!
//! async fn me(grant: Authorized<Profile>) -> Json<Option<String>> {
//!     Json(grant.owner().map(|owner| owner.as_str().to_owned()))
//! }
//!
//! async fn report(Extension(grant): Extension<AccessGrant>) -> String {
//!     grant.client_id().as_str().to_owned()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth: Auth = Arc::new(Server::new(Config::builder("https://auth.example.com").build()?, MemoryStorage::new()));
//! let admin = Router::new()
//!     .route("/admin/report", get(report))
//!     .layer(RequireLayer::new(auth.clone(), Requirement::app().scopes("admin")?));
//! let app: Router = Router::new()
//!     .route("/authorize", get(authorize).post(authorize))
//!     .route("/api/me", get(me))
//!     .merge(admin)
//!     .merge(endpoints(auth.clone()))
//!     .with_state(auth);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, post};
use http::StatusCode;
use http::request::Parts;
use tower::{Layer, Service};

use super::{Authorized, BODY_LIMIT, Endpoint, RequirementSpec, Validator, dispatch, routes};
use crate::{BoxFuture, Requirement, Server, Storage};

/// An extractor: the request with its body read into memory (at most [`BODY_LIMIT`], else
/// `413`), as grantor's methods take it.
#[derive(Debug)]
pub struct Buffered(pub http::Request<Bytes>);

impl<St: Send + Sync> FromRequest<St> for Buffered {
    type Rejection = Response;

    async fn from_request(request: Request, _: &St) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        Ok(Self(http::Request::from_parts(parts, bytes)))
    }
}

/// grantor's response as axum's.
pub fn reply(response: http::Response<Vec<u8>>) -> Response {
    response.map(Body::from)
}

/// A router answering grantor's endpoints for `server`, at the paths of the
/// [module rules](super#where-the-endpoints-are-mounted); merge it into your app's router.
/// Bodies are read up to [`BODY_LIMIT`]. The token, revocation, introspection, device
/// authorization and pushed authorization request endpoints take `POST` (other methods get
/// `405`); the others answer the methods their standard names.
pub fn endpoints<S, St>(server: Arc<Server<S>>) -> Router<St>
where
    S: Storage,
    St: Clone + Send + Sync + 'static,
{
    let mut router = Router::new();
    for (path, endpoint) in routes(&server) {
        match endpoint {
            Endpoint::ClientConfiguration => {
                let server = Arc::clone(&server);
                let handler = move |Path(client_id): Path<String>, Buffered(request): Buffered| {
                    let server = Arc::clone(&server);
                    async move { reply(dispatch(&server, endpoint, &request, &client_id).await) }
                };
                router = router.route(&format!("{path}/{{client_id}}"), any(handler));
            }
            Endpoint::ResourceMetadata => {
                let method = route(Arc::clone(&server), endpoint);
                router = router
                    .route(&path, method.clone())
                    .route(&format!("{path}/{{*resource}}"), method);
            }
            _ => router = router.route(&path, route(Arc::clone(&server), endpoint)),
        }
    }
    router
}

/// The method router of one endpoint.
fn route<S: Storage, St: Clone + Send + Sync + 'static>(
    server: Arc<Server<S>>,
    endpoint: Endpoint,
) -> MethodRouter<St> {
    let handler = move |Buffered(request): Buffered| {
        let server = Arc::clone(&server);
        async move { reply(dispatch(&server, endpoint, &request, "").await) }
    };
    if endpoint.post_only() {
        post(handler)
    } else {
        any(handler)
    }
}

impl<S: Storage> FromRef<Arc<Server<S>>> for Validator {
    fn from_ref(server: &Arc<Server<S>>) -> Self {
        Self::from(Arc::clone(server))
    }
}

/// The route's state gives the server: as `Arc<Server<S>>` itself, or through your own
/// `FromRef` impl for [`Validator`].
impl<St, R> FromRequestParts<St> for Authorized<R>
where
    St: Send + Sync,
    Validator: FromRef<St>,
    R: RequirementSpec,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Response> {
        let Ok(requirement) = R::requirement() else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let validator = Validator::from_ref(state);
        let head = std::mem::replace(parts, http::Request::new(()).into_parts().0);
        let (head, checked) = validator.check(head, &requirement).await;
        *parts = head;
        checked
            .map(Authorized::new)
            .map_err(|error| reply(error.into_response()))
    }
}

/// A [`tower::Layer`] protecting every route of a router with one [`Requirement`]: a request
/// without a token that meets it is answered with grantor's `401` or `403` and its
/// `WWW-Authenticate` challenge; otherwise the [`AccessGrant`](crate::AccessGrant) goes into
/// the request's extensions (`axum::Extension<AccessGrant>` in the handlers).
#[derive(Debug, Clone)]
pub struct RequireLayer {
    validator: Validator,
    requirement: Arc<Requirement>,
}

impl RequireLayer {
    /// Protects with `requirement`, validating with `server` (an `Arc<Server<S>>`).
    pub fn new(server: impl Into<Validator>, requirement: Requirement) -> Self {
        Self {
            validator: server.into(),
            requirement: Arc::new(requirement),
        }
    }
}

impl<I> Layer<I> for RequireLayer {
    type Service = Require<I>;

    fn layer(&self, inner: I) -> Require<I> {
        Require {
            inner,
            validator: self.validator.clone(),
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service [`RequireLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct Require<I> {
    inner: I,
    validator: Validator,
    requirement: Arc<Requirement>,
}

impl<I, B> Service<http::Request<B>> for Require<I>
where
    I: Service<http::Request<B>, Response = Response> + Clone + Send + 'static,
    I::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = I::Error;
    type Future = BoxFuture<'static, Result<Response, I::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), I::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone is not ready; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.validator.clone();
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let (mut parts, checked) = validator.check(parts, &requirement).await;
            match checked {
                Ok(grant) => {
                    parts.extensions.insert(grant);
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(error) => Ok(reply(error.into_response())),
            }
        })
    }
}
