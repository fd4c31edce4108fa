//! Running a program under Debian's `qemu-xtensa` (user mode).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const QEMU: &str = "/usr/bin/qemu-xtensa";

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `exit_group(code)` after writing `stdout`.
    Exited { code: i32, stdout: Vec<u8> },
    /// Killed by signal `sig` (SIGILL 4, SIGFPE 8, SIGSEGV 11, SIGBUS 7, ...).
    Signal { sig: i32, stdout: Vec<u8> },
}

pub fn available() -> Option<PathBuf> {
    let p = PathBuf::from(QEMU);
    if p.exists() {
        return Some(p);
    }
    // Fall back to PATH.
    let out = Command::new("sh").arg("-c").arg("command -v qemu-xtensa").output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Runs `elf` under `qemu-xtensa -cpu <cpu>`.
pub fn run(qemu: &PathBuf, cpu: &str, elf: &[u8]) -> Outcome {
    let dir = std::env::temp_dir().join(format!("pyemu-isa-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("t{}.elf", SEQ.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, elf).unwrap();
    let mut perm = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).unwrap();
    // `ulimit -c 0`: a guest dying of a signal must not leave core files behind.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c 0; exec \"$0\" -cpu \"$1\" \"$2\"")
        .arg(qemu)
        .arg(cpu)
        .arg(&path)
        .current_dir(&dir)
        .output()
        .expect("cannot run qemu-xtensa");
    let _ = std::fs::remove_file(&path);
    use std::os::unix::process::ExitStatusExt;
    match out.status.code() {
        Some(code) => {
            if code >= 128 && !out.stderr.is_empty() {
                // sh reports a signal death of its exec'd child as 128 + sig only when it
                // is not the direct parent; with `exec` the status is the real one.
            }
            Outcome::Exited { code, stdout: out.stdout }
        }
        None => Outcome::Signal { sig: out.status.signal().unwrap_or(-1), stdout: out.stdout },
    }
}

pub fn cleanup() {
    let dir = std::env::temp_dir().join(format!("pyemu-isa-oracle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}
