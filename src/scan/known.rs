//! Known values: plaintext copies of values that live in our encrypted files. The CLI
//! decrypts what the user can decrypt and hands the values here; this module only matches
//! them (exactly, all at once with Aho-Corasick) and never prints them: a finding's preview
//! is all stars. Short values (under 8 bytes) and values that are common words or numbers
//! are left out, since they would match everywhere.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use zeroize::Zeroizing;

use super::entropy;
use super::rule::Candidate;

pub const ID: &str = "known-secret-value";

/// The matcher. Note: the automaton keeps its own copy of the patterns, which
/// `aho-corasick` does not zeroize; it lives only as long as the scan.
pub struct KnownValues {
    ac: Option<AhoCorasick>,
    count: usize,
}

impl KnownValues {
    pub fn new(values: &[Zeroizing<String>]) -> KnownValues {
        let mut pats: Vec<&[u8]> = values
            .iter()
            .map(|v| v.as_bytes())
            .filter(|v| worth_matching(v))
            .collect();
        pats.sort();
        pats.dedup();
        let count = pats.len();
        let ac = if pats.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&pats)
                .ok()
        };
        KnownValues { ac, count }
    }

    /// How many values are searched for.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
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
            });
        }
    }
}

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
            Zeroizing::new("q8ZrT2vLx9Pw".to_string()),
            Zeroizing::new("true".to_string()),
            Zeroizing::new("8080".to_string()),
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
}
