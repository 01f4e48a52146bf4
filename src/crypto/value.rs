//! One value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with a 32-byte IV and
//! the key path as additional data, exactly as sops's `aes/cipher.go`.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use super::DataKey;
use crate::model::Scalar;

/// sops's nonce size.
pub const IV_LEN: usize = 32;
const TAG_LEN: usize = 16;

type Aes256Gcm32 = AesGcm<Aes256, U32>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("not in sops ENC[AES256_GCM,...] format")]
    NotEncrypted,
    #[error("malformed ENC[...] value: {0}")]
    Malformed(&'static str),
    #[error("authentication failed (wrong data key, or the value or its key path was altered)")]
    Authentication,
    #[error("decrypted value does not match its declared type {0}")]
    BadType(String),
}

/// The parts of an `ENC[...]` string.
pub struct Encrypted {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub kind: String,
}

/// Is this text an sops-encrypted value?
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with("ENC[AES256_GCM,data:") && text.ends_with(']')
}

/// Parses `ENC[AES256_GCM,data:D,iv:I,tag:T,type:K]`.
pub fn parse(text: &str) -> Result<Encrypted, ValueError> {
    let inner = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|t| t.strip_suffix(']'))
        .ok_or(ValueError::NotEncrypted)?;
    let mut fields = [None; 4];
    for part in inner.split(',') {
        let (name, value) = part
            .split_once(':')
            .ok_or(ValueError::Malformed("field without ':'"))?;
        let slot = match name {
            "data" => 0,
            "iv" => 1,
            "tag" => 2,
            "type" => 3,
            _ => return Err(ValueError::Malformed("unknown field")),
        };
        fields[slot] = Some(value);
    }
    let [Some(data), Some(iv), Some(tag), Some(kind)] = fields else {
        return Err(ValueError::Malformed("missing field"));
    };
    let decode = |s: &str, what| B64.decode(s).map_err(|_| ValueError::Malformed(what));
    Ok(Encrypted {
        data: decode(data, "data is not base64")?,
        iv: decode(iv, "iv is not base64")?,
        tag: decode(tag, "tag is not base64")?,
        kind: kind.to_string(),
    })
}

/// A value's bytes as sops encrypts them and feeds them to the MAC (the same bytes as
/// [`Scalar::to_bytes`]), borrowed when the value holds them already.
pub enum ValueBytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for ValueBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ValueBytes::Borrowed(b) => b,
            ValueBytes::Owned(v) => v,
        }
    }
}

pub fn value_bytes(value: &Scalar) -> ValueBytes<'_> {
    match value {
        Scalar::Str(s) | Scalar::Time(s) | Scalar::Comment(s) => ValueBytes::Borrowed(s.as_bytes()),
        Scalar::Bytes(b) | Scalar::RawStr(b) => ValueBytes::Borrowed(b),
        Scalar::Null => ValueBytes::Borrowed(&[]),
        other => ValueBytes::Owned(other.to_bytes()),
    }
}

/// A data key's cipher, set up once (AES key schedule, GHASH key) for all of a file's values.
pub struct ValueCipher(Aes256Gcm32);

impl ValueCipher {
    pub fn new(key: &DataKey) -> Self {
        ValueCipher(Aes256Gcm32::new(GenericArray::from_slice(key.bytes())))
    }

    /// Encrypts a value under `aad` with the given IV.
    pub fn encrypt(&self, value: &Scalar, aad: &str, iv: &[u8; IV_LEN]) -> String {
        // Encrypted in place: the copy of the plaintext becomes the ciphertext.
        let mut data = value_bytes(value).to_vec();
        let tag = self
            .0
            .encrypt_in_place_detached(GenericArray::from_slice(iv), aad.as_bytes(), &mut data)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let kind = value.type_name();
        let mut out = String::with_capacity(64 + data.len().div_ceil(3) * 4 + 44 + 24 + kind.len());
        out.push_str("ENC[AES256_GCM,data:");
        B64.encode_string(&data, &mut out);
        out.push_str(",iv:");
        B64.encode_string(iv, &mut out);
        out.push_str(",tag:");
        B64.encode_string(tag, &mut out);
        out.push_str(",type:");
        out.push_str(kind);
        out.push(']');
        out
    }

    /// Decrypts an `ENC[...]` value; returns it with its IV (for the stash).
    pub fn decrypt(&self, text: &str, aad: &str) -> Result<(Scalar, [u8; IV_LEN]), ValueError> {
        let enc = parse(text)?;
        let iv: [u8; IV_LEN] = enc
            .iv
            .as_slice()
            .try_into()
            .map_err(|_| ValueError::Malformed("iv is not 32 bytes"))?;
        if enc.tag.len() != TAG_LEN {
            return Err(ValueError::Malformed("tag is not 16 bytes"));
        }
        // Decrypted in place: the buffer holds the plaintext and is wiped when dropped.
        let mut plain = Zeroizing::new(enc.data);
        self.0
            .decrypt_in_place_detached(
                GenericArray::from_slice(&iv),
                aad.as_bytes(),
                &mut plain,
                GenericArray::from_slice(&enc.tag),
            )
            .map_err(|_| ValueError::Authentication)?;
        Ok((typed(&mut plain, &enc.kind)?, iv))
    }
}

/// A fresh random IV.
pub fn random_iv() -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    iv
}

/// Encrypts a value under `aad` with the given IV (one value; files use [`ValueCipher`]).
pub fn encrypt(value: &Scalar, key: &DataKey, aad: &str, iv: &[u8; IV_LEN]) -> String {
    ValueCipher::new(key).encrypt(value, aad, iv)
}

/// Decrypts an `ENC[...]` value; returns it with its IV (for the stash).
pub fn decrypt(text: &str, key: &DataKey, aad: &str) -> Result<(Scalar, [u8; IV_LEN]), ValueError> {
    ValueCipher::new(key).decrypt(text, aad)
}

/// The plaintext as a value of its declared type; text and bytes take over the buffer.
fn typed(plain: &mut Zeroizing<Vec<u8>>, kind: &str) -> Result<Scalar, ValueError> {
    let bad = || ValueError::BadType(kind.to_string());
    let is_text = std::str::from_utf8(plain).is_ok();
    let take = |plain: &mut Zeroizing<Vec<u8>>| std::mem::take(&mut **plain);
    let text = |plain: &mut Zeroizing<Vec<u8>>| {
        if is_text {
            Ok(String::from_utf8(take(plain)).expect("checked to be UTF-8"))
        } else {
            Err(bad())
        }
    };
    Ok(match kind {
        "str" if is_text => Scalar::Str(text(plain)?),
        "str" => Scalar::RawStr(take(plain)),
        "comment" => Scalar::Comment(text(plain)?),
        "time" => Scalar::Time(text(plain)?),
        "bytes" => Scalar::Bytes(take(plain)),
        "int" => Scalar::Int(
            std::str::from_utf8(plain)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(bad)?,
        ),
        "float" => Scalar::Float(parse_go_float(plain).ok_or_else(bad)?),
        "bool" => Scalar::Bool(parse_go_bool(plain).ok_or_else(bad)?),
        other => return Err(ValueError::BadType(other.to_string())),
    })
}

fn parse_go_float(b: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(b).ok()?;
    match t {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(b: &[u8]) -> Option<bool> {
    match b {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_each_type() {
        let key = DataKey::generate();
        for v in [
            Scalar::Str("hello".into()),
            Scalar::Int(-42),
            Scalar::Float(2.75),
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Bytes(vec![0, 255, 10]),
            Scalar::Comment(" note".into()),
        ] {
            let iv = random_iv();
            let enc = encrypt(&v, &key, "a:b:", &iv);
            assert!(is_encrypted(&enc));
            let (back, iv2) = decrypt(&enc, &key, "a:b:").unwrap();
            assert_eq!(back, v);
            assert_eq!(iv, iv2);
            assert_eq!(
                decrypt(&enc, &key, "a:c:").unwrap_err(),
                ValueError::Authentication
            );
        }
    }

    #[test]
    fn value_bytes_are_to_bytes() {
        for v in [
            Scalar::Str("héllo".into()),
            Scalar::Int(-42),
            Scalar::Float(2.5),
            Scalar::Float(f64::NAN),
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Bytes(vec![0, 255]),
            Scalar::RawStr(vec![0xff, b'a']),
            Scalar::Time("2024-01-01T00:00:00Z".into()),
            Scalar::Comment(" c".into()),
            Scalar::Null,
        ] {
            assert_eq!(&*value_bytes(&v), v.to_bytes().as_slice(), "{v:?}");
        }
    }

    #[test]
    fn raw_strings_and_bytes_round_trip() {
        let key = DataKey::generate();
        let cipher = ValueCipher::new(&key);
        for v in [Scalar::RawStr(vec![0xff, 0, 1]), Scalar::Bytes(vec![])] {
            let enc = cipher.encrypt(&v, "k:", &random_iv());
            assert_eq!(cipher.decrypt(&enc, "k:").unwrap().0, v);
        }
    }

    #[test]
    fn tampering_is_detected() {
        let key = DataKey::generate();
        let enc = encrypt(&Scalar::Str("secret".into()), &key, "k:", &random_iv());
        let flipped = enc.replacen("data:", "data:A", 1);
        assert!(decrypt(&flipped, &key, "k:").is_err());
        assert!(matches!(
            decrypt("plain", &key, "k:"),
            Err(ValueError::NotEncrypted)
        ));
    }
}
