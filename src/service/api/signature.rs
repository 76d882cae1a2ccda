//! v2 API request signatures (see `v2-signature.md` in the shared spec):
//! `Signature = Base64(HMAC(SecretKey, METHOD + host + path + "?" +
//! sorted name=value pairs))`, HmacSHA1 by default, HmacSHA256 when
//! `SignatureMethod=HmacSHA256`; plus the Timestamp window and the Nonce
//! replay rule.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::service::api::params::parse_uint;
use crate::service::store::{RecordKind, ReplayStore, StoreError};

/// How far a request's `Timestamp` may be from the server's clock, in
/// seconds (2 hours).
pub const TIMESTAMP_WINDOW_SECS: u64 = 2 * 60 * 60;

/// The HMAC of a v2 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureMethod {
    /// HMAC-SHA1, the default.
    #[default]
    HmacSha1,
    /// HMAC-SHA256, when `SignatureMethod=HmacSHA256`.
    HmacSha256,
}

impl SignatureMethod {
    /// The method named by a `SignatureMethod` parameter: `HmacSHA256`
    /// selects SHA-256; anything else, or none, means HmacSHA1 (as the spec
    /// says).
    pub fn from_param(value: Option<&str>) -> SignatureMethod {
        match value {
            Some("HmacSHA256") => SignatureMethod::HmacSha256,
            _ => SignatureMethod::HmacSha1,
        }
    }

    /// The wire name (`HmacSHA1` or `HmacSHA256`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HmacSHA1",
            SignatureMethod::HmacSha256 => "HmacSHA256",
        }
    }
}

/// The string that is signed: `method + host + path + "?" + query`, where
/// the query is every parameter except `Signature`, sorted by name
/// byte-wise (then by value, for repeated names), joined as `name=value`
/// with `&`, values raw (not URL-encoded).
pub fn source_string<'a>(
    method: &str,
    host: &str,
    path: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut s = String::with_capacity(512);
    // Sorted by the names' first 8 bytes as one integer, then by the
    // whole pair: the same order as sorting the pairs (an integer's order
    // is its bytes' order, and ties fall back to the full compare), with
    // one compare of two integers for most pairs instead of a `memcmp`.
    // Sized up front: a filtered iterator gives no lower bound, and the
    // collect grew the vector three times.
    let params = params.into_iter();
    let mut pairs: Vec<(u64, &str, &str)> = Vec::with_capacity(params.size_hint().0.max(16));
    pairs.extend(
        params
            .filter(|(name, _)| *name != "Signature")
            .map(|(name, value)| (name_prefix(name), name, value)),
    );
    pairs.sort_unstable();
    for piece in [method, host, path, "?"] {
        s.push_str(piece);
    }
    for (i, (_, name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(name);
        s.push('=');
        s.push_str(value);
    }
    s
}

/// The first 8 bytes of `name` as a big-endian integer (zeros after a
/// shorter name): its place in a byte-wise sort, up to ties.
fn name_prefix(name: &str) -> u64 {
    let mut head = [0u8; 8];
    let n = name.len().min(8);
    head[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(head)
}

/// The base64 signature of `source` (not URL-encoded); the tests' check
/// of the published vectors.
#[cfg(test)]
fn sign(secret_key: &[u8], method: SignatureMethod, source: &str) -> String {
    KeyedMacs::new(secret_key).sign(method, source)
}

/// Whether `signature` (base64; a space is read as `+`, as left by a
/// client that did not URL-encode it) is the signature of `source`.
/// Compared in constant time. The tests' form of the server's check.
#[cfg(test)]
fn verify(secret_key: &[u8], method: SignatureMethod, source: &str, signature: &str) -> bool {
    KeyedMacs::new(secret_key).matches(method, signature, source.as_bytes())
}

/// HMAC-SHA1 and HMAC-SHA256 with the SecretKey already absorbed (the
/// inner and outer key blocks hashed once, not on every request).
#[derive(Clone)]
struct KeyedMacs {
    sha1: Hmac<sha1::Sha1>,
    sha256: Hmac<sha2::Sha256>,
}

impl KeyedMacs {
    fn new(secret_key: &[u8]) -> KeyedMacs {
        // HMAC accepts keys of any length, so this cannot fail.
        KeyedMacs {
            sha1: <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret_key)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
            sha256: <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret_key)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
        }
    }

    /// The base64 signature of `source`.
    fn sign(&self, method: SignatureMethod, source: &str) -> String {
        match method {
            SignatureMethod::HmacSha1 => encode_mac(self.sha1.clone(), source),
            SignatureMethod::HmacSha256 => encode_mac(self.sha256.clone(), source),
        }
    }

    /// Whether `signature` (as [`verify`] reads it) is the MAC of
    /// `source`, compared in constant time.
    fn matches(&self, method: SignatureMethod, signature: &str, source: &[u8]) -> bool {
        let trimmed = signature.trim();
        let fixed = if trimmed.contains(' ') {
            Cow::Owned(trimmed.replace(' ', "+"))
        } else {
            Cow::Borrowed(trimmed)
        };
        // Room for the longest MAC (SHA-256's 32 bytes) and more: a longer
        // signature does not fit and is wrong anyway.
        let mut buf = [0u8; 64];
        let Ok(n) = STANDARD.decode_slice(fixed.as_bytes(), &mut buf) else {
            return false;
        };
        match method {
            SignatureMethod::HmacSha1 => mac_matches(self.sha1.clone(), source, &buf[..n]),
            SignatureMethod::HmacSha256 => mac_matches(self.sha256.clone(), source, &buf[..n]),
        }
    }
}

/// `mac` over `source`, in base64.
fn encode_mac<M: Mac>(mut mac: M, source: &str) -> String {
    mac.update(source.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `mac` over `source`, checked against `given` in constant time
/// (`verify_slice`).
fn mac_matches<M: Mac>(mut mac: M, source: &[u8], given: &[u8]) -> bool {
    mac.update(source);
    mac.verify_slice(given).is_ok()
}

/// An account allowed to call the signed API.
#[derive(Clone)]
pub struct Credentials {
    secret_id: String,
    /// The SecretKey's MACs, keyed once (the key itself is not kept).
    macs: KeyedMacs,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A SecretId and its SecretKey.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<Vec<u8>>) -> Credentials {
        Credentials {
            secret_id: secret_id.into(),
            macs: KeyedMacs::new(&secret_key.into()),
        }
    }

    /// The public SecretId.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A common parameter is missing or not valid (wire code 4000).
    #[error("missing or invalid parameter {0}")]
    Parameter(&'static str),
    /// Unknown SecretId or wrong Signature (wire code 4100).
    #[error("authentication failed")]
    AuthFailed,
    /// `Timestamp` more than 2 hours from the server's clock (4500, as the spec's table has it).
    #[error("request expired: Timestamp too far from the server clock")]
    Expired,
    /// The `Nonce` was used before (4500).
    #[error("replayed request: Nonce already used")]
    Replayed,
    /// The replay store could not answer; refused (6000).
    #[error("replay store: {0}")]
    Store(StoreError),
}

impl SignError {
    /// The wire error code.
    pub fn code(&self) -> crate::service::api::codes::ErrorCode {
        use crate::service::api::codes::ErrorCode;
        match self {
            SignError::Parameter(_) => ErrorCode::InvalidParameter,
            SignError::AuthFailed => ErrorCode::AuthFailed,
            SignError::Expired => ErrorCode::Replay,
            SignError::Replayed => ErrorCode::Replay,
            SignError::Store(_) => ErrorCode::Internal,
        }
    }
}

/// The HTTP facts a signature covers besides the parameters.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    /// The HTTP method in upper case, e.g. `GET`.
    pub method: &'a str,
    /// The Host header, e.g. `captcha.example.com`.
    pub host: &'a str,
    /// The path, e.g. `/v2/index.php`.
    pub path: &'a str,
}

fn param<'a>(params: &[(&'a str, &'a str)], name: &'static str) -> Result<&'a str, SignError> {
    let mut found = params.iter().filter(|(n, _)| *n == name);
    match (found.next(), found.next()) {
        (Some((_, v)), None) if !v.is_empty() => Ok(v),
        _ => Err(SignError::Parameter(name)),
    }
}

fn uint(value: &str, name: &'static str) -> Result<u64, SignError> {
    parse_uint(name, value).map_err(|_| SignError::Parameter(name))
}

/// Signs an API call as a client (a business server, a test, a tool):
/// adds `SecretId`, `Timestamp`, `Nonce` and `SignatureMethod` to
/// `params`, signs them all for `line` and returns them with `Signature`,
/// form-encoded: the query string of a GET, or the body of a POST.
///
/// `nonce` must be positive and not reused within the Timestamp window;
/// take it from a random source.
///
/// ```
/// use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
/// use qcaptcha::Credentials;
/// let creds = Credentials::new("AKID", "secret");
/// let line = RequestLine { method: "GET", host: "captcha.example", path: "/v2/index.php" };
/// let query = sign_request(&creds, line, SignatureMethod::HmacSha256,
///     &[("Action", "CaptchaQuery"), ("userIp", "10.0.0.1")], 1_700_000_000, 42);
/// assert!(query.starts_with("Action=CaptchaQuery&userIp=10.0.0.1&SecretId=AKID&"));
/// assert!(query.contains("&Signature="));
/// ```
pub fn sign_request(
    credentials: &Credentials,
    line: RequestLine<'_>,
    method: SignatureMethod,
    params: &[(&str, &str)],
    timestamp: u64,
    nonce: u64,
) -> String {
    let (timestamp, nonce) = (timestamp.to_string(), nonce.to_string());
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.extend([
        ("SecretId", credentials.secret_id.as_str()),
        ("Timestamp", timestamp.as_str()),
        ("Nonce", nonce.as_str()),
        ("SignatureMethod", method.name()),
    ]);
    let source = source_string(line.method, line.host, line.path, all.iter().copied());
    let signature = credentials.macs.sign(method, &source);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .append_pair("Signature", &signature)
        .finish()
}

/// Verifies a v2-signed request: SecretId known, Signature right (constant
/// time), Timestamp within [`TIMESTAMP_WINDOW_SECS`] of `now`, and Nonce not
/// seen before for this SecretId (recorded in `store` until the Timestamp
/// leaves the window). The signature is checked before the Nonce is
/// recorded, so unsigned traffic cannot burn Nonces. The service itself
/// calls [`check_signature`] first and [`SignedNonce::record`] only once
/// the request has passed its limits, so a refused request stores nothing;
/// this one-step form is for the tests.
#[cfg(test)]
pub(crate) fn verify_request(
    credentials: &Credentials,
    line: RequestLine<'_>,
    params: &[(&str, &str)],
    store: &dyn ReplayStore,
    now: u64,
) -> Result<(), SignError> {
    check_signature(credentials, line, params, now)?.record(store, "", now)
}

/// A signed request's Nonce, checked but not yet recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a Nonce that is not recorded can be replayed"]
pub struct SignedNonce {
    /// `SecretId:Nonce`.
    id: String,
    /// When its Timestamp leaves the window.
    expires_at: u64,
}

impl SignedNonce {
    /// Records the Nonce in `store` for `holder` (see
    /// [`ReplayStore::record_held_use`]) until its Timestamp leaves the
    /// window: [`SignError::Replayed`] if it was seen before.
    pub fn record(&self, store: &dyn ReplayStore, holder: &str, now: u64) -> Result<(), SignError> {
        let record = store
            .record_held_use(RecordKind::Nonce, holder, &self.id, self.expires_at, 1, now)
            .map_err(SignError::Store)?;
        if record.allowed {
            Ok(())
        } else {
            Err(SignError::Replayed)
        }
    }
}

/// The checks of [`verify_request`] that need no store: SecretId,
/// Signature (constant time) and Timestamp window. Returns the Nonce to
/// record once the request is accepted.
pub fn check_signature(
    credentials: &Credentials,
    line: RequestLine<'_>,
    params: &[(&str, &str)],
    now: u64,
) -> Result<SignedNonce, SignError> {
    let secret_id = param(params, "SecretId")?;
    let signature = param(params, "Signature")?;
    let timestamp = uint(param(params, "Timestamp")?, "Timestamp")?;
    let nonce = uint(param(params, "Nonce")?, "Nonce")?;
    if nonce == 0 {
        return Err(SignError::Parameter("Nonce"));
    }
    let method = match params.iter().find(|(n, _)| *n == "SignatureMethod") {
        Some((_, v)) => SignatureMethod::from_param(Some(v)),
        None => SignatureMethod::HmacSha1,
    };
    let id_ok: bool = secret_id
        .as_bytes()
        .ct_eq(credentials.secret_id.as_bytes())
        .into();
    // The signed string is built in one buffer and the MAC run over it in
    // one update.
    let source = source_string(line.method, line.host, line.path, params.iter().copied());
    let sig_ok = credentials
        .macs
        .matches(method, signature, source.as_bytes());
    if !(id_ok && sig_ok) {
        return Err(SignError::AuthFailed);
    }
    if now.abs_diff(timestamp) > TIMESTAMP_WINDOW_SECS {
        return Err(SignError::Expired);
    }
    Ok(SignedNonce {
        id: nonce_id(&credentials.secret_id, nonce),
        // The last second at which this Timestamp is still accepted.
        expires_at: timestamp.saturating_add(TIMESTAMP_WINDOW_SECS + 1),
    })
}

/// A Nonce's store id, `SecretId:Nonce` with the Nonce in plain decimal
/// (`007` and `7` are one Nonce), written without the formatter.
fn nonce_id(secret_id: &str, nonce: u64) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(nonce);
    let mut id = String::with_capacity(secret_id.len() + 1 + digits.len());
    id.push_str(secret_id);
    id.push(':');
    id.push_str(digits);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_sort_is_the_byte_wise_sort() {
        let names = [
            "SignatureMethod",
            "SignatureM",
            "Signatur",
            "Signature2",
            "a",
            "a\0",
            "a\0b",
            "A",
            "userIp",
            "userIpX",
            "Z",
            "\u{4e2d}",
            "",
            "b",
            "b",
        ];
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, ["2", "1", ""][i % 3]))
            .collect();
        let mut naive = pairs.clone();
        naive.sort_unstable();
        let joined: Vec<String> = naive.iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(
            source_string("GET", "h", "/p", pairs.iter().copied()),
            format!("GETh/p?{}", joined.join("&"))
        );
    }

    #[test]
    fn nonce_ids_are_the_nonce_in_decimal() {
        for n in [1, 9, 10, 345_122, u64::MAX] {
            assert_eq!(nonce_id("AKID", n), format!("AKID:{n}"));
        }
    }

    #[test]
    fn the_source_string_sorts_and_drops_the_signature() {
        let s = source_string(
            "GET",
            "example.com",
            "/v2/index.php",
            [("b", "2"), ("Signature", "x"), ("a", "1")],
        );
        assert_eq!(s, "GETexample.com/v2/index.php?a=1&b=2");
    }
    use crate::service::store::MemoryStore;

    const KEY: &[u8] = b"Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

    #[test]
    fn published_vector_1_hmac_sha1() {
        let src = "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=345122&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1408704141";
        assert_eq!(
            sign(KEY, SignatureMethod::HmacSha1, src),
            "HgIYOPcx5lN6gz8JsCFBNAWp2oQ="
        );
        assert!(verify(
            KEY,
            SignatureMethod::HmacSha1,
            src,
            "HgIYOPcx5lN6gz8JsCFBNAWp2oQ="
        ));
        // URL-decoded from the wire form.
        let decoded: String = form_urlencoded::parse(b"s=HgIYOPcx5lN6gz8JsCFBNAWp2oQ%3D")
            .next()
            .unwrap()
            .1
            .into_owned();
        assert!(verify(KEY, SignatureMethod::HmacSha1, src, &decoded));
        assert!(!verify(KEY, SignatureMethod::HmacSha256, src, &decoded));
    }

    #[test]
    fn published_vector_2_hmac_sha256() {
        let src = "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256&Timestamp=1465185768";
        assert_eq!(
            sign(KEY, SignatureMethod::HmacSha256, src),
            "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s="
        );
        assert!(verify(
            KEY,
            SignatureMethod::HmacSha256,
            src,
            "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s="
        ));
    }

    #[test]
    fn published_vector_3_sorting_is_case_sensitive() {
        let params = [
            ("Action", "DescribeInstances"),
            ("Nonce", "11886"),
            ("Region", "gz"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"),
            ("Timestamp", "1465185768"),
            ("instanceIds.0", "ins-09dx96dg"),
            ("limit", "20"),
            ("offset", "0"),
        ];
        let mut shuffled = params;
        shuffled.reverse();
        let src = source_string("GET", "cvm.api.qcloud.com", "/v2/index.php", shuffled);
        assert_eq!(src, "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0");
        assert_eq!(
            sign(KEY, SignatureMethod::HmacSha1, &src),
            "NSI3UqqD99b/UJb4tbG/xZpRW64="
        );
    }

    #[test]
    fn method_parameter() {
        assert_eq!(
            SignatureMethod::from_param(Some("HmacSHA256")),
            SignatureMethod::HmacSha256
        );
        for other in [None, Some("HmacSHA1"), Some("hmacsha256"), Some("")] {
            assert_eq!(
                SignatureMethod::from_param(other),
                SignatureMethod::HmacSha1
            );
        }
    }

    fn signed(
        creds: &Credentials,
        method: SignatureMethod,
        ts: u64,
        nonce: u64,
    ) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("Action".into(), "CaptchaQuery".into()),
            ("SecretId".into(), creds.secret_id.clone()),
            ("Timestamp".into(), ts.to_string()),
            ("Nonce".into(), nonce.to_string()),
            ("userIp".into(), "1.2.3.4".into()),
        ];
        if method == SignatureMethod::HmacSha256 {
            p.push(("SignatureMethod".into(), "HmacSHA256".into()));
        }
        let src = source_string(
            "GET",
            "h",
            "/p",
            p.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        );
        p.push(("Signature".into(), creds.macs.sign(method, &src)));
        p
    }

    fn borrow(p: &[(String, String)]) -> Vec<(&str, &str)> {
        p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }

    #[test]
    fn long_and_many_pieces_are_signed_whole() {
        // Pieces that fill the MAC's stack block, and one longer than it.
        let creds = Credentials::new("AKID1", "secret");
        let line = RequestLine {
            method: "GET",
            host: "h",
            path: "/p",
        };
        for len in [10, 200, 255, 256, 257, 700] {
            let value = "v".repeat(len);
            let names: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
            let params: Vec<(&str, &str)> =
                names.iter().map(|n| (n.as_str(), value.as_str())).collect();
            let query = sign_request(&creds, line, SignatureMethod::HmacSha256, &params, 5, 7);
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            assert!(
                check_signature(&creds, line, &borrow(&pairs), 5).is_ok(),
                "{len}"
            );
            let mut wrong = pairs.clone();
            wrong[3].1.push('x');
            assert_eq!(
                check_signature(&creds, line, &borrow(&wrong), 5),
                Err(SignError::AuthFailed)
            );
        }
        let source = "s".repeat(700);
        let mac = sign(b"k", SignatureMethod::HmacSha1, &source);
        assert!(verify(b"k", SignatureMethod::HmacSha1, &source, &mac));
    }

    #[test]
    fn request_rules() {
        let creds = Credentials::new("AKID1", "secret");
        let store = MemoryStore::new(64);
        let line = RequestLine {
            method: "GET",
            host: "h",
            path: "/p",
        };
        let now = 1_700_000_000;
        for m in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
            let p = signed(&creds, m, now, 10 + m as u64);
            assert_eq!(
                verify_request(&creds, line, &borrow(&p), &store, now),
                Ok(())
            );
            assert_eq!(
                verify_request(&creds, line, &borrow(&p), &store, now),
                Err(SignError::Replayed)
            );
        }
        // Timestamp window, both directions.
        for ts in [
            now - TIMESTAMP_WINDOW_SECS - 1,
            now + TIMESTAMP_WINDOW_SECS + 1,
        ] {
            let p = signed(&creds, SignatureMethod::HmacSha1, ts, 99);
            assert_eq!(
                verify_request(&creds, line, &borrow(&p), &store, now),
                Err(SignError::Expired)
            );
        }
        let p = signed(
            &creds,
            SignatureMethod::HmacSha1,
            now - TIMESTAMP_WINDOW_SECS,
            98,
        );
        assert_eq!(
            verify_request(&creds, line, &borrow(&p), &store, now),
            Ok(())
        );
        // Tampered parameter, other path, other key, other SecretId.
        let mut p = signed(&creds, SignatureMethod::HmacSha1, now, 20);
        p[4].1 = "1.2.3.5".into();
        assert_eq!(
            verify_request(&creds, line, &borrow(&p), &store, now),
            Err(SignError::AuthFailed)
        );
        let p = signed(&creds, SignatureMethod::HmacSha1, now, 21);
        let other_line = RequestLine { path: "/q", ..line };
        assert_eq!(
            verify_request(&creds, other_line, &borrow(&p), &store, now),
            Err(SignError::AuthFailed)
        );
        let other = Credentials::new("AKID1", "other");
        assert_eq!(
            verify_request(&other, line, &borrow(&p), &store, now),
            Err(SignError::AuthFailed)
        );
        let other = Credentials::new("AKID2", "secret");
        assert_eq!(
            verify_request(&other, line, &borrow(&p), &store, now),
            Err(SignError::AuthFailed)
        );
        // A failed signature did not burn the nonce.
        assert_eq!(
            verify_request(&creds, line, &borrow(&p), &store, now),
            Ok(())
        );
        // Missing parameters.
        let p = signed(&creds, SignatureMethod::HmacSha1, now, 22);
        for drop in ["SecretId", "Timestamp", "Nonce", "Signature"] {
            let q: Vec<_> = p.iter().filter(|(n, _)| n != drop).cloned().collect();
            assert_eq!(
                verify_request(&creds, line, &borrow(&q), &store, now),
                Err(SignError::Parameter(drop))
            );
        }
    }
}
