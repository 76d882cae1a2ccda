//! The service's answers as `http` responses, and the refusals of the
//! routes themselves (size, deadline, method, route, load) in the API's
//! JSON shape `{"code", "message"}`.

use std::net::IpAddr;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::service::api::codes::{status_json, ErrorCode};
use crate::service::api::http::{HttpResponse, CONTENT_TYPE_JSON};
use crate::tower::BoxError;

/// The body of every response: bytes, boxed so that the layers around
/// the routes keep one type.
pub type ResponseBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// The client address a request was counted against, as a response
/// extension for the host's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// `bytes` as a response body.
pub(crate) fn body(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The service's answer as an `http` response, as it is: status,
/// headers and body; the typed error, if any, rides along as a response
/// extension for the host's logs
/// (`response.extensions().get::<ServiceError>()`), never in the body.
pub fn http_response(resp: HttpResponse) -> Response<ResponseBody> {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers();
    let mut out = Response::new(body(resp.body));
    *out.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::try_from(value.as_ref()) {
            out.headers_mut().insert(name, value);
        }
    }
    if let Some(error) = resp.error {
        out.extensions_mut().insert(error);
    }
    out
}

/// A refusal by the routes themselves in the API's JSON shape.
pub(crate) fn refusal(
    status: StatusCode,
    code: ErrorCode,
    message: &'static str,
) -> Response<ResponseBody> {
    let mut resp = Response::new(body(status_json(code, message)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_JSON),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
