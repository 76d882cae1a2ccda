//! The service's answers as axum responses.

use ::axum::body::Body;
use ::axum::response::{IntoResponse, Response};

use crate::service::api::http::HttpResponse;

impl IntoResponse for HttpResponse {
    /// The status, headers and body as they are; the typed error, if any,
    /// rides along as a response extension for the host's logs
    /// (`response.extensions().get::<ServiceError>()`), never in the body.
    fn into_response(self) -> Response {
        crate::tower::http_response(self).map(Body::new)
    }
}
