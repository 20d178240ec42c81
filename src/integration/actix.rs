//! grantor in actix-web 4 (cargo feature `actix`): [`endpoints`] mounts grantor's endpoints
//! (with `App::configure`), [`Authorized`] guards one route, [`Require`] guards a whole scope,
//! and [`Buffered`] hands your authorization endpoint the request as grantor takes it.
//!
//! actix-web 4 speaks `http` 0.2 and grantor `http` 1: the request head (method, URI, headers)
//! is converted, the body is not: [`Buffered`] reads it once into `web::Bytes` and grantor
//! reads it from there.
//!
//! ```
//! use std::sync::Arc;
//!
//! use actix_web::{App, HttpResponse, web};
//! use grantor::integration::actix::{Buffered, Require, endpoints, reply};
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
//! async fn authorize(auth: web::Data<Auth>, Buffered(request): Buffered) -> HttpResponse {
//!     match auth.authorize(&request).await {
//!         Ok(_pending) => todo!("keep it in the session; show login, then consent"),
//!         Err(error) => reply(error.into_response()),
//!     }
//! }
//!
//! async fn me(grant: Authorized<Profile>) -> String {
//!     format!("hello {:?}", grant.owner())
//! }
//!
//! async fn report(grant: web::ReqData<AccessGrant>) -> String {
//!     grant.client_id().as_str().to_owned()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth: Auth = Arc::new(Server::new(Config::builder("https://auth.example.com").build()?, MemoryStorage::new()));
//! let admin = Requirement::app().scopes("admin")?;
//! let mount = endpoints(auth.clone());
//! let app = move || {
//!     App::new()
//!         .app_data(web::Data::new(auth.clone()))
//!         .configure(mount.clone())
//!         .route("/authorize", web::get().to(authorize))
//!         .route("/api/me", web::get().to(me))
//!         .service(
//!             web::scope("/admin")
//!                 .wrap(Require::new(auth.clone(), admin.clone()))
//!                 .route("/report", web::get().to(report)),
//!         )
//! };
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Version;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use super::{Authorized, BODY_LIMIT, Endpoint, RequirementSpec, Validator, dispatch, routes};
use crate::{Requirement, Server, Storage};

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The head of an actix-web request as an `http` 1 request head (the body is not touched);
/// `None` when a part does not convert.
fn head(request: &HttpRequest) -> Option<http::request::Parts> {
    let mut converted = http::Request::new(());
    *converted.method_mut() =
        http::Method::from_bytes(request.method().as_str().as_bytes()).ok()?;
    *converted.uri_mut() = request.uri().to_string().parse().ok()?;
    *converted.version_mut() = match request.version() {
        Version::HTTP_09 => http::Version::HTTP_09,
        Version::HTTP_10 => http::Version::HTTP_10,
        Version::HTTP_2 => http::Version::HTTP_2,
        Version::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let headers = converted.headers_mut();
    headers.reserve(request.headers().len());
    for (name, value) in request.headers() {
        headers.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
            http::HeaderValue::from_bytes(value.as_bytes()).ok()?,
        );
    }
    Some(converted.into_parts().0)
}

/// grantor's response head and body as actix-web's response.
fn respond(head: &http::response::Parts, body: Vec<u8>) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(head.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, body).map_into_boxed_body();
    for (name, value) in &head.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// grantor's response as actix-web's.
pub fn reply(response: http::Response<Vec<u8>>) -> HttpResponse {
    let (head, body) = response.into_parts();
    respond(&head, body)
}

/// An extractor: the request as grantor's methods take it, its head converted to `http` 1 and
/// its body read once into `web::Bytes` (at most [`BODY_LIMIT`] and the route's
/// `web::PayloadConfig`, else `413`).
#[derive(Debug)]
pub struct Buffered(pub http::Request<web::Bytes>);

impl FromRequest for Buffered {
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self, actix_web::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let head = head(request);
        let body = web::Bytes::from_request(request, payload);
        Box::pin(async move {
            let body = body.await?;
            if body.len() > BODY_LIMIT {
                return Err(actix_web::error::ErrorPayloadTooLarge(
                    "request body too large",
                ));
            }
            let head =
                head.ok_or_else(|| actix_web::error::ErrorBadRequest("malformed request head"))?;
            Ok(Self(http::Request::from_parts(head, body)))
        })
    }
}

/// A mounting function for `App::configure` that answers grantor's endpoints for `server`, at
/// the paths of the [module rules](super#where-the-endpoints-are-mounted); it also registers
/// the server's [`Validator`] as app data, for [`Authorized`]. Bodies are read up to
/// [`BODY_LIMIT`]. The token, revocation, introspection, device authorization and pushed
/// authorization request endpoints take `POST` (other methods get `405`); the others answer
/// the methods their standard names.
///
/// actix-web builds the app once per worker: clone the function into each.
pub fn endpoints<S: Storage>(
    server: Arc<Server<S>>,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config: &mut web::ServiceConfig| {
        config.app_data(Validator::from(Arc::clone(&server)));
        for (path, endpoint) in routes(&server) {
            match endpoint {
                Endpoint::ClientConfiguration => {
                    config.service(resource(
                        &format!("{path}/{{client_id}}"),
                        Arc::clone(&server),
                        endpoint,
                    ));
                }
                Endpoint::ResourceMetadata => {
                    config.service(resource(&path, Arc::clone(&server), endpoint));
                    config.service(resource(
                        &format!("{path}/{{resource:.*}}"),
                        Arc::clone(&server),
                        endpoint,
                    ));
                }
                _ => {
                    config.service(resource(&path, Arc::clone(&server), endpoint));
                }
            }
        }
    }
}

/// The resource of one endpoint at `path`.
fn resource<S: Storage>(
    path: &str,
    server: Arc<Server<S>>,
    endpoint: Endpoint,
) -> actix_web::Resource {
    let handler = move |request: HttpRequest, Buffered(buffered): Buffered| {
        let server = Arc::clone(&server);
        async move {
            let client_id = request.match_info().get("client_id").unwrap_or("");
            reply(dispatch(&server, endpoint, &buffered, client_id).await)
        }
    };
    let resource = web::resource(path).app_data(web::PayloadConfig::new(BODY_LIMIT));
    if endpoint.post_only() {
        resource.route(web::post().to(handler))
    } else {
        resource.to(handler)
    }
}

/// Why a request to a protected route was refused: grantor's `401` or `403` with its
/// `WWW-Authenticate` challenge (or `400` for a request head that does not convert, `500` when
/// the requirement does not build or no [`Validator`] is in the app data).
pub struct Refusal {
    head: http::response::Parts,
    body: Vec<u8>,
}

impl Refusal {
    fn new(response: http::Response<Vec<u8>>) -> Self {
        let (head, body) = response.into_parts();
        Self { head, body }
    }

    fn status(status: http::StatusCode) -> Self {
        let mut response = http::Response::new(Vec::new());
        *response.status_mut() = status;
        Self::new(response)
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refusal")
            .field("status", &self.head.status)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bearer token refused ({})", self.head.status)
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.head.status.as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        respond(&self.head, self.body.clone())
    }
}

/// Checks the request head against `requirement`.
async fn check(
    validator: Option<Validator>,
    head: Option<http::request::Parts>,
    requirement: Result<Requirement, crate::ScopeError>,
) -> Result<crate::AccessGrant, Refusal> {
    let (Some(validator), Ok(requirement)) = (validator, requirement) else {
        return Err(Refusal::status(http::StatusCode::INTERNAL_SERVER_ERROR));
    };
    let head = head.ok_or_else(|| Refusal::status(http::StatusCode::BAD_REQUEST))?;
    let (_, checked) = validator.check(head, &requirement).await;
    checked.map_err(|error| Refusal::new(error.into_response()))
}

/// The server comes from the app data: [`endpoints`] registers it, or add
/// `Validator::from(server)` yourself.
impl<R: RequirementSpec> FromRequest for Authorized<R> {
    type Error = Refusal;
    type Future = LocalFuture<Result<Self, Refusal>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let validator = request.app_data::<Validator>().cloned();
        let head = head(request);
        Box::pin(async move {
            check(validator, head, R::requirement())
                .await
                .map(Authorized::new)
        })
    }
}

/// A middleware (`wrap` it around a scope) protecting every route with one [`Requirement`]: a
/// request without a token that meets it is answered with grantor's `401` or `403` and its
/// `WWW-Authenticate` challenge; otherwise the [`AccessGrant`](crate::AccessGrant) goes into
/// the request's extensions (`web::ReqData<AccessGrant>` in the handlers).
#[derive(Debug, Clone)]
pub struct Require {
    validator: Validator,
    requirement: Arc<Requirement>,
}

impl Require {
    /// Protects with `requirement`, validating with `server` (an `Arc<Server<S>>`).
    pub fn new(server: impl Into<Validator>, requirement: Requirement) -> Self {
        Self {
            validator: server.into(),
            requirement: Arc::new(requirement),
        }
    }
}

impl<Srv, B> Transform<Srv, ServiceRequest> for Require
where
    Srv: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = RequireMiddleware<Srv>;
    type InitError = ();
    type Future = Ready<Result<RequireMiddleware<Srv>, ()>>;

    fn new_transform(&self, service: Srv) -> Self::Future {
        ready(Ok(RequireMiddleware {
            service: Rc::new(service),
            require: self.clone(),
        }))
    }
}

/// The service [`Require`] wraps around a scope.
#[derive(Debug)]
pub struct RequireMiddleware<Srv> {
    service: Rc<Srv>,
    require: Require,
}

impl<Srv, B> Service<ServiceRequest> for RequireMiddleware<Srv>
where
    Srv: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = LocalFuture<Result<Self::Response, actix_web::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let validator = self.require.validator.clone();
        let requirement = Arc::clone(&self.require.requirement);
        Box::pin(async move {
            let head = head(request.request());
            let checked = match head {
                Some(head) => validator.check(head, &requirement).await.1,
                None => {
                    let refused = HttpResponse::BadRequest().finish();
                    return Ok(request.into_response(refused).map_into_right_body());
                }
            };
            match checked {
                Ok(grant) => {
                    request.extensions_mut().insert(grant);
                    Ok(service.call(request).await?.map_into_left_body())
                }
                Err(error) => {
                    let refused = reply(error.into_response());
                    Ok(request.into_response(refused).map_into_right_body())
                }
            }
        })
    }
}
