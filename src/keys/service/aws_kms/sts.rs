//! Assuming a key's `role` through STS `AssumeRole`, as sops does before it calls KMS:
//! the caller's credentials sign the request, the temporary ones that come back sign the
//! KMS call. The session name is `secrets@HOST` (sops uses `sops@HOST`), so CloudTrail
//! shows which tool and machine assumed the role. STS answers XML; the three values we
//! need are read out of it by tag, and an error's `Code` and `Message` are shown.

use zeroize::Zeroizing;

use super::credentials::Credentials;
use super::sigv4::uri_encode;
use super::{Endpoint, Http};

/// STS's limit on a role session name.
const MAX_SESSION_NAME: usize = 64;

/// Temporary credentials for `role`, asked of STS in `region` with `base`.
pub fn assume_role(
    http: &Http,
    endpoint: &Endpoint,
    region: &str,
    role: &str,
    base: &Credentials,
) -> Result<Credentials, String> {
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName={}",
        uri_encode(role),
        uri_encode(&session_name(&hostname()))
    );
    let (status, text) = http.post(
        endpoint,
        "sts",
        region,
        &[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body.as_bytes(),
        base,
    )?;
    if !(200..300).contains(&status) {
        let code = tag(&text, "Code").unwrap_or_default();
        let message = tag(&text, "Message").unwrap_or_default();
        return Err(format!(
            "assuming role {role} failed: HTTP {status} {}: {} (with credentials from {})",
            code.as_str(),
            message.as_str(),
            base.source
        ));
    }
    let creds = tag(&text, "Credentials")
        .ok_or_else(|| format!("assuming role {role}: the STS answer holds no Credentials"))?;
    let id = tag(&creds, "AccessKeyId");
    let secret = tag(&creds, "SecretAccessKey");
    let token = tag(&creds, "SessionToken");
    match (id, secret, token) {
        (Some(id), Some(secret), Some(token)) => Ok(Credentials::new(
            &id,
            &secret,
            Some(&token),
            &format!("role {role} assumed with {}", base.source),
        )),
        _ => Err(format!(
            "assuming role {role}: the STS answer lacks a key, secret or token"
        )),
    }
}

/// The text inside the first `<name>…</name>`, entities decoded; wiped on drop since
/// it may be a secret.
pub(super) fn tag(xml: &str, name: &str) -> Option<Zeroizing<String>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    let raw = &xml[start..start + len];
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (text, len) = [
            ("&amp;", "&"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&quot;", "\""),
            ("&apos;", "'"),
        ]
        .into_iter()
        .find(|(e, _)| rest.starts_with(e))
        .map(|(e, c)| (c, e.len()))
        .unwrap_or(("&", 1));
        out.push_str(text);
        rest = &rest[len..];
    }
    out.push_str(rest);
    Some(out)
}

/// `secrets@HOST` with the characters STS refuses dropped, at most 64 characters.
fn session_name(host: &str) -> String {
    let mut name = String::from("secrets@");
    name.extend(
        host.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=,.@_-".contains(*c)),
    );
    name.truncate(MAX_SESSION_NAME);
    name
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it
    // or truncates, and the last byte is kept 0 below.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names() {
        assert_eq!(
            session_name("web-1.example.com"),
            "secrets@web-1.example.com"
        );
        assert_eq!(session_name("a b/c"), "secrets@abc");
        assert_eq!(session_name(&"h".repeat(100)).len(), 64);
    }

    #[test]
    fn tags() {
        let xml = "<R><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>a&amp;b&lt;</SecretAccessKey></Credentials></R>";
        let creds = tag(xml, "Credentials").unwrap();
        assert_eq!(*tag(&creds, "AccessKeyId").unwrap(), "AK");
        assert_eq!(*tag(&creds, "SecretAccessKey").unwrap(), "a&b<");
        assert!(tag(&creds, "SessionToken").is_none());
    }
}
