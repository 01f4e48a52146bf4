//! Tokens found by their shape alone, with no keyword near them: Discord bot tokens.
//!
//! A bot token is `base64(user id).base64(timestamp).hmac` and is passed bare
//! (`client.login("MTk4…")`), so the word `discord` is rarely on its line. Its first part
//! is base64 of a decimal id, and base64 of ASCII digits starts every four-character group
//! with `M`, `N` or `O` (`0x30..=0x39 >> 2`): a random run of 24 characters passes that by
//! chance about once in 10^8, which is what keeps a keyword-free rule quiet. The search
//! anchors on the `.xxxxxx.` of the timestamp, found with `memchr`, so it costs one pass
//! over the bytes.

use super::entropy;
use super::rule::Candidate;

/// The rule the finding is reported under: the same as the named rule's
/// (`DISCORD_TOKEN = "…"`), so one token is one finding whichever way it was found.
pub const DISCORD_ID: &str = "discord-bot-token";

/// Base64 of an 18- or 19-digit id (every id since 2015), without padding.
const ID_PART: std::ops::RangeInclusive<usize> = 24..=26;
/// Base64url of a 4-byte timestamp.
const TIME_PART: usize = 6;
/// The HMAC: 27 characters in older tokens, 38 in newer ones.
const HMAC_PART: std::ops::RangeInclusive<usize> = 27..=38;

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Every Discord bot token in `hay`, appended to `out` in order.
pub fn find(hay: &[u8], out: &mut Vec<Candidate>) {
    for dot in memchr::memchr_iter(b'.', hay) {
        if let Some((start, end)) = discord_at(hay, dot) {
            out.push(Candidate {
                rule: DISCORD_ID,
                start,
                end,
                known: None,
            });
        }
    }
}

/// Whether [`find`] would find anything in `hay`.
pub fn may_occur(hay: &[u8]) -> bool {
    memchr::memchr_iter(b'.', hay).any(|dot| discord_at(hay, dot).is_some())
}

/// The token whose first `.` is at `dot`, if one is there.
fn discord_at(hay: &[u8], dot: usize) -> Option<(usize, usize)> {
    let second_dot = dot + 1 + TIME_PART;
    if hay.get(second_dot) != Some(&b'.')
        || !hay[dot + 1..second_dot].iter().all(|&b| is_token_byte(b))
    {
        return None;
    }
    let run = hay[..dot]
        .iter()
        .rev()
        .take(*ID_PART.end() + 3)
        .take_while(|&&b| is_token_byte(b))
        .count();
    let hmac_len = hay[second_dot + 1..]
        .iter()
        .take(*HMAC_PART.end() + 1)
        .take_while(|&&b| is_token_byte(b))
        .count();
    let end = second_dot + 1 + hmac_len;
    // A dot after it that continues a dotted name (`….x`) makes this part of something
    // longer (a dot before it, `a.MTk4…`, is checked with the id); a full stop ending a
    // sentence does not.
    let continues =
        hay.get(end) == Some(&b'.') && hay.get(end + 1).is_some_and(|&b| is_token_byte(b));
    if !HMAC_PART.contains(&hmac_len) || continues {
        return None;
    }
    // The id is the whole run of token bytes before the dot, or its tail right after an
    // escape that ends in a letter or digit (`%20MTk4…`, `\nMTk4…`).
    let start = ID_PART
        .rev()
        .filter_map(|len| dot.checked_sub(len))
        .find(|&s| {
            s + run >= dot
                && ((s + run == dot && (s == 0 || hay[s - 1] != b'.')) || escape_before(hay, s))
                && hay[s..dot]
                    .iter()
                    .step_by(4)
                    .all(|b| matches!(b, b'M' | b'N' | b'O'))
        })?;
    let token = &hay[start..end];
    let hmac = &hay[second_dot + 1..end];
    (entropy::shannon(hmac) >= 3.5
        && !entropy::is_placeholder(hmac)
        && !super::published::is_published_example(token))
    .then_some((start, end))
}

/// A percent-escape (`%20`) or a backslash escape (`\n`, `\t`, `\r`) just before `at`.
fn escape_before(hay: &[u8], at: usize) -> bool {
    let percent =
        at >= 3 && hay[at - 3] == b'%' && hay[at - 2..at].iter().all(u8::is_ascii_hexdigit);
    let backslash = at >= 2 && hay[at - 2] == b'\\' && matches!(hay[at - 1], b'n' | b't' | b'r');
    percent || backslash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        find(s.as_bytes(), &mut out);
        out.iter().map(|c| s[c.start..c.end].to_string()).collect()
    }

    // Token-shaped strings made for this test: an id that is base64 of digits, random rest.
    const OLD: &str = "MTI4NDkxMDM3NTU2MjgzODQw.Gh3kQz.p9Vx2LmQw8RtZ4nKc7YbJf1sHdA";
    const NEW: &str = "MTI4NDkxMDM3NTU2MjgzODQwNg.GAbc9x.Xk2pQ9vLm4Rt7wZn1Yc8Jf3sHd6Ga0Ub5Ve";

    #[test]
    fn bare_tokens_are_found_in_code_and_prose() {
        assert_eq!(found(&format!("client.login(\"{OLD}\")\n")), [OLD]);
        assert_eq!(found(&format!("token={NEW}\n")), [NEW]);
        assert_eq!(found(&format!("see {OLD}, then")), [OLD]);
        assert!(may_occur(format!("x\n{NEW}\n").as_bytes()));
    }

    #[test]
    fn tokens_after_escapes_and_before_a_full_stop() {
        assert_eq!(found(&format!("My bot token is {OLD}.")), [OLD]);
        assert_eq!(found(&format!("x={OLD}...")), [OLD]);
        assert_eq!(found(&format!("GET /api?auth=Bot%20{NEW} HTTP/1.1")), [NEW]);
        assert_eq!(found(&format!("{{\"log\":\"token is\\n{OLD}\"}}")), [OLD]);
        assert_eq!(found(&format!("\\t{NEW}")), [NEW]);
    }

    #[test]
    fn near_misses_are_not() {
        // The id is not base64 of digits (a `P` where a group starts).
        assert!(found("PTI4NDkxMDM3NTU2MjgzODQw.Gh3kQz.p9Vx2LmQw8RtZ4nKc7YbJf1sHdA").is_empty());
        // Middle part of 5, hmac of 26, id of 27.
        assert!(found("MTI4NDkxMDM3NTU2MjgzODQw.Gh3kQ.p9Vx2LmQw8RtZ4nKc7YbJf1sHdA").is_empty());
        assert!(found("MTI4NDkxMDM3NTU2MjgzODQw.Gh3kQz.p9Vx2LmQw8RtZ4nKc7YbJf1sHd").is_empty());
        assert!(found("MTI4NDkxMDM3NTU2MjgzODQwNjA.Gh3kQz.p9Vx2LmQw8RtZ4nKc7YbJf1sHdA").is_empty());
        // Part of a longer dotted chain, and a placeholder hmac.
        assert!(found(&format!("a.{OLD}")).is_empty());
        assert!(found(&format!("{OLD}.x")).is_empty());
        // A run of token bytes longer than an id, with no escape before its tail.
        assert!(found(&format!("x0{OLD}")).is_empty());
        assert!(found("MTI4NDkxMDM3NTU2MjgzODQw.Gh3kQz.xxxxxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
        assert!(!may_occur(
            b"a.b.c and some.other.text_that_is_long_enough_to_matter"
        ));
    }
}
