//! Growable buffers for plaintext that leave no copy behind.
//!
//! A `Vec` or `String` that grows reallocates: the allocator copies the content to a new
//! block and frees the old one *without wiping it*, so a decrypted file emitted into a
//! growing `String` leaves a trail of partial copies on the heap, and `Zeroizing` wipes
//! only the last block. [`SecretBuf`] (bytes, `io::Write`) and [`SecretText`] (UTF-8,
//! `fmt::Write` and `String`'s `push`/`push_str`) grow the same way (at least doubling,
//! so appending n bytes copies fewer than 2n in all: linear), except that the old block
//! is wiped before it is freed; the last one is wiped on drop. Neither is `Clone`, and
//! `Debug` shows only the length.
//!
//! Where the size is known, size first (`with_capacity`) and the buffer never moves.

use std::fmt;
use std::io;
use std::ops::Deref;

use zeroize::{Zeroize, Zeroizing};

/// Bytes of plaintext in memory that is wiped on every reallocation and on drop.
#[derive(Default)]
pub struct SecretBuf {
    bytes: Vec<u8>,
    /// How many times the buffer moved (for the test that growth stays logarithmic).
    #[cfg(test)]
    moves: usize,
}

impl SecretBuf {
    pub fn new() -> SecretBuf {
        SecretBuf::default()
    }

    /// An empty buffer that holds `capacity` bytes without moving.
    pub fn with_capacity(capacity: usize) -> SecretBuf {
        SecretBuf {
            bytes: Vec::with_capacity(capacity),
            #[cfg(test)]
            moves: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// Makes room for `additional` more bytes. When the buffer must move, the new block is
    /// at least twice the old one, and the old block is wiped before it is freed.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self
            .bytes
            .len()
            .checked_add(additional)
            .expect("capacity overflow");
        if needed <= self.bytes.capacity() {
            return;
        }
        let capacity = needed.max(self.bytes.capacity().saturating_mul(2)).max(64);
        let fresh = grow(&mut self.bytes, capacity);
        self.bytes = fresh;
        #[cfg(test)]
        {
            self.moves += 1;
        }
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.bytes.push(byte);
    }

    /// Shortens the buffer; the bytes past `len` stay in its block until it is wiped.
    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
    }

    /// Appends everything `reader` gives until its end, reading straight into this buffer
    /// (at least 64 KiB at a time, so a `BufReader` such as stdin's passes reads through
    /// without keeping a copy in its own buffer). Returns the number of bytes read.
    pub fn read_to_end_from(&mut self, reader: &mut impl io::Read) -> io::Result<usize> {
        const CHUNK: usize = 64 * 1024;
        let start = self.bytes.len();
        loop {
            self.reserve(CHUNK);
            let len = self.bytes.len();
            // Zero-filled within the capacity just reserved: no reallocation.
            self.bytes.resize(len + CHUNK, 0);
            match reader.read(&mut self.bytes[len..]) {
                Ok(0) => {
                    self.bytes.truncate(len);
                    return Ok(len - start);
                }
                Ok(n) => self.bytes.truncate(len + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.bytes.truncate(len),
                Err(e) => {
                    self.bytes.truncate(len);
                    return Err(e);
                }
            }
        }
    }

    /// The bytes as a zeroizing `Vec`, moved (not copied).
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut self.bytes))
    }
}

/// Moves `old`'s content into a new block of `capacity` bytes and wipes `old`'s whole block
/// (which the caller then drops, already wiped).
fn grow(old: &mut Vec<u8>, capacity: usize) -> Vec<u8> {
    let mut fresh = Vec::with_capacity(capacity);
    fresh.extend_from_slice(old);
    // Vec::zeroize wipes the elements and then the spare capacity: the whole block.
    old.zeroize();
    fresh
}

impl Drop for SecretBuf {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl Deref for SecretBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for SecretBuf {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl io::Write for SecretBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuf(<{} bytes, redacted>)", self.bytes.len())
    }
}

/// UTF-8 text of plaintext, growing as [`SecretBuf`] does: what the emitters write into.
/// It has `String`'s `push` and `push_str`, `fmt::Write` (for `write!`), and derefs to
/// `str`.
#[derive(Default)]
pub struct SecretText(SecretBuf);

impl SecretText {
    pub fn new() -> SecretText {
        SecretText::default()
    }

    pub fn with_capacity(capacity: usize) -> SecretText {
        SecretText(SecretBuf::with_capacity(capacity))
    }

    pub fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    pub fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.push_str(c.encode_utf8(&mut utf8));
    }

    /// `n` copies of `c` (indentation).
    pub fn push_repeated(&mut self, c: char, n: usize) {
        self.0.reserve(n * c.len_utf8());
        for _ in 0..n {
            self.push(c);
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: only whole `str`s and chars are ever appended, and `truncate_to` cuts
        // only at char boundaries, so the bytes are always UTF-8.
        unsafe { std::str::from_utf8_unchecked(self.0.as_slice()) }
    }

    /// Empties the text (the bytes stay in the block until it is wiped).
    pub fn clear(&mut self) {
        self.0.truncate(0);
    }

    /// Shortens the text to `len` bytes, which must fall on a char boundary.
    pub fn truncate_to(&mut self, len: usize) {
        assert!(self.as_str().is_char_boundary(len), "not a char boundary");
        self.0.truncate(len);
    }

    /// The bytes, moved (not copied).
    pub fn into_bytes(self) -> SecretBuf {
        self.0
    }

    /// The bytes as a zeroizing `Vec`, moved (not copied).
    pub fn into_zeroizing_bytes(self) -> Zeroizing<Vec<u8>> {
        self.0.into_zeroizing()
    }

    /// The text as a zeroizing `String`, moved (not copied).
    pub fn into_zeroizing_string(self) -> Zeroizing<String> {
        Zeroizing::new(self.into_public_string())
    }

    /// The text as a `String` that is *not* wiped when dropped, moved (not copied): for
    /// text that holds no plaintext (an encrypted file, a config).
    pub fn into_public_string(self) -> String {
        let bytes = std::mem::take(&mut *self.into_bytes().into_zeroizing());
        // SAFETY: UTF-8, as in `as_str`.
        unsafe { String::from_utf8_unchecked(bytes) }
    }
}

impl Deref for SecretText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SecretText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Write for SecretText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
    fn write_char(&mut self, c: char) -> fmt::Result {
        self.push(c);
        Ok(())
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretText(<{} bytes, redacted>)", self.0.len())
    }
}

impl PartialEq<str> for SecretText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SecretText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::io::Write as _;

    #[test]
    fn growing_wipes_the_old_block_before_it_is_freed() {
        let mut old = Vec::with_capacity(32);
        old.extend_from_slice(b"hunter2 and more plaintext");
        let (ptr, cap) = (old.as_ptr(), old.capacity());
        let fresh = grow(&mut old, 64);
        assert_eq!(fresh, b"hunter2 and more plaintext");
        // The old block is still allocated (`old` owns it), now empty: read it whole.
        assert_eq!((old.as_ptr(), old.capacity()), (ptr, cap));
        // SAFETY: `old` owns `cap` bytes at `ptr`, every one of them written by zeroize.
        let block = unsafe { std::slice::from_raw_parts(ptr, cap) };
        assert!(block.iter().all(|&b| b == 0), "{block:?}");
    }

    #[test]
    fn growth_is_geometric_so_appending_is_linear() {
        let mut b = SecretBuf::new();
        for i in 0..1_000_000u32 {
            b.push(i as u8);
        }
        assert_eq!(b.len(), 1_000_000);
        // 64 · 2^k ≥ 10^6 for k = 14: 15 moves, each copying at most what was there.
        assert!(b.moves <= 15, "{} moves", b.moves);
        let mut sized = SecretBuf::with_capacity(1000);
        sized.extend_from_slice(&[7; 1000]);
        assert_eq!(sized.moves, 0);
    }

    #[test]
    fn text_writes_like_a_string_and_never_shows_its_content() {
        let mut t = SecretText::new();
        t.push_str("pass");
        t.push('w');
        t.push('✓');
        write!(t, "{}-{:04x}", 12, 255).unwrap();
        t.push_repeated(' ', 3);
        assert_eq!(t, "passw✓12-00ff   ");
        t.truncate_to(5);
        assert_eq!(t.as_str(), "passw");
        let shown = format!("{t:?}");
        let shown = format!("{shown} {:?}", t.into_bytes());
        assert!(!shown.contains("pass"), "{shown}");
        let mut b = SecretBuf::new();
        b.write_all(b"x\0y").unwrap();
        assert_eq!(&*b.into_zeroizing(), b"x\0y");
    }

    #[test]
    fn reading_goes_straight_into_the_buffer() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = std::io::BufReader::new(&data[..]);
        let mut b = SecretBuf::new();
        assert_eq!(b.read_to_end_from(&mut reader).unwrap(), data.len());
        assert_eq!(b.as_slice(), &data[..]);
    }
}
