//! Multi-line quoted values in a dotenv source (a PEM key between double quotes), as
//! python-dotenv, docker compose and dotenvx load them. A sops dotenv file holds one line
//! per value, so each such value becomes the one-line double-quoted text that means the
//! same (`\n` for each line break), before the file is parsed.

use zeroize::Zeroizing;

/// `text` with every quoted value that spans lines joined onto its first line; `None`
/// when there is none (or a quote is never closed: the parser then says where).
pub fn join_quoted_lines(text: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    // The quote of a value still open at the end of the previous line.
    let mut open: Option<char> = None;
    let mut joined = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        match open {
            None => match opening(body) {
                Some((prefix_len, quote)) => {
                    let value = &body[prefix_len + 1..];
                    if closing(value, quote).is_some() {
                        out.push_str(line);
                    } else {
                        open = Some(quote);
                        out.push_str(&body[..prefix_len]);
                        out.push('"');
                        push_escaped(&mut out, value, quote);
                    }
                }
                None => out.push_str(line),
            },
            Some(quote) => {
                joined = true;
                out.push_str("\\n");
                match closing(body, quote) {
                    None => push_escaped(&mut out, body, quote),
                    Some(end) => {
                        push_escaped(&mut out, &body[..end], quote);
                        out.push('"');
                        out.push_str(&body[end + 1..]);
                        out.push_str(&line[body.len()..]);
                        open = None;
                    }
                }
            }
        }
    }
    (joined && open.is_none()).then_some(out)
}

/// Where a `KEY=` line's value opens a quote: the length of `KEY=` (with the spaces after
/// it) and the quote.
fn opening(line: &str) -> Option<(usize, char)> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let eq = line.find('=')?;
    let after = &line[eq + 1..];
    let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
    let at = eq + 1 + spaces;
    match line[at..].chars().next() {
        Some(q @ ('"' | '\'')) => Some((at, q)),
        _ => None,
    }
}

/// The byte index of the quote closing a value in `s`: a `"` not escaped by a backslash,
/// or the next `'`.
fn closing(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quote == '"' && escaped {
            escaped = false;
        } else if quote == '"' && c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

/// A piece of the value in double-quoted text: as it is from a double-quoted value; from
/// a single-quoted (literal) one, with `\` and `"` escaped.
fn push_escaped(out: &mut String, piece: &str, quote: char) {
    if quote == '"' {
        out.push_str(piece);
        return;
    }
    for c in piece.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_over_several_lines_becomes_one_line() {
        let text = "A=1\nKEY=\"-----BEGIN KEY-----\nab\\\"c\n-----END KEY-----\" # pem\nB='x\ny\"\\z'\nC=3\n";
        let joined = join_quoted_lines(text).unwrap();
        assert_eq!(
            joined.as_str(),
            "A=1\nKEY=\"-----BEGIN KEY-----\\nab\\\"c\\n-----END KEY-----\" # pem\nB=\"x\\ny\\\"\\\\z\"\nC=3\n"
        );
    }

    #[test]
    fn nothing_to_join_or_a_quote_never_closed_is_left_to_the_parser() {
        assert!(join_quoted_lines("A=\"x\"\nB='y'\n# C=\"\n").is_none());
        assert!(join_quoted_lines("A=\"x\ny\n").is_none());
    }
}
