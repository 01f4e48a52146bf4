//! One value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with a 32-byte IV and
//! the key path as additional data, exactly as sops's `aes/cipher.go`.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
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

fn cipher(key: &DataKey) -> Aes256Gcm32 {
    Aes256Gcm32::new(GenericArray::from_slice(key.bytes()))
}

/// A fresh random IV.
pub fn random_iv() -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    iv
}

/// Encrypts a value under `aad` with the given IV.
pub fn encrypt(value: &Scalar, key: &DataKey, aad: &str, iv: &[u8; IV_LEN]) -> String {
    let plain = value.to_bytes();
    let out = cipher(key)
        .encrypt(
            GenericArray::from_slice(iv),
            Payload {
                msg: &plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let (data, tag) = out.split_at(out.len() - TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        B64.encode(data),
        B64.encode(iv),
        B64.encode(tag),
        value.type_name()
    )
}

/// Decrypts an `ENC[...]` value; returns it with its IV (for the stash).
pub fn decrypt(text: &str, key: &DataKey, aad: &str) -> Result<(Scalar, [u8; IV_LEN]), ValueError> {
    let enc = parse(text)?;
    let iv: [u8; IV_LEN] = enc
        .iv
        .as_slice()
        .try_into()
        .map_err(|_| ValueError::Malformed("iv is not 32 bytes"))?;
    if enc.tag.len() != TAG_LEN {
        return Err(ValueError::Malformed("tag is not 16 bytes"));
    }
    let mut sealed = Zeroizing::new(enc.data);
    sealed.extend_from_slice(&enc.tag);
    let plain = Zeroizing::new(
        cipher(key)
            .decrypt(
                GenericArray::from_slice(&iv),
                Payload {
                    msg: &sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ValueError::Authentication)?,
    );
    Ok((typed(&plain, &enc.kind)?, iv))
}

fn typed(plain: &[u8], kind: &str) -> Result<Scalar, ValueError> {
    let bad = || ValueError::BadType(kind.to_string());
    let text = || {
        std::str::from_utf8(plain)
            .map(str::to_string)
            .map_err(|_| bad())
    };
    Ok(match kind {
        "str" => match std::str::from_utf8(plain) {
            Ok(t) => Scalar::Str(t.to_string()),
            Err(_) => Scalar::RawStr(plain.to_vec()),
        },
        "comment" => Scalar::Comment(text()?),
        "time" => Scalar::Time(text()?),
        "bytes" => Scalar::Bytes(plain.to_vec()),
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
