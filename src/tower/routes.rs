//! [`Routes`]: the API and the widget's routes as one `tower::Service`
//! over `http` requests, with no web framework.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tower::Service;
use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;

use crate::service::api::codes::ErrorCode;
use crate::service::api::http::{ApiRequest, HttpResponse};
use crate::service::captcha_service::CaptchaService;
use crate::service::widget::script::{AUDIO_ROUTE, IMAGE_ROUTE, REFRESH_ROUTE, VERIFY_ROUTE};
use crate::service::widget::template::WIDGET_JS_ROUTE;
use crate::tower::queue::Queue;
use crate::tower::refusal::{http_response as response, refusal, ClientAddr, ResponseBody};
use crate::tower::{BoxError, RouterConfig};

/// The TCP peer of a request, as a request extension: the adapter that
/// accepts connections inserts it (the client address is resolved from it
/// by [`ClientIp`](crate::tower::ClientIp)). A widget request without it
/// is refused with 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Which handler a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Api,
    Image,
    Audio,
    Refresh,
    Verify,
    WidgetJs,
}

/// What every request shares.
struct Shared {
    service: Arc<CaptchaService>,
    config: RouterConfig,
    /// The widget routes' paths under the base URL's path.
    base: String,
    queue: Queue,
}

/// The API (CaptchaQuery and CaptchaCheck by `Action`) and the widget's
/// routes as a [`tower::Service`] over [`http`]
/// requests: routing, the client-address rule, the bounded blocking
/// queue for calls that touch the store, and the JSON refusals. Cheap to
/// clone (one `Arc`). [`service`](crate::tower::service) adds the body
/// limit and the deadline around it.
#[derive(Clone)]
pub struct Routes {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("config", &self.shared.config)
            .field("base", &self.shared.base)
            .finish_non_exhaustive()
    }
}

impl Routes {
    /// The routes of `service`, configured by `config`.
    pub fn new(service: Arc<CaptchaService>, config: RouterConfig) -> Routes {
        let base = base_path(service.routes().base()).to_owned();
        let queue = Queue::new(config.blocking_permits, config.queue_timeout);
        Routes {
            shared: Arc::new(Shared {
                service,
                config,
                base,
                queue,
            }),
        }
    }

    /// The paths this service answers (the API's, then the widget's), for
    /// a framework that routes by path before it calls the service.
    #[cfg(feature = "axum")]
    pub fn paths(&self) -> Vec<String> {
        let base = &self.shared.base;
        let mut paths = vec![self.shared.config.api_path.clone()];
        for route in [
            IMAGE_ROUTE,
            AUDIO_ROUTE,
            REFRESH_ROUTE,
            VERIFY_ROUTE,
            WIDGET_JS_ROUTE,
        ] {
            paths.push(format!("{base}/{route}"));
        }
        paths
    }

    fn route(&self, path: &str) -> Option<Route> {
        if path == self.shared.config.api_path {
            return Some(Route::Api);
        }
        let rest = path.strip_prefix(self.shared.base.as_str())?;
        match rest.strip_prefix('/')? {
            IMAGE_ROUTE => Some(Route::Image),
            AUDIO_ROUTE => Some(Route::Audio),
            REFRESH_ROUTE => Some(Route::Refresh),
            VERIFY_ROUTE => Some(Route::Verify),
            WIDGET_JS_ROUTE => Some(Route::WidgetJs),
            _ => None,
        }
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

impl<B> Service<Request<B>> for Routes
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> BoxFuture {
        let route = self.route(req.uri().path());
        let shared = self.shared.clone();
        Box::pin(async move { Ok(dispatch(shared, route, req).await) })
    }
}

async fn dispatch<B>(
    app: Arc<Shared>,
    route: Option<Route>,
    req: Request<B>,
) -> Response<ResponseBody>
where
    B: HttpBody + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Some(route) = route else {
        return refusal(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "resource not found",
        );
    };
    let allowed = match route {
        Route::Api => matches!(*req.method(), Method::GET | Method::HEAD | Method::POST),
        Route::Image | Route::Audio | Route::WidgetJs => {
            matches!(*req.method(), Method::GET | Method::HEAD)
        }
        Route::Refresh | Route::Verify => req.method() == Method::POST,
    };
    if !allowed {
        return refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidParameter,
            "method not allowed",
        );
    }
    match route {
        Route::Api => api(app, req).await,
        Route::Image => rendition(&app, &req, CaptchaService::handle_image),
        Route::Audio => rendition(&app, &req, CaptchaService::handle_audio),
        Route::Refresh => widget_post(app, req, CaptchaService::handle_refresh).await,
        Route::Verify => widget_post(app, req, CaptchaService::handle_verify).await,
        Route::WidgetJs => widget_js(&app, &req),
    }
}

/// CaptchaQuery or CaptchaCheck, by `Action`, from a query string (GET) or
/// a form body (POST).
async fn api<B>(app: Arc<Shared>, req: Request<B>) -> Response<ResponseBody>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    if query_too_long(&app, &req) {
        return too_long();
    }
    let unsigned_refused = !app.config.allow_unsigned_api && !app.service.requires_signatures();
    if unsigned_refused {
        return refusal(
            StatusCode::OK,
            ErrorCode::AccessDenied,
            "this API requires v2 signatures",
        );
    }
    let method = req.method().clone();
    let host = host_of(req.headers()).to_owned();
    let params = if method == Method::POST {
        match read_form(req).await {
            Ok(body) => body,
            Err(resp) => return resp,
        }
    } else {
        req.uri().query().unwrap_or("").to_owned()
    };
    let service = app.service.clone();
    let path = app.config.api_path.clone();
    app.queue
        .run(move || {
            service.handle_api(ApiRequest {
                method: method.as_str(),
                host: &host,
                path: &path,
                params: &params,
            })
        })
        .await
}

/// The picture, or the same challenge spoken: rendered right away, on the
/// async worker (neither needs the store: their limit is counted in the
/// process; a picture takes microseconds, a clip a tenth of a
/// millisecond).
fn rendition<B>(
    app: &Shared,
    req: &Request<B>,
    handle: fn(&CaptchaService, &str, IpAddr) -> HttpResponse,
) -> Response<ResponseBody> {
    let Some(client) = client_of(app, req) else {
        return no_peer();
    };
    if query_too_long(app, req) {
        return too_long();
    }
    let query = req.uri().query().unwrap_or("");
    with_client(response(handle(&app.service, query, client)), client)
}

/// The cached widget script: one static file, no client limit.
fn widget_js<B>(app: &Shared, req: &Request<B>) -> Response<ResponseBody> {
    if query_too_long(app, req) {
        return too_long();
    }
    response(
        app.service
            .handle_widget_js(req.uri().query().unwrap_or("")),
    )
}

/// A widget POST: read the form, then run `handle` on the blocking queue.
async fn widget_post<B>(
    app: Arc<Shared>,
    req: Request<B>,
    handle: fn(&CaptchaService, &str, IpAddr) -> HttpResponse,
) -> Response<ResponseBody>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let Some(client) = client_of(&app, &req) else {
        return no_peer();
    };
    let form = match read_form(req).await {
        Ok(form) => form,
        Err(resp) => return resp,
    };
    let service = app.service.clone();
    let resp = app.queue.run(move || handle(&service, &form, client)).await;
    with_client(resp, client)
}

/// The client's address by the configured rule, from the peer the adapter
/// recorded.
fn client_of<B>(app: &Shared, req: &Request<B>) -> Option<IpAddr> {
    let PeerAddr(peer) = *req.extensions().get::<PeerAddr>()?;
    Some(app.config.client_ip.resolve(peer, req.headers()))
}

fn with_client(mut resp: Response<ResponseBody>, client: IpAddr) -> Response<ResponseBody> {
    resp.extensions_mut().insert(ClientAddr(client));
    resp
}

/// Reads a form body: `application/x-www-form-urlencoded` (or no type),
/// within the limits the service's layers set. Nothing is queued before
/// the whole body is in, so a slow client holds no permit.
async fn read_form<B>(req: Request<B>) -> Result<String, Response<ResponseBody>>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let form = ct.to_str().is_ok_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if !form {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidParameter,
                "expected Content-Type application/x-www-form-urlencoded",
            ));
        }
    }
    // The body-limit layer bounds the stream; reading past it fails here.
    let bytes: Bytes = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidParameter,
                "request body too large or unreadable",
            ))
        }
    };
    String::from_utf8(bytes.into()).map_err(|_| {
        refusal(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            "request body is not UTF-8",
        )
    })
}

/// The path part of a base URL: `https://host/captcha` -> `/captcha`.
fn base_path(base: &str) -> &str {
    match base.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => base,
    }
}

fn query_too_long<B>(app: &Shared, req: &Request<B>) -> bool {
    req.uri().query().map_or(0, str::len) > app.config.max_query_bytes
}

fn host_of(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

fn too_long() -> Response<ResponseBody> {
    refusal(
        StatusCode::URI_TOO_LONG,
        ErrorCode::InvalidParameter,
        "query string too long",
    )
}

fn no_peer() -> Response<ResponseBody> {
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "internal error",
    )
}

#[cfg(test)]
mod tests {
    use super::base_path;

    #[test]
    fn the_widget_routes_live_under_the_base_urls_path() {
        assert_eq!(base_path("/captcha"), "/captcha");
        assert_eq!(base_path("https://example.com/captcha"), "/captcha");
        assert_eq!(base_path("https://example.com"), "");
        assert_eq!(base_path(""), "");
    }
}
