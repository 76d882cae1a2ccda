//! Sealed challenges and tickets, the keys that seal them, and the ticket
//! check.
//!
//! A **challenge** is what the widget shows: it holds the seed and type of
//! one picture, its issue and expiry times and the binding (userIp,
//! businessId, captchaType, uid, sceneId) of the CaptchaQuery that created
//! it. A **ticket** is what a right answer yields: the same binding, its own
//! expiry and how often it may be checked.
//!
//! Both travel through the browser as opaque tokens: AES-256-GCM-SIV
//! (RustCrypto `aes-gcm-siv`, AES-NI and CLMUL when the CPU has them)
//! ciphertexts under a key of the [`KeyRing`], base64 URL-safe without
//! padding. Layout of the decoded bytes:
//!
//! | bytes | content |
//! |---|---|
//! | 1 | format version: 4 for challenges, 2 for tickets (older versions were sealed with XChaCha20-Poly1305, or lacked the puzzle or the session: refused as [`TokenError::Outdated`]) |
//! | 1 | kind: 1 challenge, 2 ticket |
//! | 4 | key id, big endian |
//! | 12 | random nonce |
//! | rest | sealed payload and 16-byte tag |
//!
//! Why AES-256-GCM-SIV: it is nonce-misuse resistant (RFC 8452), so random
//! 96-bit nonces stay safe however many tokens one key seals (a repeated
//! nonce would only show that two payloads are equal, and every payload
//! holds a fresh random id or seed), and with this toolchain it seals and
//! opens a token about four times faster than XChaCha20-Poly1305, whose
//! AVX2 backends call their intrinsics out of line (see
//! `docs/performance.md`).
//!
//! The associated data is a per-kind domain string followed by the first
//! six bytes, so a challenge never opens as a ticket (or the other way
//! round) and the key id cannot be changed. The client learns nothing from
//! a token: not the seed, not the answer.

use std::net::IpAddr;

use aes_gcm_siv::aead::AeadInPlace;
use aes_gcm_siv::{Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::render::CaptchaType;
use crate::service::defence::pow::Puzzle;
use crate::service::tokens::keys::KeyRing;
use crate::service::tokens::random::{os_random, RandomError};

/// The longest token string accepted (anything longer is malformed).
pub const MAX_TOKEN_LEN: usize = 2048;
/// The most bytes a token of [`MAX_TOKEN_LEN`] characters decodes to.
const MAX_RAW_LEN: usize = MAX_TOKEN_LEN / 4 * 3;
/// The longest `uid` a binding holds, in bytes.
pub const MAX_UID_LEN: usize = 128;
/// How far in the future a token's issue time may lie, in seconds, before
/// it is refused: the clock difference tolerated between the nodes that
/// share a key ring. A token from further ahead was sealed by a node whose
/// clock is wrong (or with a stolen key), and would outlive its lifetime
/// everywhere else.
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// Challenge version 4: sealed with AES-256-GCM-SIV (3 and before with
/// XChaCha20-Poly1305; 3 named its widget session and picture number,
/// version 1 had a challenge id of its own, 2 added the proof of work).
const CHALLENGE_VERSION: u8 = 4;
/// Ticket version 2 (1 was sealed with XChaCha20-Poly1305).
const TICKET_VERSION: u8 = 2;
const HEADER_LEN: usize = 1 + 1 + 4;
/// The random nonce of a token (96 bits, AES-GCM-SIV's).
pub(crate) const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const DOMAIN_CHALLENGE: &[u8] = b"qcaptcha/v1/challenge\0";
const DOMAIN_TICKET: &[u8] = b"qcaptcha/v1/ticket\0";

/// Which of the two token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// A challenge (picture to solve).
    Challenge,
    /// A ticket (proof of a solved challenge).
    Ticket,
}

impl TokenKind {
    fn byte(self) -> u8 {
        match self {
            TokenKind::Challenge => 1,
            TokenKind::Ticket => 2,
        }
    }

    fn version(self) -> u8 {
        match self {
            TokenKind::Challenge => CHALLENGE_VERSION,
            TokenKind::Ticket => TICKET_VERSION,
        }
    }

    fn domain(self) -> &'static [u8] {
        match self {
            TokenKind::Challenge => DOMAIN_CHALLENGE,
            TokenKind::Ticket => DOMAIN_TICKET,
        }
    }
}

/// Why a token could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token of this kind: bad base64, too short or long, unknown
    /// version or kind, or a payload that does not decode.
    #[error("malformed token")]
    Malformed,
    /// A token of an older format (a challenge sealed before challenges
    /// carried a proof-of-work puzzle): the page must fetch a new widget.
    #[error("token of an older format (version {0})")]
    Outdated(u8),
    /// The token names a key id that the key ring does not hold (never
    /// issued here, or retired).
    #[error("token sealed with unknown key id {0}")]
    UnknownKey(u32),
    /// Authentication failed: the token was altered or not sealed by this
    /// key ring.
    #[error("token authentication failed")]
    Forged,
    /// A value to seal is out of bounds (for example a uid longer than
    /// 128 bytes).
    #[error("value too large to seal: {0}")]
    TooLarge(&'static str),
    /// The OS random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Random(String),
    /// No key with this id is in the ring.
    #[error("key id {0} is not in the key ring")]
    UnknownId(u32),
}

/// Sealing and opening tokens of each kind with the ring's keys.
impl KeyRing {
    /// Seals `plaintext` as a token of `kind` under the current key, with
    /// `nonce` (random: drawn by the caller with the request's other
    /// random bytes, in one call to the OS).
    fn seal(
        &self,
        kind: TokenKind,
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, TokenError> {
        let key_id = self.current_key_id();
        let cipher = self.cipher(key_id).ok_or(TokenError::UnknownKey(key_id))?;
        let len = HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN;
        if len > MAX_RAW_LEN {
            return Err(TokenError::TooLarge("payload"));
        }
        // Header, nonce, payload and tag in one buffer on the stack,
        // encrypted in place.
        let mut raw = [0u8; MAX_RAW_LEN];
        raw[0] = kind.version();
        raw[1] = kind.byte();
        raw[2..HEADER_LEN].copy_from_slice(&key_id.to_be_bytes());
        let (head, body) = raw.split_at_mut(HEADER_LEN + NONCE_LEN);
        head[HEADER_LEN..].copy_from_slice(&nonce);
        let (payload, tail) = body.split_at_mut(plaintext.len());
        payload.copy_from_slice(plaintext);
        let aad = AssociatedData::new(kind, &head[..HEADER_LEN]);
        let tag = cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&head[HEADER_LEN..]),
                aad.as_slice(),
                payload,
            )
            .map_err(|_| TokenError::TooLarge("payload"))?;
        tail[..TAG_LEN].copy_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(&raw[..len]))
    }

    /// Opens a token of `kind` and hands its payload to `read`, which
    /// must read all of it.
    fn open<T>(
        &self,
        kind: TokenKind,
        token: &str,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut buf = [0u8; MAX_RAW_LEN];
        let len = URL_SAFE_NO_PAD
            .decode_slice(token.as_bytes(), &mut buf)
            .map_err(|_| TokenError::Malformed)?;
        let raw = &mut buf[..len];
        if raw.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || raw[1] != kind.byte() {
            return Err(TokenError::Malformed);
        }
        if raw[0] != kind.version() {
            return Err(if raw[0] >= 1 && raw[0] < kind.version() {
                TokenError::Outdated(raw[0])
            } else {
                TokenError::Malformed
            });
        }
        let key_id = u32::from_be_bytes([raw[2], raw[3], raw[4], raw[5]]);
        let cipher = self.cipher(key_id).ok_or(TokenError::UnknownKey(key_id))?;
        let (head, body) = raw.split_at_mut(HEADER_LEN + NONCE_LEN);
        let aad = AssociatedData::new(kind, &head[..HEADER_LEN]);
        let (payload, tag) = body.split_at_mut(body.len() - TAG_LEN);
        // Decrypted in place; the tag is checked in constant time first.
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&head[HEADER_LEN..]),
                aad.as_slice(),
                payload,
                Tag::from_slice(tag),
            )
            .map_err(|_| TokenError::Forged)?;
        let mut r = Reader(payload);
        let out = read(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    /// Seals a challenge into a URL-safe token.
    pub fn seal_challenge(&self, challenge: &Challenge) -> Result<String, TokenError> {
        self.seal_challenge_with(challenge, random_nonce()?)
    }

    /// Seals a challenge with a random `nonce` the caller drew.
    pub(crate) fn seal_challenge_with(
        &self,
        challenge: &Challenge,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, TokenError> {
        let mut w = Writer::default();
        w.bytes(&challenge.session);
        w.u32(challenge.picture);
        w.u64(challenge.seed);
        w.u64(challenge.issued_at);
        w.u64(challenge.expires_at);
        w.u64(challenge.session_expires_at);
        challenge.binding.write(&mut w)?;
        challenge
            .puzzle
            .level()
            .validate()
            .map_err(|_| TokenError::TooLarge("puzzle"))?;
        w.u8(challenge.puzzle.bits);
        w.u32(challenge.puzzle.iterations);
        w.bytes(&challenge.puzzle.salt);
        self.seal(TokenKind::Challenge, &w.0, nonce)
    }

    /// Opens a challenge token. For the server (and tests, and admin tools)
    /// only: the result holds the seed, from which the answer follows.
    pub fn open_challenge(&self, token: &str) -> Result<Challenge, TokenError> {
        self.open(TokenKind::Challenge, token, |r| {
            Ok(Challenge {
                session: r.array()?,
                picture: r.u32()?,
                seed: r.u64()?,
                issued_at: r.u64()?,
                expires_at: r.u64()?,
                session_expires_at: r.u64()?,
                binding: Binding::read(r)?,
                puzzle: {
                    let (bits, iterations) = (r.u8()?, r.u32()?);
                    let puzzle = Puzzle::new(bits, iterations, r.array()?);
                    puzzle
                        .level()
                        .validate()
                        .map_err(|_| TokenError::Malformed)?;
                    puzzle
                },
            })
        })
    }

    /// Seals a ticket into a URL-safe token.
    pub fn seal_ticket(&self, ticket: &Ticket) -> Result<String, TokenError> {
        self.seal_ticket_with(ticket, random_nonce()?)
    }

    /// Seals a ticket with a random `nonce` the caller drew.
    pub(crate) fn seal_ticket_with(
        &self,
        ticket: &Ticket,
        nonce: [u8; NONCE_LEN],
    ) -> Result<String, TokenError> {
        let mut w = Writer::default();
        w.bytes(&ticket.id);
        w.u64(ticket.issued_at);
        w.u64(ticket.expires_at);
        w.u8(ticket.max_uses);
        ticket.binding.write(&mut w)?;
        self.seal(TokenKind::Ticket, &w.0, nonce)
    }

    /// Opens a ticket token (authenticity only: expiry, binding and use
    /// count are checked by [`crate::CaptchaService::check_ticket`]).
    pub fn open_ticket(&self, token: &str) -> Result<Ticket, TokenError> {
        self.open(TokenKind::Ticket, token, |r| {
            Ok(Ticket {
                id: r.array()?,
                issued_at: r.u64()?,
                expires_at: r.u64()?,
                max_uses: r.u8()?,
                binding: Binding::read(r)?,
            })
        })
    }
}

/// The associated data of a token: its kind's domain string and its
/// header, on the stack.
struct AssociatedData {
    bytes: [u8; 32],
    len: usize,
}

impl AssociatedData {
    fn new(kind: TokenKind, header: &[u8]) -> AssociatedData {
        let (domain, mut bytes) = (kind.domain(), [0u8; 32]);
        let len = domain.len() + header.len();
        bytes[..domain.len()].copy_from_slice(domain);
        bytes[domain.len()..len].copy_from_slice(header);
        AssociatedData { bytes, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What a challenge and its ticket are bound to: the CaptchaQuery fields
/// that CaptchaCheck must repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The user's IP (`userIp`), compared in canonical form (an IPv4-mapped
    /// IPv6 address equals its IPv4 address).
    pub user_ip: IpAddr,
    /// `businessId`.
    pub business_id: u64,
    /// `captchaType`, also the type of the picture.
    pub captcha_type: CaptchaType,
    /// `uid`, if given (an empty uid counts as absent).
    pub uid: Option<String>,
    /// `sceneId`, if given.
    pub scene_id: Option<u64>,
}

/// A field of a [`Binding`], named in a [`crate::CheckFailure::Mismatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingField {
    /// `userIp`.
    UserIp,
    /// `businessId`.
    BusinessId,
    /// `captchaType`.
    CaptchaType,
    /// `uid`.
    Uid,
    /// `sceneId`.
    SceneId,
}

impl BindingField {
    /// The wire name of the field.
    pub fn name(self) -> &'static str {
        match self {
            BindingField::UserIp => "userIp",
            BindingField::BusinessId => "businessId",
            BindingField::CaptchaType => "captchaType",
            BindingField::Uid => "uid",
            BindingField::SceneId => "sceneId",
        }
    }
}

impl Binding {
    /// The first field in which `self` differs from `other`, if any.
    pub fn mismatch(&self, other: &Binding) -> Option<BindingField> {
        if self.user_ip.to_canonical() != other.user_ip.to_canonical() {
            Some(BindingField::UserIp)
        } else if self.business_id != other.business_id {
            Some(BindingField::BusinessId)
        } else if self.captcha_type != other.captcha_type {
            Some(BindingField::CaptchaType)
        } else if normalize(&self.uid) != normalize(&other.uid) {
            Some(BindingField::Uid)
        } else if self.scene_id != other.scene_id {
            Some(BindingField::SceneId)
        } else {
            None
        }
    }

    fn write(&self, w: &mut Writer) -> Result<(), TokenError> {
        match self.user_ip.to_canonical() {
            IpAddr::V4(v4) => {
                w.u8(4);
                w.bytes(&v4.octets());
            }
            IpAddr::V6(v6) => {
                w.u8(6);
                w.bytes(&v6.octets());
            }
        }
        w.u64(self.business_id);
        w.u8(self.captcha_type.code());
        let uid = normalize(&self.uid).unwrap_or("");
        if uid.len() > MAX_UID_LEN {
            return Err(TokenError::TooLarge("uid"));
        }
        w.u8(uid.len() as u8);
        w.bytes(uid.as_bytes());
        match self.scene_id {
            Some(s) => {
                w.u8(1);
                w.u64(s);
            }
            None => w.u8(0),
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Binding, TokenError> {
        let user_ip = match r.u8()? {
            4 => IpAddr::from(r.array::<4>()?),
            6 => IpAddr::from(r.array::<16>()?),
            _ => return Err(TokenError::Malformed),
        };
        let business_id = r.u64()?;
        let captcha_type = CaptchaType::try_from(r.u8()?).map_err(|_| TokenError::Malformed)?;
        let uid_len = usize::from(r.u8()?);
        let uid = std::str::from_utf8(r.take(uid_len)?)
            .map_err(|_| TokenError::Malformed)?
            .to_owned();
        let scene_id = match r.u8()? {
            0 => None,
            1 => Some(r.u64()?),
            _ => return Err(TokenError::Malformed),
        };
        Ok(Binding {
            user_ip,
            business_id,
            captcha_type,
            uid: if uid.is_empty() { None } else { Some(uid) },
            scene_id,
        })
    }
}

fn normalize(uid: &Option<String>) -> Option<&str> {
    uid.as_deref().filter(|u| !u.is_empty())
}

/// The content of a challenge token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// The widget session (one CaptchaQuery), random. The replay store
    /// keeps one counter per session: how many of its pictures were used.
    pub session: [u8; 16],
    /// This picture's number in its session, from 0 (the picture
    /// CaptchaQuery hands out). It can be answered or refreshed only while
    /// the session's counter equals it, which makes it one attempt per
    /// picture with one record per session.
    pub picture: u32,
    /// The picture seed for [`crate::generate`].
    pub seed: u64,
    /// Issue time, Unix seconds.
    pub issued_at: u64,
    /// Answer deadline, Unix seconds.
    pub expires_at: u64,
    /// Deadline for refreshing (fixed at the CaptchaQuery: every page view
    /// must fetch fresh JavaScript after it), Unix seconds.
    pub session_expires_at: u64,
    /// The CaptchaQuery fields the ticket will be bound to; its
    /// `captcha_type` is the picture type.
    pub binding: Binding,
    /// The proof of work this challenge asks for ([`Puzzle::NONE`]: none).
    pub puzzle: Puzzle,
}

impl Challenge {
    /// The replay-store id of this challenge's session (a
    /// [`RecordKind::Session`](crate::store::RecordKind::Session) record).
    pub fn session_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.session)
    }
}

/// The content of a ticket token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ticket {
    /// Random id; the replay store counts checks under it.
    pub id: [u8; 16],
    /// Issue time, Unix seconds.
    pub issued_at: u64,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
    /// How many successful checks it allows.
    pub max_uses: u8,
    /// Must equal the fields given to CaptchaCheck.
    pub binding: Binding,
}

impl Ticket {
    /// The replay-store id of this ticket (a
    /// [`RecordKind::Ticket`](crate::store::RecordKind::Ticket) record).
    pub fn store_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.id)
    }
}

struct Writer(Vec<u8>);

impl Default for Writer {
    /// Room for any challenge or ticket without growing (the longest, with
    /// a 128-byte uid, is under 256 bytes).
    fn default() -> Self {
        Writer(Vec::with_capacity(256))
    }
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, TokenError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, TokenError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, TokenError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn finish(&self) -> Result<(), TokenError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(TokenError::Malformed)
        }
    }
}

/// A fresh random nonce from the OS CSPRNG.
fn random_nonce() -> Result<[u8; NONCE_LEN], TokenError> {
    let mut nonce = [0u8; NONCE_LEN];
    os_random(&mut nonce)?;
    Ok(nonce)
}

impl From<RandomError> for TokenError {
    fn from(e: RandomError) -> Self {
        TokenError::Random(e.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn binding() -> Binding {
        Binding {
            user_ip: "121.14.96.121".parse().unwrap(),
            business_id: 1,
            captcha_type: CaptchaType::Interference5,
            uid: Some("user-1".into()),
            scene_id: Some(7),
        }
    }

    pub(crate) fn challenge() -> Challenge {
        Challenge {
            session: [9; 16],
            picture: 3,
            seed: 0xdead_beef,
            issued_at: 1000,
            expires_at: 1300,
            session_expires_at: 2800,
            binding: binding(),
            puzzle: Puzzle::new(9, 500, [5; 16]),
        }
    }

    pub(crate) fn ticket(max_uses: u8) -> Ticket {
        Ticket {
            id: [3; 16],
            issued_at: 1000,
            expires_at: 1300,
            max_uses,
            binding: binding(),
        }
    }

    #[test]
    fn challenge_and_ticket_round_trip() {
        let ring = KeyRing::new(7, [1; 32]);
        let c = challenge();
        let token = ring.seal_challenge(&c).unwrap();
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(ring.open_challenge(&token).unwrap(), c);
        let t = ticket(1);
        assert_eq!(ring.open_ticket(&ring.seal_ticket(&t).unwrap()).unwrap(), t);
        // Two seals of the same content differ (random nonce).
        assert_ne!(token, ring.seal_challenge(&c).unwrap());
    }

    #[test]
    fn kinds_are_separated() {
        let ring = KeyRing::new(7, [1; 32]);
        let c = ring.seal_challenge(&challenge()).unwrap();
        assert_eq!(ring.open_ticket(&c), Err(TokenError::Malformed));
        // Even with the kind byte rewritten, the domain in the associated
        // data keeps a challenge from opening as a ticket.
        let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        raw[0] = TokenKind::Ticket.version();
        raw[1] = TokenKind::Ticket.byte();
        let relabelled = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_ticket(&relabelled), Err(TokenError::Forged));
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let ring = KeyRing::new(7, [1; 32]);
        let token = ring.seal_ticket(&ticket(1)).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = raw.clone();
                bad[i] ^= bit;
                let bad = URL_SAFE_NO_PAD.encode(&bad);
                assert!(ring.open_ticket(&bad).is_err(), "byte {i} bit {bit:#x}");
            }
        }
        // Truncation and extension too.
        assert!(ring.open_ticket(&token[..token.len() - 1]).is_err());
        assert!(ring.open_ticket(&format!("{token}A")).is_err());
        assert!(ring.open_ticket("").is_err());
        assert!(ring.open_ticket("!!!").is_err());
        assert_eq!(
            ring.open_ticket(&"A".repeat(MAX_TOKEN_LEN + 4)),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn old_format_challenges_are_refused_typed() {
        let ring = KeyRing::new(7, [1; 32]);
        // A version-1 challenge (before puzzles), sealed as it was then.
        let mut w = Writer::default();
        let c = challenge();
        w.bytes(&c.session); // version 1 had a 16-byte id here
        for v in [c.seed, c.issued_at, c.expires_at, c.session_expires_at] {
            w.u64(v);
        }
        c.binding.write(&mut w).unwrap();
        let mut raw = URL_SAFE_NO_PAD
            .decode(
                ring.seal(TokenKind::Challenge, &w.0, [3; NONCE_LEN])
                    .unwrap(),
            )
            .unwrap();
        raw[0] = 1; // the header as version 1 wrote it (not authentic now,
                    // but the version is read before the tag)
        let old = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_challenge(&old), Err(TokenError::Outdated(1)));
        raw[0] = 2; // version 2: a challenge id and a puzzle, no session
        let old = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_challenge(&old), Err(TokenError::Outdated(2)));
        raw[0] = 3; // version 3: sealed with XChaCha20-Poly1305
        let old = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_challenge(&old), Err(TokenError::Outdated(3)));
        raw[0] = 5;
        let future = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_challenge(&future), Err(TokenError::Malformed));
    }

    #[test]
    fn xchacha_tickets_are_refused_typed() {
        let ring = KeyRing::new(7, [1; 32]);
        let token = ring.seal_ticket(&ticket(1)).unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(token).unwrap();
        raw[0] = 1; // version 1: sealed with XChaCha20-Poly1305
        let old = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ring.open_ticket(&old), Err(TokenError::Outdated(1)));
    }

    #[test]
    fn the_sealed_puzzle_cannot_be_lowered() {
        let ring = KeyRing::new(7, [1; 32]);
        let c = challenge();
        let token = ring.seal_challenge(&c).unwrap();
        assert_eq!(ring.open_challenge(&token).unwrap().puzzle, c.puzzle);
        // The puzzle sits at the end of the payload, just before the tag:
        // flipping any bit of it (bits to 0, fewer iterations) is forgery.
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let end = raw.len() - TAG_LEN;
        for i in end - (1 + 4 + 16)..end {
            let mut bad = raw.clone();
            bad[i] ^= 0xff;
            let bad = URL_SAFE_NO_PAD.encode(&bad);
            assert_eq!(
                ring.open_challenge(&bad),
                Err(TokenError::Forged),
                "byte {i}"
            );
        }
        // An out-of-bounds puzzle is refused when sealing.
        let mut huge = c.clone();
        huge.puzzle = Puzzle::new(40, 1, [0; 16]);
        assert!(ring.seal_challenge(&huge).is_err());
    }

    #[test]
    fn other_key_or_changed_key_id_fails() {
        let ring = KeyRing::new(7, [1; 32]);
        let other = KeyRing::new(7, [2; 32]);
        let token = ring.seal_challenge(&challenge()).unwrap();
        assert_eq!(other.open_challenge(&token), Err(TokenError::Forged));
        let unknown = KeyRing::new(8, [1; 32]);
        assert_eq!(
            unknown.open_challenge(&token),
            Err(TokenError::UnknownKey(7))
        );
    }
}
