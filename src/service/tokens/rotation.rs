//! Key rotation on a running service: add, promote and retire sealing
//! keys without a restart (see [`KeyRing`] for the order across nodes).

use std::sync::{PoisonError, RwLockWriteGuard};

use crate::service::captcha_service::CaptchaService;
use crate::service::tokens::keys::{KeyError, KeyRing, KEY_LEN};

impl CaptchaService {
    /// Makes `key` the sealing key; older keys keep opening their tokens
    /// until [`retire_key`](CaptchaService::retire_key).
    pub fn rotate_key(&self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        self.keys_mut().rotate(key_id, key)
    }

    /// Adds `key` for opening only: the first step of a rotation across
    /// nodes (add the key on every node, then [`set_current_key`]
    /// everywhere, then [`retire_key`] the old one once its tokens expired).
    ///
    /// [`set_current_key`]: CaptchaService::set_current_key
    /// [`retire_key`]: CaptchaService::retire_key
    pub fn add_key(&self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        self.keys_mut().add_key(key_id, key)
    }

    /// Makes a key already added the sealing key.
    pub fn set_current_key(&self, key_id: u32) -> Result<(), KeyError> {
        self.keys_mut().set_current(key_id)
    }

    /// Drops an old key (not the current one). Returns whether one was
    /// removed.
    pub fn retire_key(&self, key_id: u32) -> bool {
        self.keys_mut().retire(key_id)
    }

    /// The ids of the keys in the ring.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys().key_ids()
    }

    fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        // Every change above is one call on the ring, so a poisoned lock
        // still holds a consistent ring.
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }
}
