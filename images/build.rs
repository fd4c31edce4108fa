//! Finds the ESP32 mask ROM ELF, flasher stub and ESP-IDF bootloader inside the `espflash`
//! package that Cargo downloads from crates.io, and hands their paths to the crate as
//! compile-time environment variables (`include_bytes!` then embeds them). Nothing is copied
//! into the repository.
//!
//! `espflash` is declared in `Cargo.toml` under `[target.'cfg(any())'.dependencies]`: a target
//! that never matches, so Cargo locks and (for `cargo metadata`) downloads the package but never
//! compiles it. Its source directory comes from `cargo metadata` run on this package's
//! manifest (Cargo holds no package-cache lock while build scripts run, so this cannot
//! deadlock; it is retried with `--offline` when the network is unavailable).
//!
//! Overrides, in order of precedence:
//! - `PYEMU_ESP32_ROM_ELF`, `PYEMU_ESP32_STUB_TOML`, `PYEMU_ESP32_BOOTLOADER`: one file each;
//! - `PYEMU_ESPFLASH_DIR`: an unpacked `espflash` package (the directory holding `resources/`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const ESPFLASH_VERSION: &str = "4.7.0";
const ROM_ELF: &str = "resources/roms/esp32_rev0_rom.elf";
const STUB_TOML: &str = "resources/stubs/esp32.toml";
const BOOTLOADER: &str = "resources/bootloaders/esp32-bootloader.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in [
        "PYEMU_ESP32_ROM_ELF",
        "PYEMU_ESP32_STUB_TOML",
        "PYEMU_ESP32_BOOTLOADER",
        "PYEMU_ESPFLASH_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let overrides = [
        ("PYEMU_ESP32_ROM_ELF", ROM_ELF),
        ("PYEMU_ESP32_STUB_TOML", STUB_TOML),
        ("PYEMU_ESP32_BOOTLOADER", BOOTLOADER),
    ];
    let all_overridden = overrides.iter().all(|(var, _)| env::var_os(var).is_some());
    let package_dir = if all_overridden {
        None
    } else {
        Some(espflash_dir())
    };

    for (var, rel) in overrides {
        let path = match env::var_os(var) {
            Some(p) => PathBuf::from(p),
            None => package_dir
                .as_ref()
                .expect("package dir located above")
                .join(rel),
        };
        if !path.is_file() {
            panic!(
                "pyemu images: {} not found (set {var} to override)",
                path.display()
            );
        }
        let path = path.canonicalize().unwrap_or(path);
        println!("cargo:rerun-if-changed={}", path.display());
        println!("cargo:rustc-env={var}_PATH={}", path.display());
    }
}

/// The unpacked `espflash` package directory.
fn espflash_dir() -> PathBuf {
    if let Some(dir) = env::var_os("PYEMU_ESPFLASH_DIR") {
        return PathBuf::from(dir);
    }
    let mut errors = Vec::new();
    for offline in [false, true] {
        match from_cargo_metadata(offline) {
            Ok(dir) => return dir,
            Err(e) => errors.push(e),
        }
    }
    // Last resort: the registry cache of the current CARGO_HOME.
    if let Some(dir) = scan_registry() {
        println!(
            "cargo:warning=cargo metadata failed ({}); using {}",
            errors.join("; "),
            dir.display()
        );
        return dir;
    }
    panic!(
        "pyemu images: cannot locate the espflash {ESPFLASH_VERSION} package (it holds the ESP32 \
         mask ROM): {}. Run `cargo fetch`, or set PYEMU_ESPFLASH_DIR / PYEMU_ESP32_ROM_ELF.",
        errors.join("; ")
    );
}

fn from_cargo_metadata(offline: bool) -> Result<PathBuf, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest =
        Path::new(&env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?).join("Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest);
    if offline {
        cmd.arg("--offline");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "cargo metadata{}: {}",
            if offline { " --offline" } else { "" },
            err.trim()
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    for p in packages {
        if p["name"] == "espflash" && p["version"] == ESPFLASH_VERSION {
            let manifest_path = p["manifest_path"]
                .as_str()
                .ok_or("espflash: no manifest_path")?;
            let dir = Path::new(manifest_path)
                .parent()
                .ok_or("espflash: bad manifest_path")?;
            if dir.join(ROM_ELF).is_file() {
                return Ok(dir.to_path_buf());
            }
            return Err(format!("{} has no {ROM_ELF}", dir.display()));
        }
    }
    Err(format!(
        "espflash {ESPFLASH_VERSION} is not in the dependency graph"
    ))
}

fn scan_registry() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    for index in std::fs::read_dir(src).ok()?.flatten() {
        let dir = index.path().join(format!("espflash-{ESPFLASH_VERSION}"));
        if dir.join(ROM_ELF).is_file() {
            return Some(dir);
        }
    }
    None
}
