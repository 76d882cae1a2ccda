//! [`ShortId`]: a counter's id as its in-memory table keeps it, inline
//! when short.
//!
//! Every new client makes a few counters (its answers, its pictures, its
//! sessions, its network's ticket rate), each keyed by a short id (`q:u:`
//! and an address). As `String`s they cost an allocation when the counter
//! is made and a free when a sweep drops it, about a twentieth of a render
//! per solved captcha; ids of up to [`INLINE`] bytes are kept in the
//! table's own slot instead.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// The longest id kept inline: an IPv6 /64 with its prefix fits.
const INLINE: usize = 38;

/// A table id: inline up to [`INLINE`] bytes, else on the heap. Hashes and
/// compares as its text, so a table keyed by it is looked up with `&str`.
#[derive(Debug, Clone)]
pub(crate) enum ShortId {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl ShortId {
    /// The id's text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only a whole `&str` is ever copied in, so this is UTF-8; the
            // fallback is never taken.
            ShortId::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            ShortId::Heap(text) => text,
        }
    }
}

impl From<&str> for ShortId {
    fn from(id: &str) -> ShortId {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id.as_bytes());
                ShortId::Inline { len, bytes }
            }
            _ => ShortId::Heap(id.into()),
        }
    }
}

impl Borrow<str> for ShortId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for ShortId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ShortId {}

impl Hash for ShortId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, so that `&str` finds it (`Borrow`'s contract).
        self.as_str().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::keyed_hash::KeyedMap;

    #[test]
    fn short_and_long_ids_are_found_by_their_text() {
        let long = "l".repeat(INLINE + 1);
        let exact = "e".repeat(INLINE);
        let mut map: KeyedMap<ShortId, u32> = KeyedMap::default();
        for (i, id) in ["", "q:u:10.0.0.1", exact.as_str(), long.as_str()]
            .iter()
            .enumerate()
        {
            map.insert(ShortId::from(*id), i as u32);
        }
        assert!(matches!(
            ShortId::from(exact.as_str()),
            ShortId::Inline { .. }
        ));
        assert!(matches!(ShortId::from(long.as_str()), ShortId::Heap(_)));
        assert_eq!(map.get("q:u:10.0.0.1"), Some(&1));
        assert_eq!(map.get(exact.as_str()), Some(&2));
        assert_eq!(map.get(long.as_str()), Some(&3));
        assert_eq!(map.get(""), Some(&0));
        assert_eq!(map.get("q:u:10.0.0.2"), None);
        assert_eq!(ShortId::from(long.as_str()).as_str(), long);
    }
}
