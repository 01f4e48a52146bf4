//! Age keys: recipients (who a data key is wrapped for), identities (what we decrypt
//! with, found in a documented order and refused when other users can read them), and
//! wrapping the data key into one armored age file per recipient, as sops does.

pub mod identity;
pub mod recipient;
pub mod service;
pub mod wrap;

pub use identity::Identities;
pub use recipient::Recipient;
