//! CaptchaCheck's core: is this ticket authentic, unexpired, bound to the
//! request's fields and not used up.

use crate::service::defence::prefix::Prefixes;
use crate::service::store::key::{store_key, StoreKey};
use crate::service::store::{RecordKind, ReplayStore, StoreError};
use crate::service::tokens::keys::KeyRing;
use crate::service::tokens::sealed::{
    Binding, BindingField, Ticket, TokenError, MAX_CLOCK_SKEW_SECS,
};

/// How tickets behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketMode {
    /// The successor service's rule (default): valid 5 minutes, one check.
    #[default]
    SingleUse,
    /// The original service's rule: valid 20 minutes, at most two checks
    /// (so that a network retry does not fail the user).
    Compatibility,
}

impl TicketMode {
    /// Lifetime of a ticket in seconds (300 or 1200).
    pub fn ttl_secs(self) -> u64 {
        match self {
            TicketMode::SingleUse => 5 * 60,
            TicketMode::Compatibility => 20 * 60,
        }
    }

    /// How many successful checks a ticket allows (1 or 2).
    pub fn max_uses(self) -> u8 {
        match self {
            TicketMode::SingleUse => 1,
            TicketMode::Compatibility => 2,
        }
    }
}

/// Why a ticket check failed. The wire answer is always 5100 (6000 for
/// [`CheckFailure::Store`]); this reason is for the host's logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckFailure {
    /// Not a ticket at all (bad encoding, wrong kind, a challenge token).
    #[error("malformed ticket")]
    Malformed,
    /// Sealed with a key that is not (or no longer) in the key ring.
    #[error("ticket sealed with unknown key id {0}")]
    UnknownKey(u32),
    /// Altered or not sealed by this service.
    #[error("forged ticket")]
    Forged,
    /// Past its expiry.
    #[error("expired ticket")]
    Expired,
    /// Issued more than [`MAX_CLOCK_SKEW_SECS`] in the future: sealed by a
    /// node whose clock is wrong, or with a stolen key.
    #[error("ticket issued in the future")]
    IssuedInFuture,
    /// Already checked as often as it may be.
    #[error("ticket already used")]
    Reused,
    /// Authentic, but issued for other request fields.
    #[error("ticket does not match {}", .0.name())]
    Mismatch(BindingField),
    /// The replay store could not answer; the check fails closed.
    #[error("replay store: {0}")]
    Store(StoreError),
}

impl From<TokenError> for CheckFailure {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::UnknownKey(id) => CheckFailure::UnknownKey(id),
            TokenError::Forged => CheckFailure::Forged,
            _ => CheckFailure::Malformed,
        }
    }
}

/// Checks a ticket token: authentic, issued no later than
/// [`MAX_CLOCK_SKEW_SECS`] after `now`, unexpired at `now`, bound to
/// `expected`, and (recorded in `store`) not used up. Mismatched or expired
/// tickets are not counted as a use. The use is held by nobody in
/// particular; the service calls [`check_ticket_in`].
#[cfg(test)]
pub(crate) fn check_ticket(
    keys: &KeyRing,
    store: &dyn ReplayStore,
    token: &str,
    expected: &Binding,
    now: u64,
) -> Result<Ticket, CheckFailure> {
    check_ticket_in(keys, store, token, expected, Prefixes::default(), now)
}

/// [`check_ticket`], the use recorded as held by the ticket's business
/// and client network (by `prefixes`), the fair-share key of a bounded
/// store.
pub(crate) fn check_ticket_in(
    keys: &KeyRing,
    store: &dyn ReplayStore,
    token: &str,
    expected: &Binding,
    prefixes: Prefixes,
    now: u64,
) -> Result<Ticket, CheckFailure> {
    let ticket = keys.open_ticket(token)?;
    if ticket.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(CheckFailure::IssuedInFuture);
    }
    if now >= ticket.expires_at {
        return Err(CheckFailure::Expired);
    }
    if let Some(field) = ticket.binding.mismatch(expected) {
        return Err(CheckFailure::Mismatch(field));
    }
    let holder = store_key!(
        "{}/{}",
        ticket.binding.business_id,
        prefixes.network(ticket.binding.user_ip)
    );
    let record = store
        .record_held_use(
            RecordKind::Ticket,
            &holder,
            &StoreKey::base64(&ticket.id),
            ticket.expires_at,
            u64::from(ticket.max_uses),
            now,
        )
        .map_err(CheckFailure::Store)?;
    if record.allowed {
        Ok(ticket)
    } else {
        Err(CheckFailure::Reused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::MemoryStore;
    use crate::service::tokens::sealed::tests::{binding, ticket};

    #[test]
    fn check_reasons() {
        let ring = KeyRing::new(1, [5; 32]);
        let store = MemoryStore::new(16);
        let token = ring.seal_ticket(&ticket(1)).unwrap();
        let b = binding();
        assert_eq!(
            check_ticket(&ring, &store, &token, &b, 1300),
            Err(CheckFailure::Expired)
        );
        let mut other = b.clone();
        other.user_ip = "10.0.0.1".parse().unwrap();
        assert_eq!(
            check_ticket(&ring, &store, &token, &other, 1000),
            Err(CheckFailure::Mismatch(BindingField::UserIp))
        );
        let mut other = b.clone();
        other.uid = None;
        assert_eq!(
            check_ticket(&ring, &store, &token, &other, 1000),
            Err(CheckFailure::Mismatch(BindingField::Uid))
        );
        // Issued at 1000: a checker whose clock says 939 refuses it.
        assert_eq!(
            check_ticket(&ring, &store, &token, &b, 1000 - MAX_CLOCK_SKEW_SECS - 1),
            Err(CheckFailure::IssuedInFuture)
        );
        assert!(check_ticket(&ring, &store, &token, &b, 1000 - MAX_CLOCK_SKEW_SECS).is_ok());
        assert_eq!(
            check_ticket(&ring, &store, &token, &b, 1100),
            Err(CheckFailure::Reused)
        );
        let store = MemoryStore::new(16);
        assert!(check_ticket(&ring, &store, &token, &b, 1100).is_ok());
        assert_eq!(
            check_ticket(&ring, &store, &token, &b, 1101),
            Err(CheckFailure::Reused)
        );
        // IPv4-mapped IPv6 is the same address.
        let mut mapped = b.clone();
        mapped.user_ip = "::ffff:121.14.96.121".parse().unwrap();
        assert_eq!(b.mismatch(&mapped), None);
    }
}
