//! CaptchaQuery, typed: a new widget session, its JavaScript and the
//! first challenge the script embeds.

use crate::service::api::requests::CaptchaQuery;
use crate::service::api::signature::SignedNonce;
use crate::service::captcha_service::CaptchaService;
use crate::service::defence::pow::Puzzle;
use crate::service::errors::ServiceError;
use crate::service::tokens::issue::Issued;
use crate::service::widget::script::{config_literal, WidgetParams};

/// A widget session, as CaptchaQuery starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Widget {
    /// The JavaScript to send (CaptchaQuery's `script`).
    pub script: String,
    /// The sealed first challenge the script embeds.
    pub challenge: String,
    /// Seconds that challenge stays answerable.
    pub ttl_secs: u64,
    /// The proof of work that challenge asks for ([`Puzzle::NONE`]: none).
    pub puzzle: Puzzle,
    /// How many letters that challenge's picture shows (the widget's
    /// prompt says so).
    pub letters: usize,
}

impl CaptchaService {
    /// CaptchaQuery, typed: a new widget session for a validated query
    /// (signature checks are the HTTP handler's job): its JavaScript, and
    /// the first challenge it embeds as a value of its own. The per-userIp
    /// and per-businessId
    /// [`Limits`](crate::service::defence::limits::Limits) apply (4400),
    /// and the session is priced (see
    /// [`PowPolicy`](crate::service::defence::pow::PowPolicy)).
    pub fn widget(&self, query: &CaptchaQuery) -> Result<Widget, ServiceError> {
        let (issued, config) = self.new_session(query, None)?;
        Ok(Widget {
            script: self.widget.script(&config),
            challenge: issued.token,
            ttl_secs: issued.ttl_secs,
            puzzle: issued.puzzle,
            letters: issued.letters,
        })
    }

    /// A new widget session's first challenge, and the widget's
    /// configuration for it (a JavaScript literal). A signed request's
    /// Nonce is recorded once the limits let the request in, before the
    /// session is priced and sealed.
    pub(crate) fn new_session(
        &self,
        query: &CaptchaQuery,
        nonce: Option<SignedNonce>,
    ) -> Result<(Issued, String), ServiceError> {
        let binding = query.user.binding();
        let now = self.now();
        let over_budget = self.admit_session(&binding, now)?;
        if let Some(nonce) = nonce {
            self.record_nonce(&nonce, &binding, now)?;
        }
        let least = self.session_price(&binding, over_budget, now);
        let issued = self.new_challenge(binding, None, least)?;
        let config = config_literal(&WidgetParams {
            challenge: &issued.token,
            ttl_secs: issued.ttl_secs,
            puzzle: &issued.puzzle,
            letters: issued.letters,
        });
        Ok((issued, config))
    }
}
