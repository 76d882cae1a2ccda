//! The API's HTTP handlers: CaptchaQuery and CaptchaCheck, and the one
//! endpoint that picks between them by `Action`. Each request's
//! parameters are parsed once, its v2 signature checked (when credentials
//! are set), then the typed call answered in the API's JSON.

use crate::service::api::codes;
use crate::service::api::http::{
    http_status, json_failure, ApiRequest, HttpResponse, Route, CONTENT_TYPE_JS, CONTENT_TYPE_JSON,
};
use crate::service::api::params::{parse_pairs, Pair, ParamError};
use crate::service::api::requests::{failure_callback, CaptchaCheck, CaptchaQuery, ScriptMode};
use crate::service::api::signature::{self, Credentials, RequestLine, SignError, SignedNonce};
use crate::service::captcha_service::CaptchaService;
use crate::service::errors::ServiceError;
use crate::service::metrics;
use crate::service::store::StoreError;
use crate::service::tokens::sealed::Binding;
use crate::service::widget::script::callback_script;

/// A request's decoded parameter pairs.
type Pairs<'a> = [Pair<'a>];

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
    fn query(&self, req: &ApiRequest<'_>, pairs: &Pairs<'_>) -> HttpResponse {
        let result = self
            .signed(req, pairs, |p| {
                CaptchaQuery::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|(q, nonce)| Ok((q.script, self.new_session(&q, nonce)?.1)));
        if result.is_ok() {
            metrics::session_started();
        }
        // The widget's static part is built once; only the configuration
        // is new.
        match result {
            Ok((ScriptMode::JavaScript, config)) => HttpResponse::new(
                200,
                CONTENT_TYPE_JS,
                self.widget.script(&config).into_bytes(),
            ),
            Ok((ScriptMode::Json, config)) => {
                HttpResponse::new(200, CONTENT_TYPE_JSON, self.widget.query_json(&config))
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
    fn check_call(&self, req: &ApiRequest<'_>, pairs: &Pairs<'_>) -> HttpResponse {
        let result = self
            .signed(req, pairs, |p| {
                CaptchaCheck::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|(c, nonce)| {
                if let Some(nonce) = nonce {
                    let holder = self.holder(self.secret_scope(), &c.user.binding());
                    nonce.record(self.store.as_ref(), &holder, self.now())?;
                }
                self.check(&c).map_err(ServiceError::from)
            });
        metrics::checked(result.as_ref().map(|_| ()));
        match result {
            Ok(_) => HttpResponse::new(200, CONTENT_TYPE_JSON, codes::SUCCESS_JSON.to_vec()),
            Err(e) => api_failure(e),
        }
    }

    /// An API call's parameters, its v2 signature checked first (when
    /// credentials are set), then parsed into request `T` by `parse`; with
    /// the Nonce to record once the request is accepted (nothing is stored
    /// for a request that is then refused).
    fn signed<T>(
        &self,
        req: &ApiRequest<'_>,
        pairs: &Pairs<'_>,
        parse: impl FnOnce(&Pairs<'_>) -> Result<T, ParamError>,
    ) -> Result<(T, Option<SignedNonce>), ServiceError> {
        let nonce = self.verify_signature(req, pairs)?;
        Ok((parse(pairs)?, nonce))
    }

    /// The v2 signature's checks that need no store (`None`: the API is
    /// unsigned).
    fn verify_signature(
        &self,
        req: &ApiRequest<'_>,
        pairs: &Pairs<'_>,
    ) -> Result<Option<SignedNonce>, SignError> {
        let Some(creds) = &self.credentials else {
            return Ok(None);
        };
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(pair_ref).collect();
        let line = RequestLine {
            method: req.method,
            host: req.host,
            path: req.path,
        };
        signature::check_signature(creds, line, &borrowed, self.now()).map(Some)
    }

    /// The SecretId, the holder scope of Nonces ("" when unsigned).
    fn secret_scope(&self) -> &str {
        self.credentials.as_ref().map_or("", Credentials::secret_id)
    }

    /// Records an accepted CaptchaQuery's Nonce, held by its SecretId and
    /// the user's network; in this process's own store when the shared
    /// one is unreachable (see [`CaptchaService::on_query_store`]).
    pub(crate) fn record_nonce(
        &self,
        nonce: &SignedNonce,
        binding: &Binding,
        now: u64,
    ) -> Result<(), ServiceError> {
        let holder = self.holder(self.secret_scope(), binding);
        match nonce.record(self.store.as_ref(), &holder, now) {
            Err(SignError::Store(StoreError::Unavailable(_))) => {
                Ok(nonce.record(&self.local_rates, &holder, now)?)
            }
            other => Ok(other?),
        }
    }
}

/// A failed API call: the code and public message in the API's JSON
/// with HTTP 200.
fn api_failure(e: ServiceError) -> HttpResponse {
    json_failure(Route::Api, e)
}

/// A parameter pair, borrowed.
fn pair_ref<'p>((k, v): &'p Pair<'_>) -> (&'p str, &'p str) {
    (k, v)
}
