//! The API's HTTP handlers: CaptchaQuery and CaptchaCheck, and the one
//! endpoint that picks between them by `Action`. Each request's
//! parameters are parsed once, its v2 signature checked (when credentials
//! are set), then the typed call answered in the API's JSON.

use crate::service::api::codes::{self, ErrorCode};
use crate::service::api::http::{
    http_status, json_failure, ApiRequest, HttpResponse, Route, CONTENT_TYPE_JS, CONTENT_TYPE_JSON,
};
use crate::service::api::params::{parse_pairs, ParamError};
use crate::service::api::requests::{failure_callback, CaptchaCheck, CaptchaQuery, ScriptMode};
use crate::service::api::signature::{self, RequestLine, SignError};
use crate::service::captcha_service::CaptchaService;
use crate::service::errors::ServiceError;
use crate::service::metrics;
use crate::service::widget::script::callback_script;

/// A request's decoded parameter pairs.
type Pairs = [(String, String)];

impl CaptchaService {
    /// The API endpoint as the original service has it: one path, and the
    /// `Action` parameter says which call. `CaptchaQuery` and
    /// `CaptchaCheck` go to [`handle_query`](Self::handle_query) and
    /// [`handle_check`](Self::handle_check); a missing (or repeated)
    /// `Action` answers 4000 and any other 5000 (resource not found), in
    /// the API's JSON with HTTP 200.
    pub fn handle_api(&self, req: ApiRequest<'_>) -> HttpResponse {
        let pairs = match parse_pairs(req.params) {
            Ok(p) => p,
            Err(e) => return api_failure(e.into()),
        };
        let mut actions = pairs.iter().filter(|(k, _)| k == "Action");
        match (actions.next(), actions.next()) {
            (Some((_, a)), None) if a == "CaptchaQuery" => self.query(&req, &pairs),
            (Some((_, a)), None) if a == "CaptchaCheck" => self.check_call(&req, &pairs),
            (Some((_, a)), None) if !a.is_empty() => api_failure(ServiceError::UnknownAction),
            (_, None) => api_failure(ParamError::Missing("Action").into()),
            (_, Some(_)) => api_failure(ParamError::Duplicate("Action").into()),
        }
    }

    /// CaptchaQuery. Verifies the v2 signature when credentials are
    /// configured, validates the parameters and answers with the widget:
    /// `script=0` JSON `{"code":0,"message":"No Error","script":"..."}`,
    /// `script=1` the JavaScript itself. A failure answers JSON
    /// `{"code","message"}`, or, with `script=1` and a valid `callBack`,
    /// JavaScript calling `callBack({code, message})`.
    pub fn handle_query(&self, req: ApiRequest<'_>) -> HttpResponse {
        match parse_pairs(req.params) {
            Ok(pairs) => self.query(&req, &pairs),
            Err(e) => api_failure(e.into()),
        }
    }

    /// CaptchaCheck. Verifies the v2 signature when configured, validates
    /// the parameters and checks the ticket: `{"code":0,"message":"No
    /// Error"}`, or 5100 (the reason is in [`HttpResponse::error`]), or
    /// another code for a bad request.
    pub fn handle_check(&self, req: ApiRequest<'_>) -> HttpResponse {
        match parse_pairs(req.params) {
            Ok(pairs) => self.check_call(&req, &pairs),
            Err(e) => api_failure(e.into()),
        }
    }

    /// CaptchaQuery on parsed parameters.
    fn query(&self, req: &ApiRequest<'_>, pairs: &Pairs) -> HttpResponse {
        let result = self
            .signed(req, pairs, |p| {
                CaptchaQuery::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|q| Ok((q.script, self.widget(&q)?.script)));
        if result.is_ok() {
            metrics::session_started();
        }
        match result {
            Ok((ScriptMode::JavaScript, js)) => {
                HttpResponse::new(200, CONTENT_TYPE_JS, js.into_bytes())
            }
            Ok((ScriptMode::Json, js)) => {
                HttpResponse::new(200, CONTENT_TYPE_JSON, codes::query_json(&js))
            }
            Err(e) => {
                let (code, message) = (e.code(), e.public_message());
                let resp = match failure_callback(pairs.iter().map(pair_ref)) {
                    Some(cb) => HttpResponse::new(
                        http_status(Route::Api, code),
                        CONTENT_TYPE_JS,
                        callback_script(&cb, code, &message).into_bytes(),
                    ),
                    None => api_failure(e.clone()),
                };
                resp.with_error(e)
            }
        }
    }

    /// CaptchaCheck on parsed parameters.
    fn check_call(&self, req: &ApiRequest<'_>, pairs: &Pairs) -> HttpResponse {
        let result = self
            .signed(req, pairs, |p| {
                CaptchaCheck::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|c| self.check(&c).map_err(ServiceError::from));
        metrics::checked(result.as_ref().map(|_| ()));
        match result {
            Ok(_) => HttpResponse::new(
                200,
                CONTENT_TYPE_JSON,
                codes::status_json(ErrorCode::Success, ErrorCode::Success.message()),
            ),
            Err(e) => api_failure(e),
        }
    }

    /// An API call's parameters, its v2 signature checked first (when
    /// credentials are set), then parsed into request `T` by `parse`.
    fn signed<T>(
        &self,
        req: &ApiRequest<'_>,
        pairs: &Pairs,
        parse: impl FnOnce(&Pairs) -> Result<T, ParamError>,
    ) -> Result<T, ServiceError> {
        self.verify_signature(req, pairs)?;
        Ok(parse(pairs)?)
    }

    fn verify_signature(&self, req: &ApiRequest<'_>, pairs: &Pairs) -> Result<(), SignError> {
        let Some(creds) = &self.credentials else {
            return Ok(());
        };
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(pair_ref).collect();
        signature::verify_request(
            creds,
            RequestLine {
                method: req.method,
                host: req.host,
                path: req.path,
            },
            &borrowed,
            self.store.as_ref(),
            self.now(),
        )
    }
}

/// A failed API call: the code and public message in the API's JSON
/// with HTTP 200.
fn api_failure(e: ServiceError) -> HttpResponse {
    json_failure(Route::Api, e)
}

/// A parameter pair, borrowed.
fn pair_ref((k, v): &(String, String)) -> (&str, &str) {
    (k.as_str(), v.as_str())
}
