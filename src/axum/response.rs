//! The service's answers as axum responses.

use std::net::IpAddr;

use ::axum::body::Body;
use ::axum::http::{header, HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Response};

use crate::service::api::codes::{status_json, ErrorCode};
use crate::service::api::http::{HttpResponse, CONTENT_TYPE_JSON};

impl IntoResponse for HttpResponse {
    /// The status, headers and body as they are; the typed error, if any,
    /// rides along as a response extension for the host's logs
    /// (`response.extensions().get::<ServiceError>()`), never in the body.
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = self.headers();
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = status;
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::try_from(value.as_ref()) {
                resp.headers_mut().insert(name, value);
            }
        }
        if let Some(error) = self.error {
            resp.extensions_mut().insert(error);
        }
        resp
    }
}

/// The client address a request was counted against, as a response
/// extension for the host's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// A refusal by the router itself (size, deadline, method, route, load) in
/// the API's JSON shape `{"code", "message"}`.
pub(crate) fn refusal(status: StatusCode, code: ErrorCode, message: &'static str) -> Response {
    let mut resp = (status, status_json(code, message)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_JSON),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
