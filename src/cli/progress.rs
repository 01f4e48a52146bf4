//! A one-line progress report on stderr for long scans. Shown only when stderr is a
//! terminal and `-q` is off (pipes, tests and CI see nothing), only once the work has run
//! for [`AFTER`] (a quick scan stays silent), redrawn at most every [`EVERY`] with `\r`,
//! and erased when the work ends, so the report that follows starts on a clean line.
//! A thread of its own reads counters the work updates; the work never waits for it.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the work runs before the line appears.
pub const AFTER: Duration = Duration::from_secs(2);
/// The shortest time between two redraws.
pub const EVERY: Duration = Duration::from_millis(100);

/// What to write to the terminal, decided from the time alone (the thread only feeds it).
#[derive(Debug)]
struct Painter {
    start: Instant,
    after: Duration,
    last: Option<Instant>,
    /// Characters of the line on screen, to blank it all.
    width: usize,
}

impl Painter {
    fn new(start: Instant, after: Duration) -> Painter {
        Painter {
            start,
            after,
            last: None,
            width: 0,
        }
    }

    /// The bytes to write at `now` for the status `status()` (asked only when drawing).
    fn tick(&mut self, now: Instant, status: impl FnOnce() -> String) -> Option<String> {
        if now.duration_since(self.start) < self.after {
            return None;
        }
        if self.last.is_some_and(|l| now.duration_since(l) < EVERY) {
            return None;
        }
        self.last = Some(now);
        let line = format!("secrets: {}", status());
        let pad = self.width.saturating_sub(line.chars().count());
        self.width = line.chars().count();
        Some(format!("\r{line}{}", " ".repeat(pad)))
    }

    /// The bytes that erase the line, if one was drawn.
    fn finish(&mut self) -> Option<String> {
        let w = std::mem::take(&mut self.width);
        (w > 0).then(|| format!("\r{}\r", " ".repeat(w)))
    }
}

/// The running progress line; dropping it stops the thread and erases the line.
pub struct Line {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Line {
    /// Starts the line when stderr is a terminal and the user did not ask for quiet;
    /// `status` says where the work is ("1,234 of 4,546 commits").
    pub fn start(quiet: bool, status: impl Fn() -> String + Send + 'static) -> Option<Line> {
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut painter = Painter::new(Instant::now(), AFTER);
            let (lock, cvar) = &*flag;
            let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !*stopped {
                if let Some(text) = painter.tick(Instant::now(), &status) {
                    let _ = std::io::stderr().write_all(text.as_bytes());
                }
                stopped = cvar
                    .wait_timeout(stopped, EVERY)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if let Some(text) = painter.finish() {
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
        });
        Some(Line {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_before_the_delay_then_throttled_then_erased() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut p = Painter::new(t0, AFTER);
        assert_eq!(p.tick(at(1_999), || unreachable!()), None);
        assert_eq!(p.finish(), None, "nothing drawn, nothing to erase");
        assert_eq!(
            p.tick(at(2_000), || "10 of 40 commits".into()).as_deref(),
            Some("\rsecrets: 10 of 40 commits")
        );
        assert_eq!(p.tick(at(2_050), || unreachable!()), None);
        // A shorter line blanks what is left of the longer one.
        assert_eq!(
            p.tick(at(2_100), || "9 files".into()).as_deref(),
            Some(format!("\rsecrets: 9 files{}", " ".repeat(9)).as_str())
        );
        assert_eq!(p.finish(), Some(format!("\r{}\r", " ".repeat(16))));
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4_546), "4,546");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
