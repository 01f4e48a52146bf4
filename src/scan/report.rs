//! Reports: human lines (`path:line:col: rule: description: preview`), JSON (an array of
//! findings), and SARIF 2.1.0 as GitHub code scanning accepts it (one run, the rule table,
//! results with a physical location and a partial fingerprint). Every format shows only the
//! redacted preview and the fingerprint, never a secret.

use serde_json::{json, Value};
use std::io::Write;

use super::Finding;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One line per finding, then a summary line.
pub fn human(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    for f in findings {
        let commit = f
            .commit
            .as_deref()
            .map(|c| format!(" (commit {})", &c[..c.len().min(12)]))
            .unwrap_or_default();
        let origin = f
            .origin
            .as_deref()
            .map(|o| format!(" (value of {o})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}:{}:{}: {}: {}: {}{}{}",
            f.path, f.line, f.column, f.rule, f.description, f.preview, origin, commit
        )?;
    }
    Ok(())
}

pub fn json(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, findings)?;
    writeln!(out)
}

/// The SARIF 2.1.0 log for these findings.
pub fn sarif_value(findings: &[Finding]) -> Value {
    let rules = super::all_rules();
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|(id, desc)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": desc },
                "fullDescription": { "text": desc },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "secret"] }
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let idx = rules.iter().position(|(id, _)| *id == f.rule);
            let mut r = json!({
                "ruleId": f.rule,
                "level": "error",
                "message": { "text": format!("{}: {}", f.description, f.preview) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path) },
                        "region": { "startLine": f.line.max(1), "startColumn": f.column_utf16.max(1) }
                    }
                }],
                "partialFingerprints": { "secretFingerprint/v1": f.fingerprint }
            });
            if let Some(i) = idx {
                r["ruleIndex"] = json!(i);
            }
            if let Some(c) = &f.commit {
                r["properties"] = json!({ "commit": c });
            }
            r
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "secrets",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs
            }},
            "columnKind": "utf16CodeUnits",
            "results": results
        }]
    })
}

pub fn sarif(out: &mut dyn Write, findings: &[Finding]) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &sarif_value(findings))?;
    writeln!(out)
}

/// A path as a URI reference (percent-encoding what must be): relative paths stay
/// relative to the scan root; an absolute one is a `file://` URI (not `//host/…`).
fn uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        s.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Finding {
        Finding {
            path: "a b/.env".into(),
            line: 3,
            column: 5,
            column_utf16: 5,
            rule: "aws-access-key-id".into(),
            description: "AWS access key ID".into(),
            preview: "AKIA****MPLE".into(),
            fingerprint: "00".repeat(16),
            commit: None,
            origin: None,
        }
    }

    #[test]
    fn sarif_shape() {
        let v = sarif_value(&[f()]);
        assert_eq!(v["version"], "2.1.0");
        let r = &v["runs"][0]["results"][0];
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "a%20b/.env"
        );
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
            "aws-access-key-id"
        );
    }

    #[test]
    fn human_line() {
        let mut out = Vec::new();
        human(&mut out, &[f()]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a b/.env:3:5: aws-access-key-id: AWS access key ID: AKIA****MPLE\n"
        );
    }
}
