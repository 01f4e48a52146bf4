//! Known values: plaintext copies of values that live in our encrypted files. The CLI
//! decrypts what the user can decrypt and hands the values here; this module only matches
//! them (exactly, all at once with Aho-Corasick) and never prints them: a finding's preview
//! is all stars, and its fingerprint comes from where the value lives (file and key), never
//! from the value: a fingerprint of the value would let anyone holding the committed
//! baseline or SARIF test guesses of an encrypted value offline. Short values (under 8 bytes) and values that are common words or numbers
//! are left out, since they would match everywhere.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use zeroize::Zeroizing;

use super::entropy;
use super::rule::Candidate;

pub const ID: &str = "known-secret-value";

/// A decrypted value and where it lives: the encrypted file and the key path in it
/// (`secrets/prod.yaml:db/password`).
pub struct KnownValue {
    pub value: Zeroizing<String>,
    pub origin: String,
}

/// The matcher. Note: the automaton keeps its own copy of the patterns, which
/// `aho-corasick` does not zeroize; it lives only as long as the scan.
pub struct KnownValues {
    ac: Option<AhoCorasick>,
    /// The fingerprint of each pattern, by pattern index.
    fingerprints: Vec<String>,
    /// Where each value lives (`secrets/prod.yaml:db/password`), for the terminal only.
    origins: Vec<String>,
}

impl KnownValues {
    pub fn new(values: &[KnownValue]) -> KnownValues {
        let mut pats: Vec<(&[u8], &str)> = values
            .iter()
            .map(|v| (v.value.as_bytes(), v.origin.as_str()))
            .filter(|(v, _)| worth_matching(v))
            .collect();
        // One pattern per value; a value kept in several places takes its first origin.
        pats.sort();
        pats.dedup_by(|a, b| a.0 == b.0);
        let ac = if pats.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(pats.iter().map(|p| p.0))
                .ok()
        };
        let fingerprints = pats.iter().map(|p| origin_fingerprint(p.1)).collect();
        let origins = pats.iter().map(|p| display_origin(p.1)).collect();
        KnownValues {
            ac,
            fingerprints,
            origins,
        }
    }

    /// The fingerprint of a finding for the value `Candidate::known` names.
    pub fn fingerprint(&self, index: usize) -> Option<&str> {
        self.fingerprints.get(index).map(String::as_str)
    }

    /// Where the value `Candidate::known` names lives: the encrypted file and key path.
    pub fn origin(&self, index: usize) -> Option<&str> {
        self.origins.get(index).map(String::as_str)
    }

    /// How many values are searched for.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// Whether any value occurs in `hay` at all. Values hold no newline, so one that
    /// occurs in some of `hay`'s lines joined occurs in `hay` (see
    /// [`super::Scanner::may_find`]).
    pub fn may_occur(&self, hay: &[u8]) -> bool {
        self.ac.as_ref().is_some_and(|ac| ac.is_match(hay))
    }

    pub fn find(&self, hay: &[u8], out: &mut Vec<Candidate>) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_iter(hay) {
            // Whole tokens only: a value inside a longer word is not a copy of it.
            let before = m.start().checked_sub(1).map(|i| hay[i]);
            let after = hay.get(m.end()).copied();
            let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
            if word(before) || word(after) {
                continue;
            }
            out.push(Candidate {
                rule: ID,
                start: m.start(),
                end: m.end(),
                known: Some(m.pattern().as_usize()),
            });
        }
    }
}

/// `secrets/prod.yaml#0:db/password` as a user reads it: the document number only for a
/// file of several YAML documents.
fn display_origin(origin: &str) -> String {
    origin.replacen("#0:", ":", 1)
}

/// Derived from where the value lives, so it says nothing about the value.
fn origin_fingerprint(origin: &str) -> String {
    super::allow::fingerprint(format!("known-secret-value\0{origin}").as_bytes())
}

/// A value with a newline is not searched for (and [`KnownValues::may_occur`] relies on it).
fn worth_matching(v: &[u8]) -> bool {
    v.len() >= 8
        && !v.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && entropy::shannon(v) >= 2.5
        && !v.contains(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_values_only() {
        let k = KnownValues::new(&[
            known("q8ZrT2vLx9Pw", "a.yaml:k"),
            known("true", "a.yaml:t"),
            known("8080", "a.yaml:port"),
        ]);
        assert_eq!(k.len(), 1);
        let mut out = Vec::new();
        k.find(
            b"a: q8ZrT2vLx9Pw\nb: Xq8ZrT2vLx9Pw\nport: 8080 true",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].start, 3);
    }

    fn known(value: &str, origin: &str) -> KnownValue {
        KnownValue {
            value: Zeroizing::new(value.to_string()),
            origin: origin.to_string(),
        }
    }

    #[test]
    fn fingerprint_comes_from_the_origin_not_the_value() {
        let k = KnownValues::new(&[known("q8ZrT2vLx9Pw", "secrets/prod.yaml:db/password")]);
        let fp = k.fingerprint(0).unwrap();
        assert_ne!(fp, super::super::allow::fingerprint(b"q8ZrT2vLx9Pw"));
        assert_eq!(fp, origin_fingerprint("secrets/prod.yaml:db/password"));
        let other = KnownValues::new(&[known("q8ZrT2vLx9Pw", "secrets/dev.yaml:db/password")]);
        assert_ne!(other.fingerprint(0).unwrap(), fp);
    }
}
