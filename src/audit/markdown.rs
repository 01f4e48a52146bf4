//! The report as Markdown: one section per part of [`super::Report`], tables with a row per
//! file or value, so it renders on a forge and diffs line by line when committed.

use std::fmt::Write;

use super::{cell, columns, key_age_text, service_cell, service_columns, FileAccess, Report, When};

/// A table cell: `|` escaped and line breaks flattened, so no text breaks the table.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn row(out: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| esc(c)).collect();
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn header(out: &mut String, names: &[&str]) {
    row(
        out,
        &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    let _ = writeln!(out, "|{}", "---|".repeat(names.len()));
}

fn when(w: &Option<When>) -> String {
    w.as_ref().map(When::short).unwrap_or_else(|| "-".into())
}

/// A table with a row per file and a column per holder (a member, a key), its cells by
/// `cell`.
fn matrix(
    out: &mut String,
    r: &Report,
    cols: &[String],
    cell: fn(&FileAccess, &str) -> (&'static str, &'static str),
) {
    let mut names = vec!["File", "Environment"];
    names.extend(cols.iter().map(String::as_str));
    header(out, &names);
    for f in &r.files {
        let mut cells = vec![
            f.file.clone(),
            f.environment.clone().unwrap_or_else(|| "-".into()),
        ];
        match &f.error {
            Some(e) => cells.push(format!("unreadable: {e}")),
            None => cells.extend(cols.iter().map(|c| cell(f, c).0.to_string())),
        }
        row(out, &cells);
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Secrets access audit\n");
    let _ = writeln!(
        out,
        "Generated {} at commit {}. No value or key material is in this report.\n",
        r.generated_at,
        r.head
            .as_deref()
            .map(|h| &h[..7.min(h.len())])
            .unwrap_or("(none)")
    );
    for n in &r.notes {
        let _ = writeln!(out, "> note: {}\n", esc(n));
    }

    let _ = writeln!(out, "## Access by environment (config)\n");
    header(&mut out, &["Environment", "Members", "Files"]);
    for e in &r.environments {
        row(
            &mut out,
            &[
                e.name.clone(),
                e.members.join(", "),
                e.files.len().to_string(),
            ],
        );
    }

    let _ = writeln!(
        out,
        "\n## Access matrix (config and file recipients)\n\n`reads`: granted and wrapped for; `MISSING`: granted by the config, not in the file; `EXTRA`: in the file, not granted (run `secrets updatekeys`, or rotate to take access away).\n"
    );
    matrix(&mut out, r, &columns(r), cell);

    let keys = service_columns(r);
    if !keys.is_empty() {
        let _ = writeln!(
            out,
            "\n## Key-service matrix (config and file stanzas)\n\nVault transit, AWS KMS and PGP keys: whoever may use one (a Vault token or IAM policy that allows it, a keyring that holds it) reads the file. `reads`: the environment lists the key and the file is wrapped with it; `MISSING`: listed, not in the file (run `secrets updatekeys`); `EXTRA`: in the file, not listed (`secrets updatekeys --rotate` drops it with a new data key).\n"
        );
        matrix(&mut out, r, &keys, service_cell);
    }

    let _ = writeln!(out, "\n## Data-key age\n");
    header(&mut out, &["File", "Data key"]);
    for f in &r.files {
        row(&mut out, &[f.file.clone(), key_age_text(&f.data_key)]);
    }

    let _ = writeln!(out, "\n## Committed in plaintext\n");
    let leaked = r.committed_in_plaintext();
    if leaked.is_empty() {
        let _ = writeln!(out, "{}", super::PLAINTEXT_NONE);
    } else {
        let _ = writeln!(out, "{}\n", super::PLAINTEXT_INTRO);
        header(&mut out, &["File", "Committed in plaintext"]);
        for f in leaked {
            row(&mut out, &[f.file.clone(), super::plaintext_text(f)]);
        }
    }

    let _ = writeln!(out, "\n## Removed members\n");
    if r.removed.is_empty() {
        let _ = writeln!(out, "No key was removed from the config in history.");
    }
    for m in &r.removed {
        let _ = writeln!(
            out,
            "### {} ({}, key {})\n\nRemoved from the config: {}.\n",
            esc(&m.member),
            m.how,
            m.recipient,
            m.removed_in.short()
        );
        if m.files.is_empty() {
            let _ = writeln!(out, "No file was ever wrapped for this key.\n");
            continue;
        }
        header(
            &mut out,
            &["File", "State", "Stanza dropped", "Rotated", "Method"],
        );
        for f in &m.files {
            let state = match f.state {
                "rotated" => "rotated".to_string(),
                "not_rotated" => "NOT ROTATED: they can still decrypt it".to_string(),
                "still_recipient" => "STILL A RECIPIENT".to_string(),
                other => other.to_string(),
            };
            row(
                &mut out,
                &[
                    f.file.clone(),
                    state,
                    when(&f.dropped_in),
                    when(&f.rotated_in),
                    f.method.unwrap_or("-").to_string(),
                ],
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "\n## Values past max_age\n");
    if r.max_age.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        header(
            &mut out,
            &["Environment", "File", "Name", "State", "Detail"],
        );
        for o in &r.max_age {
            row(
                &mut out,
                &[
                    o.environment.clone(),
                    o.file.clone(),
                    o.name.clone(),
                    o.state.to_string(),
                    o.detail.clone(),
                ],
            );
        }
    }

    let _ = writeln!(out, "\n## Last change of every value\n");
    header(&mut out, &["File", "Key", "Last change", "Subject"]);
    for v in &r.values {
        let (last, subject) = match (&v.last_change, &v.reason) {
            (Some(w), _) => (w.short(), w.summary.clone().unwrap_or_default()),
            (None, reason) => (
                format!("unknown: {}", reason.as_deref().unwrap_or("")),
                String::new(),
            ),
        };
        row(&mut out, &[v.file.clone(), v.key.clone(), last, subject]);
    }
    out
}
