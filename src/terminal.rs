//! Reading a line from a terminal without echoing it: a value typed at `set`'s prompt
//! (the terminal on stdin) and an ssh key's passphrase (the controlling terminal,
//! `/dev/tty`, as ssh asks for it, so that it works when stdin is a pipe or a file).

use crate::model::SecretBuf;
use std::io::{self, Read, Write};

/// Reads one line from the terminal `fd` (read through `input`) with echo off, after
/// writing `prompt` to `out`. The bytes go straight into a wiped buffer, without the
/// line end; the terminal's settings are restored before returning, also on error, and
/// by the signal handler if Ctrl-C or another signal ends the process at the prompt.
#[cfg(unix)]
pub fn read_hidden(
    fd: std::os::fd::RawFd,
    input: &mut dyn Read,
    out: &mut dyn Write,
    prompt: &str,
) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    // SAFETY: termios is plain data; tcgetattr fills it for `fd` or fails.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut quiet = old;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // Ctrl-C (or any signal that ends us) at the prompt must not leave echo off.
    let _restore = crate::tempfiles::restore_terminal_on_signal(&old);
    // Echo off before the prompt shows: what is typed after it is never echoed.
    // SAFETY: sets `fd`'s attributes from a termios obtained from it.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let _ = out.write_all(prompt.as_bytes()).and_then(|_| out.flush());
    let mut buf = SecretBuf::with_capacity(256);
    let mut byte = [0u8; 1];
    let read = loop {
        match input.read(&mut byte) {
            Ok(0) => break Ok(()),
            Ok(_) if byte[0] == b'\n' => break Ok(()),
            Ok(_) => buf.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    zeroize::Zeroize::zeroize(&mut byte);
    // SAFETY: restores the attributes read above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    read?;
    if buf.as_slice().last() == Some(&b'\r') {
        buf.truncate(buf.len() - 1);
    }
    Ok(buf.into_zeroizing())
}

/// Asks for a passphrase on the controlling terminal (`/dev/tty`), prompt included.
/// An error when there is none (CI, a cron job, `setsid`).
#[cfg(unix)]
pub fn ask_on_tty(prompt: &str) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::os::fd::AsRawFd;
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    let mut out = tty.try_clone()?;
    read_hidden(fd, &mut tty, &mut out, prompt)
}

#[cfg(not(unix))]
pub fn ask_on_tty(_prompt: &str) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no terminal prompt on this platform",
    ))
}

/// Writes a short note to the controlling terminal (after a wrong passphrase).
pub fn say_on_tty(text: &str) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")?
        .write_all(text.as_bytes())
}
