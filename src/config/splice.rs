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

/// `text` cut into the frame around its one document and the document: the prelude (the
/// lines up to a `---` start marker, when there is one before any content: directives such
/// as `%YAML 1.2`, comments, the marker with its own comment), the body, and the epilogue
/// (from a `...` end marker to the end). The store writes neither, so a command's edit
/// keeps them by writing the body only.
pub fn frame(text: &str) -> (&str, &str, &str) {
    let mut at = 0;
    let mut prelude = 0;
    for line in text.split_inclusive('\n') {
        at += line.len();
        let t = line.trim_end();
        if is_marker(t, "---") {
            prelude = at;
            break;
        }
        // (a comment may be indented: `  # x` is a comment line anywhere)
        if !(t.is_empty() || t.trim_start().starts_with('#') || t.starts_with('%')) {
            break;
        }
    }
    let rest = &text[prelude..];
    let mut epilogue = rest.len();
    let mut end = rest.len();
    for line in rest.split_inclusive('\n').rev() {
        end -= line.len();
        let t = line.trim_end();
        if is_marker(t, "...") {
            epilogue = end;
            break;
        }
        if !(t.is_empty() || t.trim_start().starts_with('#')) {
            break;
        }
    }
    (&text[..prelude], &rest[..epilogue], &rest[epilogue..])
}

/// The comments of a [`frame`]'s prelude, one per line as the store writes them: the
/// comment lines and the start marker's own comment.
pub fn comments_of(prelude: &str) -> String {
    prelude
        .lines()
        .filter_map(|l| {
            // (the store keeps a comment's trailing spaces, and writes it at column 0)
            let l = l.trim_start();
            let comment = l.strip_prefix("---").map(str::trim_start).unwrap_or(l);
            comment.starts_with('#').then(|| format!("{comment}\n"))
        })
        .collect()
}

/// Whether a line is the marker alone or followed by a comment (a marker followed by
/// content, `--- {a: 1}`, starts a document on its own line and is left to the store).
fn is_marker(line: &str, marker: &str) -> bool {
    // (`---#x` is not a marker: a comment needs white space before its `#`)
    line.strip_prefix(marker).is_some_and(|rest| {
        rest.trim().is_empty()
            || (rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('#'))
    })
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

    #[test]
    fn the_frame_is_what_precedes_a_start_marker_and_follows_an_end_marker() {
        let text = "%YAML 1.2\n# made by hand\n--- # team\na: 1\n# last\n... # end\n# after\n";
        let (prelude, body, epilogue) = frame(text);
        assert_eq!(prelude, "%YAML 1.2\n# made by hand\n--- # team\n");
        assert_eq!(body, "a: 1\n# last\n");
        assert_eq!(epilogue, "... # end\n# after\n");
        assert_eq!(comments_of(prelude), "# made by hand\n# team\n");
        // As the store writes them: trailing spaces kept, at column 0.
        assert_eq!(
            comments_of("# x  \n  # y\n--- # z \n"),
            "# x  \n# y\n# z \n"
        );
        // No markers, a marker after content, one with content on its line, `---#x`.
        for text in [
            "# c\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "--- {a: 1}\n",
            "---#x\na: 1\n",
        ] {
            assert_eq!(frame(text), ("", text, ""), "{text}");
        }
        assert_eq!(frame("a: 1\n...\n"), ("", "a: 1\n", "...\n"));
        // Indented comment lines belong to the frame too.
        assert_eq!(
            frame("%YAML 1.2\n  # x\n---\na: 1\n...\n  # y\n"),
            ("%YAML 1.2\n  # x\n---\n", "a: 1\n", "...\n  # y\n")
        );
    }
}
