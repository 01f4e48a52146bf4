//! The text `edit` opens for a file that does not exist yet: one example entry in the
//! file's format, under a few comment lines (where the format has comments) that say what
//! happens on save. Like git's commit template, those lines are dropped when they are still
//! there, whole, at the top, and a template saved unchanged creates no file.

use super::Format;

/// Starts every line of the header, so it is recognisable and never mistaken for the
/// user's own comments.
pub const MARK: &str = "secrets:";

/// A new file's starting text: `header` (comment lines, empty for JSON and binary) then
/// `body` (an example in the format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub header: String,
    pub body: &'static str,
}

const HEADER_LINES: [&str; 3] = [
    "a new encrypted file. Write your keys and values; on save every value is",
    "encrypted, and the keys stay readable. These lines are removed on save;",
    "saving the text unchanged creates no file.",
];

impl Template {
    /// The template for `format`. JSON has no comments: only the example object. A binary
    /// file is its bytes: it starts empty.
    pub fn for_format(format: Format) -> Template {
        let (comment, body) = match format {
            Format::Yaml => (Some('#'), "example_key: example value\n"),
            Format::Dotenv => (Some('#'), "EXAMPLE_KEY=example value\n"),
            Format::Ini => (Some(';'), "[example]\nexample_key = example value\n"),
            Format::Json => (None, "{\n\t\"example_key\": \"example value\"\n}\n"),
            Format::Binary => (None, ""),
        };
        let header = comment
            .map(|c| {
                HEADER_LINES
                    .iter()
                    .map(|l| format!("{c} {MARK} {l}\n"))
                    .collect()
            })
            .unwrap_or_default();
        Template { header, body }
    }

    /// The whole text the editor opens.
    pub fn text(&self) -> String {
        format!("{}{}", self.header, self.body)
    }

    /// The edited text without the header, when the header is still there unchanged at
    /// the top; otherwise the text as it is (the user's edits to it are theirs to keep).
    pub fn strip<'a>(&self, edited: &'a [u8]) -> &'a [u8] {
        edited
            .strip_prefix(self.header.as_bytes())
            .filter(|_| !self.header.is_empty())
            .unwrap_or(edited)
    }

    /// Whether `edited` (the whole buffer) leaves nothing to create: the template
    /// unchanged, its body alone (only the header was deleted), or nothing but white space
    /// (a binary file is created from any bytes but none).
    pub fn unchanged(&self, edited: &[u8]) -> bool {
        let rest = self.strip(edited);
        rest == self.body.as_bytes()
            || (!self.body.is_empty() && rest.iter().all(u8::is_ascii_whitespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_in_its_format_and_strips_its_header() {
        for f in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini] {
            let t = Template::for_format(f);
            let text = t.text();
            let parsed = super::super::parse_bytes::<crate::model::Plain>(f, text.as_bytes());
            assert!(parsed.is_ok(), "{f:?}: {text}");
            assert!(t.unchanged(text.as_bytes()), "{f:?}");
            assert!(t.unchanged(t.body.as_bytes()));
            assert!(t.unchanged(b"\n"));
            let edited = text.replace("example value", "v");
            assert!(!t.unchanged(edited.as_bytes()));
            assert_eq!(
                t.strip(edited.as_bytes()),
                t.body.replace("example value", "v").as_bytes()
            );
        }
        let t = Template::for_format(Format::Yaml);
        let kept = format!("# my own comment\n{}", t.text());
        assert_eq!(t.strip(kept.as_bytes()), kept.as_bytes());
        assert_eq!(Template::for_format(Format::Binary).text(), "");
    }
}
