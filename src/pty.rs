//! A pseudo-terminal for a UART: pyemu holds the master, a serial tool opens the slave
//! (`/dev/pts/N`, or a stable symlink to it) as it would a USB-UART's `/dev/ttyUSB0`.
//!
//! The slave starts raw at 115200 8N1 (as QEMU's `-serial pty` does), so nothing the board
//! prints is echoed back while no client is attached. Whether a client has the slave
//! open is what `poll` says of the master (POLLHUP while nobody has it open). The line
//! settings the client makes are read from the master, where the kernel shows the slave's
//! termios: its baud rate and stop bits (Linux's pty driver keeps no parity or character
//! size: it forces 8 bits, no parity, whatever the client sets). A Linux pty has no modem-control
//! lines: a client setting DTR or RTS gets ENOTTY, so nothing can reset the board through
//! a pty.

use anyhow::{bail, Context};
use peripherals::uart::{Line, Parity};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Pty {
    master: OwnedFd,
    /// The slave's path (`/dev/pts/N`).
    pub path: PathBuf,
    /// The symlink made to it, removed when the pty goes.
    link: Option<PathBuf>,
}

fn check(r: libc::c_int, what: &str) -> anyhow::Result<libc::c_int> {
    if r < 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_string());
    }
    Ok(r)
}

impl Pty {
    /// Opens a new pty; with `link`, a symlink there to its slave (a stale symlink is
    /// replaced, anything else there is an error).
    pub fn open(link: Option<&Path>) -> anyhow::Result<Pty> {
        if let Some(l) = link {
            if let Ok(md) = std::fs::symlink_metadata(l) {
                if !md.file_type().is_symlink() {
                    bail!("{}: exists and is not a symlink; pyemu will not replace it", l.display());
                }
            }
        }
        // SAFETY: plain libc calls on a descriptor this function owns.
        let master = unsafe {
            let fd = check(libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC), "opening a pseudo-terminal")?;
            let master = OwnedFd::from_raw_fd(fd);
            check(libc::grantpt(fd), "grantpt")?;
            check(libc::unlockpt(fd), "unlockpt")?;
            let flags = check(libc::fcntl(fd, libc::F_GETFL), "fcntl")?;
            check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK), "fcntl")?;
            master
        };
        let mut buf = [0 as libc::c_char; 128];
        // SAFETY: the buffer outlives the call and its length is passed.
        check(unsafe { libc::ptsname_r(master.as_raw_fd(), buf.as_mut_ptr(), buf.len()) }, "ptsname")?;
        // SAFETY: ptsname_r wrote a NUL-terminated string into buf.
        let path = PathBuf::from(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned());
        // Raw 115200 8N1 through a slave descriptor, closed again: from then on the master
        // polls POLLHUP until a client opens the slave.
        {
            let slave = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NOCTTY)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            // SAFETY: termios is plain data; the descriptor is open.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                check(libc::tcgetattr(slave.as_raw_fd(), &mut t), "tcgetattr")?;
                libc::cfmakeraw(&mut t);
                libc::cfsetspeed(&mut t, libc::B115200);
                check(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), "tcsetattr")?;
            }
        }
        let mut pty = Pty { master, path, link: None };
        if let Some(l) = link {
            let _ = std::fs::remove_file(l);
            std::os::unix::fs::symlink(&pty.path, l).with_context(|| format!("{}: cannot create the symlink", l.display()))?;
            pty.link = Some(l.to_path_buf());
        }
        Ok(pty)
    }

    /// The symlink, if one was made.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// True while a client has the slave open.
    pub fn connected(&self) -> bool {
        let mut p = libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n >= 0 && p.revents & libc::POLLHUP == 0
    }

    /// What the client sent, up to `buf.len()` bytes (0: nothing now).
    pub fn read(&self, buf: &mut [u8]) -> usize {
        // SAFETY: the buffer outlives the call and its length is passed.
        let n = unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        n.max(0) as usize
    }

    /// Writes everything, waiting while the client's input queue is full; gives up (false)
    /// when the client goes away meanwhile.
    pub fn write_all(&self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            // SAFETY: as in `read`.
            let n = unsafe { libc::write(self.master.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
            if n > 0 {
                bytes = &bytes[n as usize..];
                continue;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::Interrupted {
                return false;
            }
            if !self.connected() {
                return false;
            }
            let mut p = libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
            // SAFETY: one pollfd.
            unsafe { libc::poll(&mut p, 1, 50) };
        }
        true
    }

    /// The line the client set on the slave (its termios, seen through the master).
    pub fn line(&self) -> Option<Line> {
        // SAFETY: termios is plain data; the descriptor is open.
        let t = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(self.master.as_raw_fd(), &mut t) != 0 {
                return None;
            }
            t
        };
        // SAFETY: reads a field of an initialised termios.
        let baud = speed_of(unsafe { libc::cfgetospeed(&t) })?;
        let data_bits = match t.c_cflag & libc::CSIZE {
            libc::CS5 => 5,
            libc::CS6 => 6,
            libc::CS7 => 7,
            _ => 8,
        };
        let parity = if t.c_cflag & libc::PARENB == 0 {
            Parity::None
        } else if t.c_cflag & libc::CMSPAR != 0 {
            if t.c_cflag & libc::PARODD != 0 {
                Parity::Mark
            } else {
                Parity::Space
            }
        } else if t.c_cflag & libc::PARODD != 0 {
            Parity::Odd
        } else {
            Parity::Even
        };
        let stop_half_bits = if t.c_cflag & libc::CSTOPB != 0 { 4 } else { 2 };
        Some(Line { baud, data_bits, parity, stop_half_bits })
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(l) = &self.link {
            // Only our own link: another run may have replaced it since.
            if std::fs::read_link(l).is_ok_and(|t| t == self.path) {
                let _ = std::fs::remove_file(l);
            }
        }
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// A termios speed constant's bits per second.
fn speed_of(s: libc::speed_t) -> Option<u32> {
    use libc::*;
    let table: [(speed_t, u32); 31] = [
        (B50, 50),
        (B75, 75),
        (B110, 110),
        (B134, 134),
        (B150, 150),
        (B200, 200),
        (B300, 300),
        (B600, 600),
        (B1200, 1200),
        (B1800, 1800),
        (B2400, 2400),
        (B4800, 4800),
        (B9600, 9600),
        (B19200, 19200),
        (B38400, 38400),
        (B57600, 57600),
        (B115200, 115200),
        (B230400, 230400),
        (B460800, 460800),
        (B500000, 500000),
        (B576000, 576000),
        (B921600, 921600),
        (B1000000, 1000000),
        (B1152000, 1152000),
        (B1500000, 1500000),
        (B2000000, 2000000),
        (B2500000, 2500000),
        (B3000000, 3000000),
        (B3500000, 3500000),
        (B4000000, 4000000),
        (B0, 0),
    ];
    table.iter().find(|(k, _)| *k == s).map(|(_, v)| *v).filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_client_is_seen_with_its_line_settings() {
        let pty = Pty::open(None).unwrap();
        assert!(!pty.connected(), "nobody has the slave open yet");
        assert_eq!(pty.line(), Some(Line::n81(115200)));
        let mut slave = std::fs::OpenOptions::new().read(true).write(true).open(&pty.path).unwrap();
        assert!(pty.connected());
        // SAFETY: termios is plain data; the descriptor is open.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            libc::tcgetattr(slave.as_raw_fd(), &mut t);
            libc::cfsetspeed(&mut t, libc::B9600);
            // The kernel's pty driver keeps no parity or character size (it forces CS8
            // and clears PARENB); stop bits and the speed it keeps.
            t.c_cflag |= libc::PARENB | libc::CSTOPB;
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
        }
        assert_eq!(pty.line(), Some(Line { stop_half_bits: 4, ..Line::n81(9600) }));
        assert!(pty.write_all(b"to client"));
        let mut buf = [0u8; 64];
        let n = slave.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to client", "raw: no echo, no translation");
        slave.write_all(b"from client").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let n = pty.read(&mut buf);
        assert_eq!(&buf[..n], b"from client");
        drop(slave);
        assert!(!pty.connected());
    }

    #[test]
    fn the_link_points_at_the_slave_and_goes_with_the_pty() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyPYEMU");
        let pty = Pty::open(Some(&link)).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), pty.path);
        drop(pty);
        assert!(std::fs::symlink_metadata(&link).is_err());
        std::fs::write(&link, b"x").unwrap();
        assert!(Pty::open(Some(&link)).is_err(), "a regular file is not replaced");
    }
}
