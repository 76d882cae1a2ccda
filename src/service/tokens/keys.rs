//! The key ring: the keys that seal and open challenges and tickets, and
//! their rotation across nodes.

use aes_gcm_siv::aead::KeyInit;
use aes_gcm_siv::Aes256GcmSiv;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// Length of a sealing key in bytes.
pub const KEY_LEN: usize = 32;

/// The sealing keys: one current key that seals, and any number of older
/// keys that still open the tokens they sealed.
///
/// Rotate by calling [`rotate`](KeyRing::rotate) with a new key; keep the
/// old one (it stays in the ring) until every token it sealed has expired
/// (at most the session or ticket lifetime, 30 minutes by default), then
/// [`retire`](KeyRing::retire) it. Every node of a cluster needs the same
/// ring. Key material is never printed by `Debug` and is wiped on drop.
///
/// ```
/// use qcaptcha::KeyRing;
/// let mut ring = KeyRing::generate(1)?;          // OS CSPRNG
/// ring.rotate(2, KeyRing::random_key()?)?;       // key 2 seals from now on
/// assert_eq!(ring.current_key_id(), 2);
/// assert_eq!(ring.key_ids(), vec![1, 2]);        // key 1 still opens
/// ring.retire(1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    current: u32,
    keys: Vec<(u32, Aes256GcmSiv)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

/// An error changing a [`KeyRing`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key id is already in the ring.
    #[error("key id {0} is already in the key ring")]
    DuplicateId(u32),
    /// The OS random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Random(String),
    /// No key with this id is in the ring.
    #[error("key id {0} is not in the key ring")]
    UnknownId(u32),
}

impl KeyRing {
    /// A ring holding one host-given key, which seals and opens.
    pub fn new(key_id: u32, key: [u8; KEY_LEN]) -> KeyRing {
        KeyRing {
            current: key_id,
            keys: vec![(key_id, Aes256GcmSiv::new(&key.into()))],
        }
    }

    /// A ring holding one fresh key from the OS CSPRNG. Tokens sealed by it
    /// open only in this process (and in clones of this ring).
    pub fn generate(key_id: u32) -> Result<KeyRing, KeyError> {
        Ok(KeyRing::new(key_id, KeyRing::random_key()?))
    }

    /// A fresh key from the OS CSPRNG.
    pub fn random_key() -> Result<[u8; KEY_LEN], KeyError> {
        let mut key = [0u8; KEY_LEN];
        OsRng
            .try_fill_bytes(&mut key)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(key)
    }

    /// Adds `key` as the new current (sealing) key; the previous keys stay
    /// and keep opening their tokens.
    pub fn rotate(&mut self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        self.add_key(key_id, key)?;
        self.current = key_id;
        Ok(())
    }

    /// Adds `key` for opening only (for example another node's previous
    /// key). The current key is unchanged.
    pub fn add_key(&mut self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        if self.keys.iter().any(|(id, _)| *id == key_id) {
            return Err(KeyError::DuplicateId(key_id));
        }
        self.keys.push((key_id, Aes256GcmSiv::new(&key.into())));
        Ok(())
    }

    /// Makes a key already in the ring the current (sealing) one: the second
    /// step of a rotation across nodes, once every node holds the key (see
    /// [`add_key`](KeyRing::add_key)).
    pub fn set_current(&mut self, key_id: u32) -> Result<(), KeyError> {
        if !self.keys.iter().any(|(id, _)| *id == key_id) {
            return Err(KeyError::UnknownId(key_id));
        }
        self.current = key_id;
        Ok(())
    }

    /// Removes a key that is not the current one; tokens it sealed no
    /// longer open. Returns whether a key was removed.
    pub fn retire(&mut self, key_id: u32) -> bool {
        if key_id == self.current {
            return false;
        }
        let before = self.keys.len();
        self.keys.retain(|(id, _)| *id != key_id);
        self.keys.len() != before
    }

    /// The id of the key that seals new tokens.
    pub fn current_key_id(&self) -> u32 {
        self.current
    }

    /// The ids of all keys in the ring, in the order they were added.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.iter().map(|(id, _)| *id).collect()
    }

    /// The cipher of key `key_id`, if the ring holds it.
    pub(crate) fn cipher(&self, key_id: u32) -> Option<&Aes256GcmSiv> {
        self.keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .map(|(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;
    use crate::service::tokens::sealed::tests::ticket;
    use crate::service::tokens::sealed::TokenError;

    #[test]
    fn rotation_keeps_old_keys_until_retired() {
        let mut ring = KeyRing::new(1, [1; 32]);
        let old = ring.seal_ticket(&ticket(1)).unwrap();
        ring.rotate(2, [2; 32]).unwrap();
        assert_eq!(ring.rotate(2, [3; 32]), Err(KeyError::DuplicateId(2)));
        let new = ring.seal_ticket(&ticket(1)).unwrap();
        assert!(ring.open_ticket(&old).is_ok());
        assert!(ring.open_ticket(&new).is_ok());
        // The new token was sealed under key 2.
        let raw = URL_SAFE_NO_PAD.decode(&new).unwrap();
        assert_eq!(&raw[2..6], &2u32.to_be_bytes());
        assert!(!ring.retire(2), "the current key cannot be retired");
        assert!(ring.retire(1));
        assert_eq!(ring.open_ticket(&old), Err(TokenError::UnknownKey(1)));
        assert!(ring.open_ticket(&new).is_ok());
        let shown = format!("{ring:?}");
        assert!(shown.contains("current: 2") && !shown.contains("2, 2, 2"));
    }

    #[test]
    fn rotation_across_nodes_in_three_steps() {
        // Two nodes; node A learns key 2 first, node B later.
        let mut a = KeyRing::new(1, [1; 32]);
        let mut b = KeyRing::new(1, [1; 32]);
        // 1. Every node adds the new key for opening only.
        a.add_key(2, [2; 32]).unwrap();
        b.add_key(2, [2; 32]).unwrap();
        let before = a.seal_ticket(&ticket(1)).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&before).unwrap()[2..6],
            1u32.to_be_bytes()
        );
        // 2. Then one node after the other seals with it; tokens from a
        //    node that switched already open on one that has not.
        a.set_current(2).unwrap();
        let after = a.seal_ticket(&ticket(1)).unwrap();
        assert!(b.open_ticket(&after).is_ok());
        b.set_current(2).unwrap();
        assert_eq!(b.set_current(9), Err(KeyError::UnknownId(9)));
        // 3. Once key 1's tokens have expired, it is retired everywhere.
        assert!(a.retire(1) && b.retire(1));
        assert_eq!(b.open_ticket(&before), Err(TokenError::UnknownKey(1)));
        assert!(b.open_ticket(&after).is_ok());
    }
}
