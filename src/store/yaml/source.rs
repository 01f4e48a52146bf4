//! The event stream of one YAML text: saphyr-parser's events with their spans, plus the
//! positions of scalars (possibly ahead of the events handed out), which the comment
//! scanner needs to tell a `#` inside a scalar from one that starts a comment.
//!
//! When the next comment is far ahead (more than `READ_AHEAD` events), a second parser over
//! the same text supplies the scalar positions instead, so memory stays bounded.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use std::collections::VecDeque;

use super::super::StoreError;

/// Events the main parser may buffer while looking for scalar positions ahead.
const READ_AHEAD: usize = 1024;

pub(super) type Spanned<'t> = (Event<'t>, Span);

/// The parser events, plus the positions of scalars (in characters, in document order) for
/// the comment scanner, possibly ahead of the events handed out.
pub(super) struct Source<'t> {
    text: &'t str,
    /// Character → byte offsets of `text` (saphyr's markers count characters).
    pub chars: CharMap,
    main: Parser<'t, StrInput<'t>>,
    main_done: bool,
    /// The first syntax error; parsing stops there.
    failed: Option<saphyr_parser::ScanError>,
    ahead: VecDeque<Spanned<'t>>,
    /// Scalars seen by the main parser so far.
    main_scalars: usize,
    /// The second parser, only for scalar positions; `None` until needed.
    scout: Option<Parser<'t, StrInput<'t>>>,
    scout_done: bool,
    scout_scalars: usize,
    /// Scalar spans not yet passed by the comment scanner.
    spans: VecDeque<(usize, usize)>,
    /// Scalars ever pushed to `spans`; every scalar up to here is known.
    spans_total: usize,
    /// All scalars are known.
    spans_complete: bool,
}

fn syntax_error(e: &saphyr_parser::ScanError) -> StoreError {
    StoreError::syntax(
        e.marker().line(),
        e.marker().col() + 1,
        e.info().to_string(),
    )
}

impl<'t> Source<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Source {
            text,
            chars: CharMap::new(text),
            main: Parser::new_from_str(text),
            main_done: false,
            failed: None,
            ahead: VecDeque::new(),
            main_scalars: 0,
            scout: None,
            scout_done: false,
            scout_scalars: 0,
            spans: VecDeque::new(),
            spans_total: 0,
            spans_complete: false,
        }
    }

    /// Records the `n`-th scalar (0-based) of the document, whichever parser saw it first.
    fn saw_scalar(&mut self, n: usize, ev: &Event<'_>, span: &Span) {
        if n == self.spans_total {
            let end = self.scalar_end(ev, span);
            self.spans.push_back((span.start.index(), end));
            self.spans_total += 1;
        }
    }

    /// Where a scalar's value ends on its first line, for a comment after it: after the
    /// closing quote of a quoted scalar. A block scalar (`|`, `>`) has its header on the line
    /// before its span, which starts at its text: `None`, its comment is found by line.
    pub(super) fn value_end(&self, ev: &Event<'_>, span: &Span) -> Option<usize> {
        match ev {
            Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..) => None,
            _ => Some(self.scalar_end(ev, span)),
        }
    }

    /// Where the header (`|`, `>`) of a block scalar whose text starts at character `i`
    /// stands: its character index and column, on the line before (for a list item,
    /// after its dashes).
    pub(super) fn block_header(&self, i: usize) -> (usize, usize) {
        let start = self.previous_line_start(i);
        let byte = self.chars.byte(self.text, start);
        let line = self.text[byte..].split('\n').next().unwrap_or("");
        let mut col = line.len() - line.trim_start_matches(' ').len();
        while line[col..].starts_with("- ") {
            col += 2 + line[col + 2..].len() - line[col + 2..].trim_start_matches(' ').len();
        }
        // Columns in characters: only ASCII spaces and dashes were skipped.
        (start + col, col)
    }

    /// The character index where the header line (`|`, `>`) of a block scalar whose text
    /// starts at character `i` begins: the last line before the line of `i` that is not
    /// blank, since the text may start with empty lines (which saphyr's span skips).
    pub(super) fn previous_line_start(&self, i: usize) -> usize {
        let byte = self.chars.byte(self.text, i);
        let mut end = self.text[..byte].rfind('\n').unwrap_or(0);
        loop {
            let start = self.text[..end].rfind('\n').map_or(0, |n| n + 1);
            let blank = self.text[start..end]
                .trim_matches([' ', '\t', '\r'])
                .is_empty();
            if start == 0 || !blank {
                return i - self.text[start..byte].chars().count();
            }
            end = start - 1;
        }
    }

    /// Where a scalar really ends (a character index). saphyr's span of a quoted scalar runs
    /// on over the white space and comment after its closing quote (`b: "y"   # c`), which
    /// would hide that comment inside the scalar; the closing quote is found in the text.
    fn scalar_end(&self, ev: &Event<'_>, span: &Span) -> usize {
        let Event::Scalar(_, style, ..) = ev else {
            return span.end.index();
        };
        let quote = match style {
            ScalarStyle::DoubleQuoted => '"',
            ScalarStyle::SingleQuoted => '\'',
            _ => return span.end.index(),
        };
        let from = self.chars.byte(self.text, span.start.index());
        let mut chars = self.text[from..].chars();
        if chars.next() != Some(quote) {
            return span.end.index();
        }
        let mut n = 1;
        while let Some(c) = chars.next() {
            n += 1;
            if quote == '"' && c == '\\' {
                if chars.next().is_some() {
                    n += 1;
                }
            } else if c == quote {
                // In single quotes `''` is an escaped quote, not the end.
                if quote == '\'' && chars.clone().next() == Some('\'') {
                    chars.next();
                    n += 1;
                } else {
                    return span.start.index() + n;
                }
            }
        }
        span.end.index()
    }

    /// The next event of the main parser, read from the parser itself.
    fn pull_main(&mut self) -> Result<Option<Spanned<'t>>, StoreError> {
        if let Some(e) = &self.failed {
            return Err(syntax_error(e));
        }
        if self.main_done {
            return Ok(None);
        }
        match self.main.next_event() {
            None => {
                self.main_done = true;
                self.spans_complete = true;
                Ok(None)
            }
            Some(Err(e)) => {
                let err = syntax_error(&e);
                self.failed = Some(e);
                Err(err)
            }
            Some(Ok((ev, span))) => {
                if matches!(ev, Event::Scalar(..)) {
                    self.saw_scalar(self.main_scalars, &ev, &span);
                    self.main_scalars += 1;
                }
                Ok(Some((ev, span)))
            }
        }
    }

    /// The next event for the builder.
    pub(super) fn next(&mut self) -> Result<Option<Spanned<'t>>, StoreError> {
        match self.ahead.pop_front() {
            Some(ev) => Ok(Some(ev)),
            None => self.pull_main(),
        }
    }

    /// Learns the position of one more scalar (or that there are none): from the main parser
    /// while its read-ahead is small, else from the scout.
    fn learn_span(&mut self) -> Result<(), StoreError> {
        if self.spans_complete {
            return Ok(());
        }
        let use_scout = self.ahead.len() >= READ_AHEAD && !self.scout_done;
        if !use_scout {
            if let Some(ev) = self.pull_main()? {
                self.ahead.push_back(ev);
            }
            return Ok(());
        }
        let text = self.text;
        let scout = self.scout.get_or_insert_with(|| Parser::new_from_str(text));
        match scout.next_event() {
            // A syntax error: the main parser reports it when it gets there.
            None | Some(Err(_)) => {
                self.scout_done = true;
                self.scout = None;
            }
            Some(Ok((ev, span))) => {
                if matches!(ev, Event::Scalar(..)) {
                    self.saw_scalar(self.scout_scalars, &ev, &span);
                    self.scout_scalars += 1;
                }
                if matches!(ev, Event::StreamEnd) {
                    self.spans_complete = true;
                    self.scout = None;
                    self.scout_done = true;
                }
            }
        }
        Ok(())
    }

    /// Is character `i` inside a scalar? Spans ending at or before `i` are dropped, so `i`
    /// must not decrease between calls.
    pub(super) fn in_scalar(&mut self, i: usize) -> Result<bool, StoreError> {
        loop {
            while self.spans.front().is_some_and(|s| s.1 <= i) {
                self.spans.pop_front();
            }
            if let Some(&(start, _)) = self.spans.front() {
                return Ok(start <= i);
            }
            if self.spans_complete {
                return Ok(false);
            }
            self.learn_span()?;
        }
    }

    /// After the builder failed: a syntax error anywhere in the text wins, as when the
    /// whole text was parsed first.
    pub(super) fn first_syntax_error(&mut self) -> Option<StoreError> {
        self.ahead.clear();
        loop {
            match self.pull_main() {
                Err(e) => return Some(e),
                Ok(None) => return None,
                Ok(Some(_)) => {}
            }
        }
    }
}

/// Character index → byte offset, for saphyr markers (which count characters): the
/// identity for ASCII text, else a checkpoint every `STEP` characters.
pub(super) struct CharMap {
    ascii: bool,
    checkpoints: Vec<usize>,
}

impl CharMap {
    const STEP: usize = 64;

    pub(super) fn new(text: &str) -> Self {
        if text.is_ascii() {
            return CharMap {
                ascii: true,
                checkpoints: Vec::new(),
            };
        }
        let checkpoints = text
            .char_indices()
            .step_by(Self::STEP)
            .map(|(b, _)| b)
            .collect();
        CharMap {
            ascii: false,
            checkpoints,
        }
    }

    /// The byte offset of character `i` (the text length past the end).
    pub(super) fn byte(&self, text: &str, i: usize) -> usize {
        if self.ascii {
            return i.min(text.len());
        }
        let Some(&base) = self.checkpoints.get(i / Self::STEP) else {
            return text.len();
        };
        text[base..]
            .char_indices()
            .nth(i % Self::STEP)
            .map_or(text.len(), |(o, _)| base + o)
    }
}
