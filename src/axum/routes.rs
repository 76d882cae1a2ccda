//! The routes: the API and the widget's three, on a [`Router`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ::axum::body::to_bytes;
use ::axum::extract::{ConnectInfo, Request, State};
use ::axum::http::{header, HeaderMap, Method, StatusCode};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{get, post};
use ::axum::Router;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::axum::response::{refusal, ClientAddr};
use crate::axum::RouterConfig;
use crate::service::api::codes::ErrorCode;
use crate::service::api::http::{ApiRequest, HttpResponse};
use crate::service::captcha_service::CaptchaService;
use crate::service::widget::script::{AUDIO_ROUTE, IMAGE_ROUTE, REFRESH_ROUTE, VERIFY_ROUTE};

/// What every handler shares.
struct Shared {
    service: Arc<CaptchaService>,
    config: RouterConfig,
    /// Permits of the blocking pool for calls that touch the store.
    permits: Arc<Semaphore>,
}

type AppState = Arc<Shared>;

/// The API and the widget's routes for `service`, configured by `config`.
///
/// The widget's routes are mounted under the path of the service's base
/// URL (`/captcha` for `https://example.com/captcha`). The router needs
/// the peer address: serve it with [`crate::axum::serve`], or with
/// `axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())`.
/// Merge it into your own router, or nest your routes in it, as usual.
pub fn router(service: Arc<CaptchaService>, config: RouterConfig) -> Router {
    let base = base_path(service.routes().base()).to_owned();
    let api_path = config.api_path.clone();
    let limits = (
        RequestBodyLimitLayer::new(config.max_body_bytes),
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout),
    );
    let state = Arc::new(Shared {
        permits: Arc::new(Semaphore::new(config.blocking_permits)),
        service,
        config,
    });
    Router::new()
        .route(&api_path, get(api).post(api))
        .route(&format!("{base}/{IMAGE_ROUTE}"), get(image))
        .route(&format!("{base}/{AUDIO_ROUTE}"), get(audio))
        .route(&format!("{base}/{REFRESH_ROUTE}"), post(refresh))
        .route(&format!("{base}/{VERIFY_ROUTE}"), post(verify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(limits)
        .with_state(state)
}

/// The path part of a base URL: `https://host/captcha` -> `/captcha`.
fn base_path(base: &str) -> &str {
    match base.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => base,
    }
}

/// CaptchaQuery or CaptchaCheck, by `Action`, from a query string (GET) or
/// a form body (POST).
async fn api(State(app): State<AppState>, req: Request) -> Response {
    let limit = app.config.max_query_bytes;
    if req.uri().query().map_or(0, str::len) > limit {
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
    run_blocking(&app, move |service, config| {
        service.handle_api(ApiRequest {
            method: method.as_str(),
            host: &host,
            path: &config.api_path,
            params: &params,
        })
    })
    .await
}

/// The picture, or the same challenge spoken: rendered right away, on the
/// async worker (neither needs the store: their limit is counted in the
/// process; a picture takes microseconds, a clip a tenth of a
/// millisecond).
async fn image(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    rendition(&app, peer, &req, CaptchaService::handle_image)
}

async fn audio(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    rendition(&app, peer, &req, CaptchaService::handle_audio)
}

fn rendition(
    app: &Shared,
    peer: SocketAddr,
    req: &Request,
    handle: fn(&CaptchaService, &str, IpAddr) -> HttpResponse,
) -> Response {
    let client = app.config.client_ip.resolve(peer, req.headers());
    let query = req.uri().query().unwrap_or("");
    if query.len() > app.config.max_query_bytes {
        return too_long();
    }
    let mut resp = handle(&app.service, query, client).into_response();
    resp.extensions_mut().insert(ClientAddr(client));
    resp
}

async fn refresh(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    widget_post(app, peer, req, |service, form, client| {
        service.handle_refresh(form, client)
    })
    .await
}

async fn verify(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    widget_post(app, peer, req, |service, form, client| {
        service.handle_verify(form, client)
    })
    .await
}

/// A widget POST: read the form, then run `handle` on the blocking pool.
async fn widget_post(
    app: AppState,
    peer: SocketAddr,
    req: Request,
    handle: fn(&CaptchaService, &str, IpAddr) -> HttpResponse,
) -> Response {
    let client = app.config.client_ip.resolve(peer, req.headers());
    let form = match read_form(req).await {
        Ok(form) => form,
        Err(resp) => return resp,
    };
    let mut resp = run_blocking(&app, move |service, _| handle(service, &form, client)).await;
    resp.extensions_mut().insert(ClientAddr(client));
    resp
}

/// Reads a form body: `application/x-www-form-urlencoded` (or no type),
/// within the limits the router's layers set. Nothing is queued before the
/// whole body is in, so a slow client holds no permit.
async fn read_form(req: Request) -> Result<String, Response> {
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
    let bytes = to_bytes(req.into_body(), usize::MAX).await.map_err(|_| {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidParameter,
            "request body too large or unreadable",
        )
    })?;
    String::from_utf8(bytes.into()).map_err(|_| {
        refusal(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            "request body is not UTF-8",
        )
    })
}

/// Runs a store-touching call on the blocking pool, at most
/// `blocking_permits` at once; a call that waits longer than
/// `queue_timeout` for its turn is refused (503, code 6000), so that a slow
/// store turns into quick refusals, not into a queue that grows forever.
async fn run_blocking<F>(app: &AppState, call: F) -> Response
where
    F: FnOnce(&CaptchaService, &RouterConfig) -> HttpResponse + Send + 'static,
{
    let turn = app.permits.clone().acquire_owned();
    let permit = match tokio::time::timeout(app.config.queue_timeout, turn).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "server busy, try again",
            )
        }
    };
    let app = app.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        call(&app.service, &app.config)
    });
    match task.await {
        Ok(resp) => resp.into_response(),
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        ),
    }
}

fn host_of(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

fn too_long() -> Response {
    refusal(
        StatusCode::URI_TOO_LONG,
        ErrorCode::InvalidParameter,
        "query string too long",
    )
}

async fn not_found() -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "resource not found",
    )
}

async fn method_not_allowed() -> Response {
    refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidParameter,
        "method not allowed",
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
