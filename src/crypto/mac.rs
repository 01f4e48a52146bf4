//! The message authentication code: SHA-512 over every value's bytes in document order
//! (comments excluded), uppercase hex, stored encrypted with `lastmodified` as additional
//! data so that neither values nor the timestamp can be changed unnoticed.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// sops's `MACOnlyEncryptedInitialization`: sha256("sops"), fed first when only encrypted
/// values are covered, so the two MAC modes never collide.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

pub struct MacHasher(Sha512);

impl MacHasher {
    pub fn new(mac_only_encrypted: bool) -> Self {
        let mut h = Sha512::new();
        if mac_only_encrypted {
            h.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        MacHasher(h)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Uppercase hex, as Go's `%X`.
    pub fn finish(self) -> Zeroizing<String> {
        let digest = self.0.finalize();
        let mut out = String::with_capacity(128);
        for b in digest {
            out.push_str(&format!("{b:02X}"));
        }
        Zeroizing::new(out)
    }
}

/// Constant-time comparison of two MAC strings.
pub fn mac_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The additional data for the MAC: `lastmodified` as Go's `time.RFC3339` prints it after
/// parsing (seconds precision, `Z` for UTC, else `±hh:mm`).
pub fn mac_aad(last_modified: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(last_modified, &Rfc3339) {
        Ok(t) => {
            let off = t.offset();
            let zone = if off.is_utc() {
                "Z".to_string()
            } else {
                let (h, m, _) = off.as_hms();
                let sign = if off.is_negative() { '-' } else { '+' };
                format!("{sign}{:02}:{:02}", h.abs(), m.abs())
            };
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => last_modified.to_string(),
    }
}

/// The current time as sops writes `lastmodified`.
pub fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    mac_aad(&format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_matches_go_rfc3339() {
        assert_eq!(mac_aad("2024-03-25T22:08:10Z"), "2024-03-25T22:08:10Z");
        assert_eq!(
            mac_aad("2024-03-25T22:08:10.123456Z"),
            "2024-03-25T22:08:10Z"
        );
        assert_eq!(
            mac_aad("2024-03-25T22:08:10+02:00"),
            "2024-03-25T22:08:10+02:00"
        );
        assert!(now_rfc3339().ends_with('Z'));
    }
}
