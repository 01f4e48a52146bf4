//! The report as one self-contained HTML page: inline CSS, no script, no external fetch,
//! so it opens from disk in any browser and can be mailed or attached as is. Every text is
//! escaped; drift and unrotated files are coloured and also spelled out (colour is not the
//! only signal).

use std::fmt::Write;

use super::{cell, columns, key_age_text, service_cell, service_columns, FileAccess, Report, When};

/// Text for an element or a quoted attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;background:#fff}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #888;padding:4px 10px;text-align:left;vertical-align:top}\
th{background:#dde3ea}\
td.ok{background:#c8ecc8}\
td.drift{background:#f6c6c6;font-weight:bold}\
td.bad{background:#f6c6c6;font-weight:bold}\
td.good{background:#c8ecc8}\
.note{color:#7a4b00}";

struct Table<'a> {
    out: &'a mut String,
}

impl<'a> Table<'a> {
    fn new(out: &'a mut String, id: &str, head: &[&str]) -> Table<'a> {
        let _ = write!(out, "<table id=\"{}\"><thead><tr>", esc(id));
        for h in head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>\n");
        Table { out }
    }

    fn row(&mut self, cells: &[(String, &str)]) {
        self.out.push_str("<tr>");
        for (text, class) in cells {
            if class.is_empty() {
                let _ = write!(self.out, "<td>{}</td>", esc(text));
            } else {
                let _ = write!(self.out, "<td class=\"{class}\">{}</td>", esc(text));
            }
        }
        self.out.push_str("</tr>\n");
    }
}

impl Drop for Table<'_> {
    fn drop(&mut self) {
        self.out.push_str("</tbody></table>\n");
    }
}

fn plain(s: impl Into<String>) -> (String, &'static str) {
    (s.into(), "")
}

fn when(w: &Option<When>) -> String {
    w.as_ref().map(When::short).unwrap_or_else(|| "-".into())
}

/// A table (`id`) with a row per file and a column per holder (a member, a key), its
/// cells by `cell`.
fn matrix(
    out: &mut String,
    r: &Report,
    id: &str,
    cols: &[String],
    cell: fn(&FileAccess, &str) -> (&'static str, &'static str),
) {
    let mut head = vec!["File", "Environment"];
    head.extend(cols.iter().map(String::as_str));
    let mut t = Table::new(out, id, &head);
    for f in &r.files {
        let mut cells = vec![
            plain(&f.file),
            plain(f.environment.clone().unwrap_or_else(|| "-".into())),
        ];
        match &f.error {
            Some(e) => cells.push((format!("unreadable: {e}"), "bad")),
            None => cells.extend(cols.iter().map(|c| {
                let (text, kind) = cell(f, c);
                (text.to_string(), if kind == "none" { "" } else { kind })
            })),
        }
        t.row(&cells);
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
    let _ = writeln!(
        out,
        "<title>Secrets access audit</title><style>{STYLE}</style></head><body>"
    );
    let _ = writeln!(
        out,
        "<h1>Secrets access audit</h1><p>Generated {} at commit {}. No value or key material is in this report.</p>",
        esc(&r.generated_at),
        esc(r.head.as_deref().map(|h| &h[..7.min(h.len())]).unwrap_or("(none)"))
    );
    for n in &r.notes {
        let _ = writeln!(out, "<p class=\"note\">note: {}</p>", esc(n));
    }

    out.push_str("<h2>Access by environment (config)</h2>\n");
    {
        let mut t = Table::new(
            &mut out,
            "environments",
            &["Environment", "Members", "Files"],
        );
        for e in &r.environments {
            t.row(&[
                plain(&e.name),
                plain(e.members.join(", ")),
                plain(e.files.len().to_string()),
            ]);
        }
    }

    out.push_str("<h2>Access matrix (config and file recipients)</h2>\n<p><b>reads</b>: granted and wrapped for; <b>MISSING</b>: granted by the config, not in the file; <b>EXTRA</b>: in the file, not granted.</p>\n");
    matrix(&mut out, r, "matrix", &columns(r), cell);

    let keys = service_columns(r);
    if !keys.is_empty() {
        out.push_str("<h2>Key-service matrix (config and file stanzas)</h2>\n<p>Vault transit, AWS KMS and PGP keys: whoever may use one (a Vault token or IAM policy that allows it, a keyring that holds it) reads the file. <b>reads</b>: the environment lists the key and the file is wrapped with it; <b>MISSING</b>: listed, not in the file; <b>EXTRA</b>: in the file, not listed.</p>\n");
        matrix(&mut out, r, "services", &keys, service_cell);
    }

    out.push_str("<h2>Data-key age</h2>\n");
    {
        let mut t = Table::new(&mut out, "data-keys", &["File", "Data key"]);
        for f in &r.files {
            t.row(&[plain(&f.file), plain(key_age_text(&f.data_key))]);
        }
    }

    out.push_str("<h2>Committed in plaintext</h2>\n");
    let leaked = r.committed_in_plaintext();
    if leaked.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", code_spans(super::PLAINTEXT_NONE));
    } else {
        let _ = writeln!(out, "<p>{}</p>", code_spans(super::PLAINTEXT_INTRO));
        let mut t = Table::new(&mut out, "plaintext", &["File", "Committed in plaintext"]);
        for f in leaked {
            t.row(&[plain(&f.file), plain(super::plaintext_text(f))]);
        }
    }

    out.push_str("<h2>Removed members</h2>\n");
    if r.removed.is_empty() {
        out.push_str("<p>No key was removed from the config in history.</p>\n");
    }
    for m in &r.removed {
        let _ = writeln!(
            out,
            "<h3>{} ({}, key {})</h3><p>Removed from the config: {}.</p>",
            esc(&m.member),
            m.how,
            esc(&m.recipient),
            esc(&m.removed_in.short())
        );
        let mut t = Table::new(
            &mut out,
            &format!("removed-{}", m.member),
            &["File", "State", "Stanza dropped", "Rotated", "Method"],
        );
        for f in &m.files {
            let state = match f.state {
                "rotated" => ("rotated".to_string(), "good"),
                "not_rotated" => ("NOT ROTATED: they can still decrypt it".to_string(), "bad"),
                "still_recipient" => ("STILL A RECIPIENT".to_string(), "bad"),
                other => (other.to_string(), ""),
            };
            t.row(&[
                plain(&f.file),
                state,
                plain(when(&f.dropped_in)),
                plain(when(&f.rotated_in)),
                plain(f.method.unwrap_or("-")),
            ]);
        }
    }

    out.push_str("<h2>Values past max_age</h2>\n");
    if r.max_age.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        let mut t = Table::new(
            &mut out,
            "max-age",
            &["Environment", "File", "Name", "State", "Detail"],
        );
        for o in &r.max_age {
            t.row(&[
                plain(&o.environment),
                plain(&o.file),
                plain(&o.name),
                (
                    o.state.to_string(),
                    if o.state == "overdue" { "bad" } else { "" },
                ),
                plain(&o.detail),
            ]);
        }
    }

    out.push_str("<h2>Last change of every value</h2>\n");
    {
        let mut t = Table::new(
            &mut out,
            "values",
            &["File", "Key", "Last change", "Subject"],
        );
        for v in &r.values {
            let (last, subject) = match (&v.last_change, &v.reason) {
                (Some(w), _) => (w.short(), w.summary.clone().unwrap_or_default()),
                (None, reason) => (
                    format!("unknown: {}", reason.as_deref().unwrap_or("")),
                    String::new(),
                ),
            };
            t.row(&[plain(&v.file), plain(&v.key), plain(last), plain(subject)]);
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// Markdown-style text with `code` spans, escaped, the spans as `<code>`.
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part).to_string()
            }
        })
        .collect()
}
