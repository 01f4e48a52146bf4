//! The per-file 32-byte AES data key, kept in zeroizing memory.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

pub struct DataKey(SecretBox<[u8; 32]>);

impl DataKey {
    pub fn generate() -> DataKey {
        let mut key = Box::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        DataKey(SecretBox::new(key))
    }

    /// Takes a key unwrapped from an age stanza; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(SecretBox::new(Box::new(arr))))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}
