//! The widget's media routes: the picture and the spoken clip of a
//! challenge, rendered from its sealed seed (stateless: any node with the
//! key ring can serve them). Errors answer a status and plain text, since
//! an `<img>` or `<audio>` reads no body.

use std::net::IpAddr;

use crate::audio::generate_audio;
use crate::service::api::http::{
    http_status, HttpResponse, Route, CONTENT_TYPE_PNG, CONTENT_TYPE_TEXT, CONTENT_TYPE_WAV,
};
use crate::service::captcha_service::CaptchaService;
use crate::service::defence::proof::proof_ok;
use crate::service::errors::{ChallengeError, ServiceError};
use crate::service::metrics;
use crate::service::tokens::sealed::Challenge;
use crate::service::widget::form::WidgetForm;
use crate::service::widget::pictures;

impl CaptchaService {
    /// `GET {base}/image?c=<challenge>[&s=1|2|3]`: the PNG of the
    /// challenge, rendered from its sealed seed (stateless: any node with
    /// the key ring can serve it), at `s` times 130x53 (the widget asks for
    /// its display size and the screen's density). `client` is the
    /// client's address, for
    /// [`Limits::client_pictures_per_minute`](crate::Limits::client_pictures_per_minute)
    /// (counted in this process, never in the shared store). 400
    /// for a bad token or scale, 410 once expired, 429 (with
    /// `Retry-After`) over the limit.
    pub fn handle_image(&self, query: &str, client: IpAddr) -> HttpResponse {
        self.image(query, client).unwrap_or_else(media_error)
    }

    fn image(&self, query: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        let (form, challenge) = self.open_media(query, client)?;
        let scale = form.scale()?;
        self.unexpired(&challenge)?;
        let png = pictures::render(challenge.binding.captcha_type, challenge.seed, scale)?;
        metrics::picture_served(challenge.binding.captcha_type);
        Ok(HttpResponse::new(200, CONTENT_TYPE_PNG, png))
    }

    /// `GET {base}/audio?c=<challenge>`: the same challenge spoken, a WAV
    /// rendered from the sealed seed like the picture, with the picture's
    /// answer. Listening takes no attempt: the challenge's one attempt is
    /// its answer, whether read or heard. `client` is the client's
    /// address: a clip counts as a picture for
    /// [`Limits::client_pictures_per_minute`](crate::Limits::client_pictures_per_minute).
    /// 400 for a bad token, 410 once expired, 429 (with `Retry-After`)
    /// over the limit.
    pub fn handle_audio(&self, query: &str, client: IpAddr) -> HttpResponse {
        self.audio(query, client).unwrap_or_else(media_error)
    }

    fn audio(&self, query: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        let (form, challenge) = self.open_media(query, client)?;
        self.unexpired(&challenge)?;
        // A clip costs ten times a picture to render and is what a speech
        // recogniser attacks: it asks for the same proof as the answer
        // (checked, not spent: the attempt is the answer's).
        if !proof_ok(&form.challenge, &challenge, form.pow.as_deref()) {
            return Err(ChallengeError::WrongProof.into());
        }
        let clip = generate_audio(challenge.binding.captcha_type, challenge.seed)?;
        Ok(HttpResponse::new(200, CONTENT_TYPE_WAV, clip.into_wav()))
    }

    /// A media request admitted under the picture limit, its query parsed
    /// and its challenge opened.
    fn open_media<'q>(
        &self,
        query: &'q str,
        client: IpAddr,
    ) -> Result<(WidgetForm<'q>, Challenge), ServiceError> {
        self.admit_client(client, false)?;
        let form = WidgetForm::parse(query)?;
        let challenge = self.open_challenge(&form.challenge)?;
        Ok((form, challenge))
    }

    /// [`ChallengeError::Expired`] once the challenge is past its answer
    /// deadline: no picture or clip of it is served then.
    fn unexpired(&self, challenge: &Challenge) -> Result<(), ServiceError> {
        if self.now() >= challenge.expires_at {
            return Err(ChallengeError::Expired.into());
        }
        Ok(())
    }
}

/// A media route's failure: its HTTP status and the public message as
/// text, the typed error kept for the host's logs.
fn media_error(e: ServiceError) -> HttpResponse {
    let status = http_status(Route::Picture, e.code());
    HttpResponse::new(status, CONTENT_TYPE_TEXT, e.public_message().into_bytes()).with_error(e)
}
