//! Comment recovery: event parsers do not report comments, so they are found in the source
//! text, outside scalars, at a line start or after white space, in order and only as far
//! into the text as the builder asks.

use super::super::StoreError;
use super::source::Source;

pub(super) struct Comment {
    pub start: usize,
    pub col: usize,
    pub text: String,
    pub inline: bool,
    pub used: bool,
}

/// Finds `#` comments outside scalars, at a line start or after white space, in order and
/// only as far as asked.
pub(super) struct CommentScanner {
    /// Byte and character position of the next unscanned character.
    byte: usize,
    chr: usize,
    col: usize,
    line_has_content: bool,
    done: bool,
    pub found: Vec<Comment>,
}

impl CommentScanner {
    pub(super) fn new() -> Self {
        CommentScanner {
            byte: 0,
            chr: 0,
            col: 0,
            line_has_content: false,
            done: false,
            found: Vec::new(),
        }
    }

    /// Moves over `seg` (no comment starts in it), keeping line, column and content state.
    fn skip(&mut self, seg: &str) {
        let n = seg.chars().count();
        self.chr += n;
        self.byte += seg.len();
        match seg.rfind('\n') {
            Some(p) => {
                let tail = &seg[p + 1..];
                self.col = tail.chars().count();
                self.line_has_content = tail.chars().any(|c| !c.is_whitespace());
            }
            None => {
                self.col += n;
                self.line_has_content =
                    self.line_has_content || seg.chars().any(|c| !c.is_whitespace());
            }
        }
    }

    /// Scans until more than `want` comments are found, the scan reaches character
    /// `limit`, or the text ends.
    pub(super) fn scan(
        &mut self,
        text: &str,
        src: &mut Source<'_>,
        want: usize,
        limit: usize,
    ) -> Result<(), StoreError> {
        let bytes = text.as_bytes();
        while !self.done && self.found.len() <= want && self.chr < limit {
            let Some(off) = text[self.byte..].find('#') else {
                self.skip(&text[self.byte..]);
                self.done = true;
                break;
            };
            let hash = self.byte + off;
            self.skip(&text[self.byte..hash]);
            if self.chr >= limit {
                break;
            }
            let after_space = hash == 0 || matches!(bytes[hash - 1], b' ' | b'\t' | b'\n' | b'\r');
            if after_space && !src.in_scalar(self.chr)? {
                let end = text[hash..]
                    .find(['\n', '\r'])
                    .map_or(text.len(), |e| hash + e);
                let body = &text[hash + 1..end];
                self.found.push(Comment {
                    start: self.chr,
                    col: self.col,
                    text: body.to_string(),
                    inline: self.line_has_content,
                    used: false,
                });
                // The comment's own characters count for neither the column nor content.
                self.chr += 1 + body.chars().count();
                self.byte = end;
            } else {
                self.chr += 1;
                self.byte = hash + 1;
                self.col += 1;
                self.line_has_content = true;
            }
        }
        Ok(())
    }
}
