//! [`StoreKey`]: a store id or holder name written on the stack.
//!
//! Every request names a few store records (its rate counters, the holder
//! of its Nonce, its session or ticket id). They are short, so they are
//! written into a fixed buffer instead of a fresh `String` each; a name
//! longer than the buffer (a long SecretId) moves to the heap, so nothing
//! is ever cut short.

use std::fmt;
use std::ops::Deref;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Room on the stack: a SecretId, a separator and an IPv6 network fit.
const INLINE: usize = 96;

/// A store id or holder name, built with [`store_key!`].
pub(crate) struct StoreKey {
    inline: [u8; INLINE],
    len: usize,
    /// The whole name, once it outgrew `inline`.
    spilled: Option<String>,
}

impl StoreKey {
    /// An empty name.
    pub(crate) fn new() -> StoreKey {
        StoreKey {
            inline: [0; INLINE],
            len: 0,
            spilled: None,
        }
    }

    /// `bytes` in URL-safe base64 without padding (a session or ticket
    /// id as the store knows it).
    pub(crate) fn base64(bytes: &[u8; 16]) -> StoreKey {
        let mut key = StoreKey::new();
        // 16 bytes are 22 characters: they always fit.
        key.len = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut key.inline)
            .unwrap_or(0);
        key
    }
}

impl fmt::Write for StoreKey {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(heap) = &mut self.spilled {
            heap.push_str(s);
        } else if let Some(room) = self.inline.get_mut(self.len..self.len + s.len()) {
            room.copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut heap = String::with_capacity(2 * (self.len + s.len()));
            heap.push_str(self);
            heap.push_str(s);
            self.spilled = Some(heap);
        }
        Ok(())
    }
}

impl Deref for StoreKey {
    type Target = str;

    fn deref(&self) -> &str {
        match &self.spilled {
            Some(heap) => heap,
            // Only whole `&str`s are ever copied in (and base64), so the
            // bytes are UTF-8; the fallback is never taken.
            None => std::str::from_utf8(&self.inline[..self.len]).unwrap_or(""),
        }
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`StoreKey`] written like `format!`.
macro_rules! store_key {
    ($($arg:tt)*) => {{
        let mut key = $crate::service::store::key::StoreKey::new();
        // Writing to a StoreKey cannot fail.
        let _ = ::std::fmt::Write::write_fmt(&mut key, format_args!($($arg)*));
        key
    }};
}
pub(crate) use store_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_stay_inline_and_long_ones_spill_whole() {
        let k = store_key!("q:b:{}", 42u64);
        assert_eq!(&*k, "q:b:42");
        assert!(k.spilled.is_none());
        let long = "x".repeat(INLINE - 3);
        let k = store_key!("{long}/{}", "10.0.0.0/24");
        assert_eq!(&*k, format!("{long}/10.0.0.0/24"));
        assert!(k.spilled.is_some());
        let exact = "y".repeat(INLINE);
        assert_eq!(&*store_key!("{exact}"), exact);
    }

    #[test]
    fn ids_in_base64_match_the_tokens_ids() {
        let id = [0xfbu8; 16];
        assert_eq!(&*StoreKey::base64(&id), URL_SAFE_NO_PAD.encode(id));
    }
}
