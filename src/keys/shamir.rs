//! Shamir's secret sharing of the data key across key groups, byte for byte as sops does
//! it (its `shamir` package, forked from Vault's): each byte of the secret is the constant
//! term of its own random polynomial of degree `threshold - 1` over GF(2⁸) (the AES field,
//! x⁸ + x⁴ + x³ + x + 1); share `i` holds the polynomial values at `x = i + 1`, followed by
//! that `x` as its last byte. Any `threshold` shares give the secret back by Lagrange
//! interpolation at 0; fewer say nothing about it.
//!
//! Hand-written rather than a crate: the Rust crates use other share layouts (x first,
//! random x, other fields), and a file must open with sops; the arithmetic is a few lines.
//! No tables: multiplication is branch-free shifts, so timing does not depend on the key.
//! [`split`] makes the shares when a file with key groups is written or re-wrapped
//! (`keys::wrap_groups`); [`combine`] gives the data key back when one is read.

use rand::RngCore;
use zeroize::Zeroizing;

/// Why shares could not be made or combined.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    #[error("a threshold of {threshold} with {parts} key groups (it must be 2 to {parts})")]
    Threshold { threshold: usize, parts: usize },
    #[error("at most 255 key groups, not {0}")]
    TooManyParts(usize),
    #[error("fewer than two shares cannot give the data key back")]
    TooFewShares,
    #[error("the shares are of different lengths")]
    Lengths,
    #[error("two shares are for the same point")]
    Duplicate,
}

/// `a · b` in GF(2⁸), reduced by 0x11B.
fn mul(a: u8, b: u8) -> u8 {
    let mut acc = 0u8;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        let carry = acc >> 7;
        acc = (acc << 1) ^ (0u8.wrapping_sub(carry) & 0x1B);
        acc ^= 0u8.wrapping_sub(bit) & a;
    }
    acc
}

/// `a⁻¹ = a²⁵⁴` (0 maps to 0; callers never divide by it).
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut exp = 254u8;
    while exp > 0 {
        if exp & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    result
}

/// `parts` shares of `secret`, any `threshold` of which give it back.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if parts > 255 {
        return Err(ShamirError::TooManyParts(parts));
    }
    if threshold < 2 || threshold > parts {
        return Err(ShamirError::Threshold { threshold, parts });
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|i| {
            let mut share = Zeroizing::new(vec![0u8; secret.len() + 1]);
            share[secret.len()] = i as u8 + 1;
            share
        })
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (at, &byte) in secret.iter().enumerate() {
        coefficients[0] = byte;
        rand::rngs::OsRng.fill_bytes(&mut coefficients[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner's rule from the highest coefficient down.
            share[at] = coefficients
                .iter()
                .rev()
                .fold(0u8, |acc, &c| mul(acc, x) ^ c);
        }
    }
    Ok(shares)
}

/// The secret `shares` (at least the threshold of them, each with its `x` last) give back.
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if shares.len() < 2 {
        return Err(ShamirError::TooFewShares);
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(ShamirError::Lengths);
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    let mut seen = [false; 256];
    for &x in &xs {
        if std::mem::replace(&mut seen[x as usize], true) {
            return Err(ShamirError::Duplicate);
        }
    }
    // The Lagrange basis at 0 depends only on the points: once, not per byte.
    let basis: Vec<u8> = (0..xs.len())
        .map(|i| {
            (0..xs.len())
                .filter(|&j| j != i)
                .fold(1u8, |b, j| mul(b, mul(xs[j], inverse(xs[i] ^ xs[j]))))
        })
        .collect();
    let secret = (0..len - 1)
        .map(|at| {
            shares
                .iter()
                .zip(&basis)
                .fold(0u8, |acc, (s, &b)| acc ^ mul(s[at], b))
        })
        .collect();
    Ok(Zeroizing::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_the_aes_field() {
        // FIPS-197 §4.2: {57} · {83} = {c1}, {57} · {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xC1);
        assert_eq!(mul(0x57, 0x13), 0xFE);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "{a}");
        }
    }

    #[test]
    fn any_threshold_of_the_shares_and_no_fewer() {
        let secret = [7u8; 32];
        let shares = split(&secret, 5, 3).unwrap();
        assert!(shares.iter().all(|s| s.len() == 33));
        assert_eq!(
            shares.iter().map(|s| s[32]).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        for pick in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            let chosen: Vec<&[u8]> = pick.iter().map(|&i| shares[i].as_slice()).collect();
            assert_eq!(combine(&chosen).unwrap().as_slice(), secret);
        }
        let all: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
        assert_eq!(combine(&all).unwrap().as_slice(), secret);
        let two: Vec<&[u8]> = shares[..2].iter().map(|s| s.as_slice()).collect();
        assert_ne!(combine(&two).unwrap().as_slice(), secret);
    }

    #[test]
    fn refuses_what_sops_refuses() {
        assert!(split(b"k", 2, 1).is_err());
        assert!(split(b"k", 2, 3).is_err());
        assert!(split(b"k", 256, 2).is_err());
        let s = split(b"key", 3, 2).unwrap();
        assert_eq!(combine(&[&s[0]]), Err(ShamirError::TooFewShares));
        assert_eq!(combine(&[&s[0], &s[0]]), Err(ShamirError::Duplicate));
        assert_eq!(combine(&[&s[0], &s[1][1..]]), Err(ShamirError::Lengths));
    }
}
