//! `GET {base}/widget.js`: the static widget of
//! [`WidgetDelivery::Cached`](crate::widget::WidgetDelivery::Cached), which
//! the small per-challenge script loads.

use crate::service::api::http::{HttpResponse, CONTENT_TYPE_JS};
use crate::service::captcha_service::CaptchaService;
use crate::service::widget::form::WidgetForm;

impl CaptchaService {
    /// `GET {base}/widget.js?v=<version>`: the static widget script of
    /// [`WidgetDelivery::Cached`](crate::widget::WidgetDelivery::Cached)
    /// (served whatever the delivery). The current version's URL may be
    /// cached for a year (a new widget has a new version); any other `v`
    /// gets the current script, not to be cached.
    pub fn handle_widget_js(&self, query: &str) -> HttpResponse {
        let mut resp = HttpResponse::new(
            200,
            CONTENT_TYPE_JS,
            self.widget.cached_script().as_bytes().to_vec(),
        );
        resp.cache_control = if WidgetForm::version(query).as_deref() == Some(self.widget.version())
        {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        resp
    }
}
