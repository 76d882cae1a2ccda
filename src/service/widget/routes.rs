//! The widget's answer routes, `refresh` and `verify`: each uses up the
//! picture it names (one attempt per picture, recorded in the replay
//! store) and answers JSON the widget reads, with the session's next
//! picture or a ticket.

use std::net::IpAddr;

use serde_json::json;

use crate::render::answer::draw_word;
use crate::service::api::codes::{self, ErrorCode};
use crate::service::api::http::{json_failure, HttpResponse, Route, CONTENT_TYPE_JSON};
use crate::service::captcha_service::CaptchaService;
use crate::service::defence::admit::refuse;
use crate::service::defence::limits::LimitError;
use crate::service::defence::pow::PressureEvent;
use crate::service::defence::proof::proof_ok;
use crate::service::errors::{ChallengeError, ServiceError};
use crate::service::metrics::{self, Answered};
use crate::service::store::key::StoreKey;
use crate::service::store::RecordKind;
use crate::service::tokens::issue::Slot;
use crate::service::tokens::sealed::Challenge;
use crate::service::widget::form::WidgetForm;
use crate::service::widget::script::puzzle_value;

/// The longest answer text looked at; longer input is simply wrong.
pub const MAX_ANSWER_LEN: usize = 64;

impl CaptchaService {
    /// `POST {base}/refresh` with form `c=<challenge>`: the next picture of
    /// the session, `{"code":0,"message":"No Error","challenge":..,
    /// "ttl":..,"pow":..,"letters":..}`. It uses up the old picture. The
    /// session ends when its pictures are used up (4400,
    /// [`Limits::session_pictures`](crate::Limits::session_pictures)) or
    /// its time is over (4200); the page must then fetch new JavaScript.
    /// `client` is the client's address, for
    /// [`Limits::client_answers_per_minute`](crate::Limits::client_answers_per_minute)
    /// (a refresh uses a picture up like an answer; 429 with `Retry-After`
    /// over it, and the picture is then not used up). A field given twice
    /// answers 4000.
    pub fn handle_refresh(&self, form: &str, client: IpAddr) -> HttpResponse {
        self.refresh(form, client).unwrap_or_else(widget_error)
    }

    fn refresh(&self, form: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        let (_, challenge) = self.open_attempt(form, client)?;
        self.use_picture(&challenge)?;
        self.next_challenge_json(&challenge, ErrorCode::Success, ErrorCode::Success.message())
    }

    /// `POST {base}/verify` with form `c=<challenge>&answer=<text>`, and
    /// `&pow=<counter>` when the challenge asks for a proof of work.
    /// The proof is checked first (one derivation, see [`crate::pow`]);
    /// then the picture's one attempt is recorded in the replay store (the
    /// session's counter moves past it) and the answer compared (in
    /// constant time):
    /// - a missing or wrong proof: 5100 without a next picture, nothing
    ///   stored, the picture still answerable with its proof;
    /// - right: `{"code":0,"message":"No Error","ticket":..}`; the session
    ///   is then over (one ticket per session);
    /// - wrong: `{"code":5100,..,"challenge":<next>,"ttl":..}`;
    /// - expired: `{"code":4200,..,"challenge":<next>,"ttl":..}`;
    /// - the picture used already: 5100 without a next picture;
    /// - the session's pictures used up: HTTP 429, 4400 without a next
    ///   picture and without `retryAfter`;
    /// - session over: 4200 without a next picture;
    /// - a field (`answer`, `c`, `pow`) given twice: HTTP 400, 4000, the
    ///   picture not used up;
    /// - over
    ///   [`Limits::client_answers_per_minute`](crate::Limits::client_answers_per_minute)
    ///   for `client`: HTTP 429, `{"code":4400,..,"retryAfter":..}`, the
    ///   picture not used up.
    pub fn handle_verify(&self, form: &str, client: IpAddr) -> HttpResponse {
        self.verify(form, client).unwrap_or_else(widget_error)
    }

    fn verify(&self, form: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        let (form, challenge) = self.open_attempt(form, client)?;
        let now = self.now();
        // The proof first (one derivation, no store): a request without
        // its work stores nothing and gets no next picture.
        if !proof_ok(&form.challenge, &challenge, form.pow.as_deref()) {
            self.pressure_event(&challenge.binding, PressureEvent::Failure);
            self.charge_wrong_proof(client);
            return Err(ChallengeError::WrongProof.into());
        }
        if let Err(e) = self.use_picture(&challenge) {
            if matches!(e, ServiceError::Challenge(ChallengeError::Used)) {
                metrics::answered(Answered::Reused);
                self.pressure_event(&challenge.binding, PressureEvent::Failure);
            }
            return Err(e);
        }
        if now >= challenge.expires_at {
            metrics::answered(Answered::Expired);
            return self.next_after(&challenge, ChallengeError::Expired);
        }
        // The seed draws the word; no need to render the picture for it.
        let (_, expected) = draw_word(challenge.binding.captcha_type, challenge.seed);
        let right = form.answer.len() <= MAX_ANSWER_LEN && expected.matches(&form.answer);
        if !right {
            metrics::answered(Answered::Wrong);
            return self.next_after(&challenge, ChallengeError::WrongAnswer);
        }
        self.pressure_event(&challenge.binding, PressureEvent::Success);
        self.count_ticket(&challenge.binding, now);
        let token = self.new_ticket(challenge.binding, now)?;
        metrics::answered(Answered::Right);
        metrics::ticket_issued();
        Ok(HttpResponse::new(
            200,
            CONTENT_TYPE_JSON,
            codes::success_with("ticket", &token),
        ))
    }

    /// An attempt (refresh or verify) admitted under the client's answer
    /// limit, its form parsed and its challenge opened, while its session
    /// lasts.
    fn open_attempt<'f>(
        &self,
        form: &'f str,
        client: IpAddr,
    ) -> Result<(WidgetForm<'f>, Challenge), ServiceError> {
        self.admit_client(client, true)?;
        let form = WidgetForm::parse(form)?;
        let challenge = self.open_challenge(&form.challenge)?;
        if self.now() >= challenge.session_expires_at {
            return Err(ChallengeError::SessionOver.into());
        }
        Ok((form, challenge))
    }

    /// Uses picture `old` of its session: atomically moves the session's
    /// counter from `old.picture` to the next, or fails with
    /// [`ChallengeError::Used`] when the counter is elsewhere (this picture,
    /// or a later one, was used already; a replay changes nothing). One
    /// record per session.
    fn use_picture(&self, old: &Challenge) -> Result<(), ServiceError> {
        let moved = self.store.advance_held(
            RecordKind::Session,
            &self.holder(old.binding.business_id, &old.binding),
            &StoreKey::base64(&old.session),
            u64::from(old.picture),
            old.session_expires_at,
            self.now(),
        )?;
        if moved {
            Ok(())
        } else {
            Err(ChallengeError::Used.into())
        }
    }

    /// The next picture of `old`'s session, as the widget JSON with `code`
    /// and `message`; [`LimitError::SessionPictures`] when the session has
    /// used all its pictures, [`ChallengeError::SessionOver`] after its
    /// end.
    fn next_challenge_json(
        &self,
        old: &Challenge,
        code: ErrorCode,
        message: &str,
    ) -> Result<HttpResponse, ServiceError> {
        if self.now() >= old.session_expires_at {
            return Err(ChallengeError::SessionOver.into());
        }
        let next = old.picture.saturating_add(1);
        if next >= self.limits.session_pictures {
            return Err(refuse(LimitError::SessionPictures {
                limit: self.limits.session_pictures,
            }));
        }
        let slot = Slot {
            session: old.session,
            picture: next,
            session_expires_at: old.session_expires_at,
        };
        // The next picture keeps the session's price (or more).
        let least = self.pow.index_of(old.puzzle.level());
        let issued = self.new_challenge(old.binding.clone(), Some(slot), least)?;
        Ok(HttpResponse::json(&json!({
            "code": code.code(),
            "message": message,
            "challenge": issued.token,
            "ttl": issued.ttl_secs,
            "pow": puzzle_value(&issued.puzzle),
            "letters": issued.letters,
        })))
    }

    /// The answer to a failed attempt that the widget handles itself: the
    /// error's code and message, and the next challenge of the session.
    fn next_after(
        &self,
        old: &Challenge,
        why: ChallengeError,
    ) -> Result<HttpResponse, ServiceError> {
        if matches!(
            why,
            ChallengeError::WrongAnswer | ChallengeError::WrongProof | ChallengeError::Used
        ) {
            self.pressure_event(&old.binding, PressureEvent::Failure);
        }
        let why = ServiceError::from(why);
        self.next_challenge_json(old, why.code(), &why.public_message())
            .map(|r| r.with_error(why))
    }
}

/// A widget route's failure as JSON `{code, message}`, with `retryAfter`
/// for a per-minute limit (and `Retry-After` with the 429).
fn widget_error(e: ServiceError) -> HttpResponse {
    json_failure(Route::Widget, e)
}
