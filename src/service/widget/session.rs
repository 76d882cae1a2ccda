//! CaptchaQuery, typed: a new widget session, its JavaScript and the
//! first challenge the script embeds.

use crate::service::api::requests::CaptchaQuery;
use crate::service::captcha_service::CaptchaService;
use crate::service::defence::pow::Puzzle;
use crate::service::errors::ServiceError;
use crate::service::widget::script::{widget_script, WidgetParams};

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
    /// [`Limits`](crate::service::defence::limits::Limits) apply (4400).
    pub fn widget(&self, query: &CaptchaQuery) -> Result<Widget, ServiceError> {
        let binding = query.user.binding();
        self.admit_session(&binding)?;
        let issued = self.new_challenge(binding, None)?;
        let script = widget_script(WidgetParams {
            challenge: &issued.token,
            ttl_secs: issued.ttl_secs,
            routes: &self.routes,
            puzzle: &issued.puzzle,
            letters: issued.letters,
        });
        Ok(Widget {
            script,
            challenge: issued.token,
            ttl_secs: issued.ttl_secs,
            puzzle: issued.puzzle,
            letters: issued.letters,
        })
    }
}
