//! Keeping a hand-written `.secrets.yaml` as it was written where a command did not change
//! it. The YAML store re-emits a whole document in one style (block lists, its own
//! quoting, comments re-aligned, blank lines dropped), so a one-line change by `member add`
//! would rewrite a schema written in flow style. Here the text is cut into top-level
//! sections (`members:`, `schema:`…, each with the comment and blank lines above it), and
//! a section whose emitted form is the same before and after the edit is taken from the
//! original text. The caller checks that the result reads back as the edited document and
//! otherwise writes the plain emission.

/// One top-level section: its key (unquoted) and its text, from the comment and blank
/// lines above the key's line to the next section.
struct Section<'a> {
    key: String,
    text: &'a str,
}

/// `edited` (the store's emission of the edited document) with every section that
/// `canonical` (the emission of the document as read) has alike taken from `original` (the
/// text as read). `None` when the texts cannot be cut alike (no top-level keys, a key the
/// two do not share in the same order).
pub fn splice(original: &str, canonical: &str, edited: &str) -> Option<String> {
    // The store writes `\n`: kept CRLF sections beside emitted ones would mix the two.
    if original.contains('\r') {
        return None;
    }
    let orig = sections(original)?;
    let canon = sections(canonical)?;
    let new = sections(edited)?;
    if orig.len() != canon.len() || orig.iter().zip(&canon).any(|(a, b)| a.key != b.key) {
        return None;
    }
    let mut out = String::with_capacity(edited.len());
    for s in &new {
        let kept = canon
            .iter()
            .position(|c| c.key == s.key && c.text == s.text)
            .map(|i| orig[i].text);
        out.push_str(kept.unwrap_or(s.text));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

/// The text cut at its top-level keys; `None` when it has none (or one twice).
fn sections(text: &str) -> Option<Vec<Section<'_>>> {
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |at, l| {
            let start = *at;
            *at += l.len();
            Some((start, l))
        })
        .collect();
    let keys: Vec<usize> = (0..lines.len())
        .filter(|&i| top_key(lines[i].1).is_some())
        .collect();
    if keys.is_empty() {
        return None;
    }
    // A section starts above its key's line, at the comment and blank lines there.
    let mut starts = vec![0];
    for w in keys.windows(2) {
        let (prev, mut i) = (w[0], w[1]);
        while i > prev + 1 && is_gap(lines[i - 1].1) {
            i -= 1;
        }
        starts.push(lines[i].0);
    }
    starts.push(text.len());
    let mut out: Vec<Section> = Vec::with_capacity(keys.len());
    for (n, &k) in keys.iter().enumerate() {
        let key = top_key(lines[k].1)?;
        if out.iter().any(|s| s.key == key) {
            return None;
        }
        out.push(Section {
            key,
            text: &text[starts[n]..starts[n + 1]],
        });
    }
    Some(out)
}

/// A blank line, or a comment starting at the left edge.
fn is_gap(line: &str) -> bool {
    let t = line.trim_end();
    t.is_empty() || t.starts_with('#')
}

/// The key a top-level `key:` line starts, unquoted; `None` for any other line.
fn top_key(line: &str) -> Option<String> {
    let first = line.chars().next()?;
    if first.is_whitespace() || matches!(first, '#' | '-' | '.' | '%' | '[' | '{' | ']' | '}') {
        return None;
    }
    let line = line.trim_end();
    let (key, rest) = match first {
        '"' | '\'' => {
            let end = line[1..].find(first)? + 1;
            (&line[1..end], &line[end + 1..])
        }
        _ => {
            let colon = line
                .find(": ")
                .or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
            (&line[..colon], &line[colon..])
        }
    };
    rest.starts_with(':').then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "# the team\nmembers:\n  alice: age1a   # laptop\n\n# rules, by hand\nschema:\n  SECRET_KEY: {min_length: 50, forbid: [\"django-insecure-*\"]}\n  'JWT': {grace: 24h}\nenvironments:\n  prod: {files: [p/**], members: [alice]}\n";

    #[test]
    fn unchanged_sections_keep_their_text() {
        // What the store would emit for ORIGINAL, and for it with bob added.
        let canonical = "# the team\nmembers:\n  alice: age1a # laptop\n# rules, by hand\nschema:\n  SECRET_KEY:\n    min_length: 50\n    forbid:\n      - django-insecure-*\n  JWT:\n    grace: 24h\nenvironments:\n  prod:\n    files:\n      - p/**\n    members:\n      - alice\n";
        let edited = canonical.replace("# laptop\n", "# laptop\n  bob: age1b\n");
        let out = splice(ORIGINAL, canonical, &edited).unwrap();
        assert_eq!(
            out,
            "# the team\nmembers:\n  alice: age1a # laptop\n  bob: age1b\n\n# rules, by hand\nschema:\n  SECRET_KEY: {min_length: 50, forbid: [\"django-insecure-*\"]}\n  'JWT': {grace: 24h}\nenvironments:\n  prod: {files: [p/**], members: [alice]}\n"
        );
        // A new section goes where the emission puts it.
        let added = format!("{canonical}retiring:\n  - file: p/a.env\n");
        let out = splice(ORIGINAL, canonical, &added).unwrap();
        assert_eq!(out, format!("{ORIGINAL}retiring:\n  - file: p/a.env\n"));
    }

    #[test]
    fn texts_that_cannot_be_cut_alike_are_refused() {
        assert!(splice("{a: 1}\n", "a: 1\n", "a: 2\n").is_none());
        assert!(splice("a: 1\nb: 2\n", "b: 2\na: 1\n", "a: 1\n").is_none());
        assert!(splice("a: 1\na: 2\n", "a: 2\n", "a: 2\n").is_none());
        assert!(splice("a: 1\r\nb: 2\r\n", "a: 1\nb: 2\n", "a: 1\nb: 3\n").is_none());
    }

    #[test]
    fn top_keys() {
        assert_eq!(top_key("members:\n").as_deref(), Some("members"));
        assert_eq!(top_key("'a b': x\n").as_deref(), Some("a b"));
        assert_eq!(top_key("default: prod\n").as_deref(), Some("default"));
        assert_eq!(top_key("  nested: x\n"), None);
        assert_eq!(top_key("# members:\n"), None);
        assert_eq!(top_key("- item\n"), None);
        assert_eq!(top_key("http://x\n"), None);
    }
}
