//! `pyemu image ...`: inspect any firmware or flash file, convert an ELF into an app image.

use super::out::outln;
use anyhow::{bail, Context};
use clap::Subcommand;
use images::app_image::{AppImage, Check};
use images::boot_info::BootInfo;
use images::bundle::Bundle;
use images::config_block::{ConfigBlock, ConfigFields};
use images::detect::{detect, FileKind, NotFlashDump};
use images::elf::{elf_to_image, Elf2ImageOptions, ElfInfo};
use images::flash::Flash;
use images::partition::PartitionTable;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Describe a file: bundle, app or bootloader image, partition table, ELF, flash dump,
    /// otadata/boot_info or config block (auto-detected). Exits 2 if any check fails.
    Info {
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Skip detection: bundle, elf, flash, app, bootloader, partitions, boot-info, config.
        #[arg(long = "as", value_name = "KIND")]
        kind: Option<String>,
    },
    /// Convert an app ELF into an ESP32 app image, as `esptool elf2image --chip esp32` does.
    Elf2image {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// SPI mode in the header: qio, qout, dio, dout.
        #[arg(long, default_value = "qio")]
        flash_mode: String,
        /// Flash frequency in the header: 40m, 26m, 20m, 80m.
        #[arg(long, default_value = "40m")]
        flash_freq: String,
        /// Flash size in the header: 1MB, 2MB, 4MB, 8MB, 16MB.
        #[arg(long, default_value = "1MB")]
        flash_size: String,
    },
}

pub fn run(cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Info { file, json, kind } => info(&file, json, kind.as_deref()),
        ImageCommand::Elf2image {
            file,
            output,
            flash_mode,
            flash_freq,
            flash_size,
        } => {
            let data =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut opts = Elf2ImageOptions::default();
            opts.header.spi_mode = match flash_mode.as_str() {
                "qio" => 0,
                "qout" => 1,
                "dio" => 2,
                "dout" => 3,
                m => bail!("unknown flash mode {m:?} (qio, qout, dio, dout)"),
            };
            let freq = match flash_freq.as_str() {
                "40m" => 0,
                "26m" => 1,
                "20m" => 2,
                "80m" => 0xF,
                f => bail!("unknown flash frequency {f:?} (40m, 26m, 20m, 80m)"),
            };
            let size = match flash_size.as_str() {
                "1MB" => 0,
                "2MB" => 1,
                "4MB" => 2,
                "8MB" => 3,
                "16MB" => 4,
                s => bail!("unknown flash size {s:?} (1MB, 2MB, 4MB, 8MB, 16MB)"),
            };
            opts.header.flash_size_freq = (size << 4) | freq;
            let img = elf_to_image(&data, &opts).with_context(|| file.display().to_string())?;
            std::fs::write(&output, &img)
                .with_context(|| format!("writing {}", output.display()))?;
            outln!("{}: {} bytes", output.display(), img.len())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every failed check found while describing a file, as "where: check failed at offset: detail".
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn add_checks(&mut self, what: &str, checks: &[Check]) {
        for c in checks.iter().filter(|c| !c.ok) {
            self.0.push(format!(
                "{what}: {} failed at offset {:#x}: {}",
                c.name, c.offset, c.detail
            ));
        }
    }
}

fn info(file: &std::path::Path, as_json: bool, kind: Option<&str>) -> anyhow::Result<ExitCode> {
    let name = file.display().to_string();
    let data = std::fs::read(file).with_context(|| format!("reading {name}"))?;
    let kind = match kind {
        Some(k) => FileKind::from_name(k).with_context(|| {
            format!(
                "unknown kind {k:?}; kinds: {}",
                FileKind::NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
        None => detect(&data),
    };
    let mut fails = Failures::default();
    let mut text = String::new();
    let mut value =
        describe(&name, &data, kind, &mut fails, &mut text).with_context(|| name.clone())?;
    if matches!(kind, FileKind::Bundle | FileKind::AppImage | FileKind::Elf | FileKind::FlashDump) {
        let id = images::identify::identify(&data, Some(&name));
        write_board(&mut text, &id);
        if let Value::Object(m) = &mut value {
            m.insert("board".into(), json!(id.board.map(|b| b.id)));
            m.insert("board_evidence".into(), json!({ "from_content": id.from_content, "evidence": id.evidence, "remarks": id.remarks }));
        }
    }
    if as_json {
        let mut v =
            json!({ "file": name, "size": data.len(), "kind": kind, "valid": fails.0.is_empty() });
        if let (Value::Object(m), Value::Object(extra)) = (&mut v, value) {
            m.extend(extra);
        }
        if !fails.0.is_empty() {
            v["failures"] = json!(fails.0);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        outln!("{name}: {} ({} bytes)", kind.describe(), data.len())?;
        super::out::print(&text)?;
    }
    if let Some(first) = fails.0.first() {
        for f in &fails.0 {
            eprintln!("pyemu: {name}: {f}");
        }
        bail!("{name}: {first}");
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(
    name: &str,
    data: &[u8],
    kind: FileKind,
    fails: &mut Failures,
    out: &mut String,
) -> anyhow::Result<Value> {
    use std::fmt::Write;
    Ok(match kind {
        FileKind::AppImage | FileKind::BootloaderImage => {
            let img = AppImage::parse(data)?;
            fails.add_checks(name, &img.checks);
            write_image(out, &img, "  ");
            json!({ "image": img })
        }
        FileKind::PartitionTable => {
            let t = PartitionTable::parse(data)?;
            fails.add_checks(name, &t.checks);
            write_table(out, &t, "  ");
            json!({ "partition_table": t })
        }
        FileKind::BootInfo => {
            let r = BootInfo::read(data)?;
            if r.info.status != 0xFFFF_FFFF && !r.crc_valid {
                fails.0.push(format!(
                    "boot_info crc failed at offset 0x24: stored {:#010x}, calculated {:#010x}",
                    r.crc, r.computed_crc
                ));
            }
            write_boot(out, &r, "  ");
            json!({ "boot_info": r })
        }
        FileKind::ConfigBlock => {
            let c = ConfigBlock::parse(data)?;
            // Detection already insisted on these; with `--as config` they are reported.
            fails.add_checks(name, &ConfigBlock::evidence(data));
            let f = c.fields();
            write_config(out, &f, "  ");
            json!({ "config": f })
        }
        FileKind::Elf => {
            let e = ElfInfo::parse(data)?;
            writeln!(out, "  ELF{}, machine {}, entry {:#x}, sha256 {}", e.class, e.machine, e.entry, e.sha256)?;
            writeln!(out, "  sections with an address:")?;
            for s in &e.sections {
                writeln!(out, "    {:<24} {:#010x} {:#8x} type {:<2} {}", s.name, s.addr, s.size, s.sh_type, s.region.name())?;
            }
            let image = match elf_to_image(data, &Elf2ImageOptions::default()) {
                Ok(bytes) => {
                    let img = AppImage::parse(&bytes)?;
                    writeln!(out, "  as an app image (elf2image): {} bytes, {} segments", bytes.len(), img.segments.len())?;
                    Some(img)
                }
                Err(e) => {
                    writeln!(out, "  cannot be made into an app image: {e}")?;
                    None
                }
            };
            json!({ "elf": e, "image": image })
        }
        FileKind::FlashDump => {
            let flash = Flash { data: data.to_vec() };
            let r = images::inspect::inspect(&flash);
            write_flash_report(out, &r, fails, name);
            json!({ "flash": r })
        }
        FileKind::Bundle => {
            let b = Bundle::from_bytes(data)?;
            let mut files = Vec::new();
            writeln!(out, "  files:")?;
            for (fname, content) in &b.files {
                let k = detect(content);
                let mut entry = json!({ "name": fname, "size": content.len(), "kind": k });
                let mut sub = String::new();
                let inner = match k {
                    FileKind::AppImage | FileKind::BootloaderImage | FileKind::PartitionTable => {
                        describe(&format!("{name}:{fname}"), content, k, fails, &mut sub)?
                    }
                    _ => json!({}),
                };
                if let (Value::Object(m), Value::Object(extra)) = (&mut entry, inner) {
                    m.extend(extra);
                }
                writeln!(out, "  {fname}: {} ({} bytes)", if k == FileKind::Unknown { "text/other" } else { k.describe() }, content.len())?;
                for line in sub.lines() {
                    writeln!(out, "  {line}")?;
                }
                files.push(entry);
            }
            // Every recipe member must parse, the ones this flash size would not pick too.
            for e in b.check_recipes() {
                fails.0.push(e.to_string());
            }
            let mut scripts = serde_json::Map::new();
            for size in [4u64 << 20, 8 << 20] {
                let key = format!("{}MB", size >> 20);
                match b.script(size) {
                    Ok(s) => {
                        writeln!(out, "  recipe for {key} flash: {} ({} instructions)", s.file, s.instructions.len())?;
                        scripts.insert(key, json!(s));
                    }
                    Err(e) => {
                        writeln!(out, "  recipe for {key} flash: unusable: {e}")?;
                        scripts.insert(key, json!({ "error": e.to_string() }));
                    }
                }
            }
            json!({ "files": files, "scripts": scripts })
        }
        FileKind::Unknown => {
            let mut why = String::new();
            // A config block has no magic: say which of its rules the bytes broke.
            if data.len() == images::config_block::CONFIG_LEN
                || data.len() == images::config_block::CONFIG_SECTOR
            {
                if let Some(c) = ConfigBlock::evidence(data).into_iter().find(|c| !c.ok) {
                    why = format!(
                        "; it has a config block's size, but {}: {}",
                        c.name, c.detail
                    );
                }
            }
            bail!(
                "not a file pyemu knows: not a bundle, ELF, app or bootloader image, partition table, flash dump, boot_info record or config block{why} (if you know what it is, use --as KIND)"
            )
        }
    })
}

/// The board the file was built for and the evidence, one clue a line.
fn write_board(out: &mut String, id: &images::identify::Identification) {
    use std::fmt::Write;
    let _ = match id.board {
        Some(b) => writeln!(out, "  board: {} ({}){}", b.id, b.name, if id.from_content { "" } else { ", from the file name only" }),
        None => writeln!(out, "  board: unknown (pass --board to run it)"),
    };
    for e in &id.evidence {
        let fits = if e.boards.is_empty() { "no known board".to_string() } else { e.boards.join(", ") };
        let _ = writeln!(out, "    {}: {} -> {fits}", e.clue.name(), e.detail);
    }
    for r in &id.remarks {
        let _ = writeln!(out, "    note: {r}");
    }
}

fn write_image(out: &mut String, img: &AppImage, ind: &str) {
    use std::fmt::Write;
    let h = &img.header;
    let _ = writeln!(
        out,
        "{ind}{} image: entry {:#010x}, {} segments, flash {} {} {}",
        if img.kind == images::app_image::ImageKind::App {
            "app"
        } else {
            "bootloader (RAM-only)"
        },
        img.entry,
        img.segments.len(),
        img.flash_mode,
        img.flash_freq,
        img.flash_size
    );
    let _ = writeln!(
        out,
        "{ind}chip id {} ({}), min rev {} (full {}), max rev full {}, WP pin {:#04x}, hash appended: {}",
        h.chip_id,
        if h.chip_id == 0 { "ESP32" } else { "not ESP32" },
        h.min_chip_rev,
        h.min_chip_rev_full,
        h.max_chip_rev_full,
        h.wp_pin,
        if h.hash_appended { "yes" } else { "no" }
    );
    let _ = writeln!(
        out,
        "{ind}segment  load addr   length    file offs  region     esptool types"
    );
    for s in &img.segments {
        let _ = writeln!(
            out,
            "{ind}{:>7}  {:#010x}  {:#08x}  {:#09x}  {:<9}  {}",
            s.index,
            s.load_addr,
            s.len,
            s.header_offset,
            s.region.name(),
            s.memory_types.join(", ")
        );
    }
    let c = &img.checksum;
    let _ = writeln!(
        out,
        "{ind}checksum {:#04x} at {:#x}: {}",
        c.stored,
        c.offset,
        if c.valid {
            "valid".to_string()
        } else {
            format!("INVALID (calculated {:#04x})", c.computed)
        }
    );
    match &img.sha256 {
        Some(d) => {
            let _ = writeln!(
                out,
                "{ind}sha256 at {:#x}: {} {}",
                d.offset,
                d.stored,
                if d.valid {
                    "valid".to_string()
                } else {
                    format!("INVALID (calculated {})", d.computed)
                }
            );
        }
        None => {
            let _ = writeln!(out, "{ind}sha256: not appended");
        }
    }
    if let Some(d) = &img.app_desc {
        let _ = writeln!(
            out,
            "{ind}app description at {:#x}: version {:?}, project {:?}, built {} {}, ESP-IDF {}",
            d.offset, d.version, d.project_name, d.date, d.time, d.idf_version
        );
    }
    if let Some(b) = &img.banner {
        let _ = writeln!(out, "{ind}banner: {b}");
    }
    let failed: Vec<_> = img.checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        let _ = writeln!(out, "{ind}checks: all {} passed", img.checks.len());
    } else {
        for c in failed {
            let _ = writeln!(
                out,
                "{ind}FAILED {} at offset {:#x}: {}",
                c.name, c.offset, c.detail
            );
        }
    }
}

fn write_table(out: &mut String, t: &PartitionTable, ind: &str) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{ind}label             type  subtype     offset     size       flags"
    );
    for p in &t.partitions {
        let _ = writeln!(
            out,
            "{ind}{:<16}  {:<4}  {:<10}  {:#09x}  {:#09x}  {}",
            p.label,
            p.type_name(),
            p.subtype_name(),
            p.offset,
            p.size,
            if p.encrypted() { "encrypted" } else { "" }
        );
    }
    match &t.md5 {
        Some(m) => {
            let _ = writeln!(
                out,
                "{ind}md5 at {:#x}: {} {}",
                m.offset,
                m.stored,
                if m.valid { "valid" } else { "INVALID" }
            );
        }
        None => {
            let _ = writeln!(out, "{ind}md5: none");
        }
    }
    for c in t.checks.iter().filter(|c| !c.ok) {
        let _ = writeln!(
            out,
            "{ind}FAILED {} at offset {:#x}: {}",
            c.name, c.offset, c.detail
        );
    }
}

fn write_boot(out: &mut String, r: &images::boot_info::BootRecord, ind: &str) {
    use std::fmt::Write;
    if r.info.status == 0xFFFF_FFFF {
        let _ = writeln!(
            out,
            "{ind}boot_info: erased (the bootloader will write factory/ready on first boot)"
        );
        return;
    }
    let _ = writeln!(
        out,
        "{ind}boot_info: active {}, status {}, prev {}, safeboot {}, size {:#x}, crc {:#010x} {}",
        r.active,
        r.status,
        r.prev,
        r.safeboot,
        r.info.size,
        r.crc,
        if r.crc_valid {
            "valid".to_string()
        } else {
            format!("INVALID (calculated {:#010x})", r.computed_crc)
        }
    );
}

fn write_config(out: &mut String, f: &ConfigFields, ind: &str) {
    use std::fmt::Write;
    if f.erased {
        let _ = writeln!(out, "{ind}config block: erased (firmware defaults: WiFi AP on boot, heartbeat on, LTE on, LittleFS)");
        return;
    }
    let _ = writeln!(
        out,
        "{ind}config block: wifi_on_boot {}, wifi_mode {}, smart_config {}, wifi_auth {}, antenna {}, heartbeat_on_boot {}",
        f.wifi_on_boot as u8,
        f.wifi_mode,
        f.wifi_smart_config as u8,
        f.wifi_auth,
        if f.wifi_antenna_internal { "internal" } else { "external" },
        f.heartbeat_on_boot as u8
    );
    let _ = writeln!(
        out,
        "{ind}  wdt_on_boot {:#04x} (timeout {:#x}), lte_modem_on_boot {:#04x}, pybytes auto_start {:#04x}, fs {}, lora_region {:#04x}",
        f.wdt_on_boot, f.wdt_on_boot_timeout, f.lte_modem_on_boot, f.pybytes_auto_start, f.boot_fs_type, f.lora_region
    );
    if let Some(s) = &f.wifi_sta_ssid {
        let _ = writeln!(out, "{ind}  STA ssid {s:?}");
    }
    if let Some(s) = &f.wifi_ap_ssid {
        let _ = writeln!(out, "{ind}  AP ssid {s:?}");
    }
    let _ = writeln!(out, "{ind}  lpwan_mac {}", f.lpwan_mac);
}

fn content_line(c: &images::inspect::SlotContent) -> String {
    use images::inspect::SlotContent;
    match c {
        SlotContent::Erased => "erased".into(),
        SlotContent::Data => "data".into(),
        SlotContent::BadImage { error } => format!("NOT A VALID IMAGE: {error}"),
        SlotContent::Image(s) => {
            let mut t = format!(
                "{} image, entry {:#010x}, {:#x} bytes, {}",
                if s.kind == images::app_image::ImageKind::App {
                    "app"
                } else {
                    "bootloader"
                },
                s.entry,
                s.length,
                if s.valid {
                    "valid".to_string()
                } else {
                    "INVALID".to_string()
                }
            );
            if let Some(v) = &s.version {
                t.push_str(&format!(", version {v}"));
            }
            for c in &s.failed_checks {
                t.push_str(&format!(
                    "; {} failed at {:#x}: {}",
                    c.name, c.offset, c.detail
                ));
            }
            t
        }
    }
}

fn write_flash_report(
    out: &mut String,
    r: &images::inspect::FlashReport,
    fails: &mut Failures,
    name: &str,
) {
    use images::inspect::SlotContent;
    use std::fmt::Write;
    let _ = writeln!(out, "  flash size {:#x} ({} MB)", r.size, r.size >> 20);
    let _ = writeln!(
        out,
        "  bootloader at 0x1000: {}",
        content_line(&r.bootloader)
    );
    if let SlotContent::Image(s) = &r.bootloader {
        fails.add_checks(&format!("{name}: bootloader at 0x1000"), &s.failed_checks);
    }
    match (&r.partition_table, &r.partition_table_error) {
        (Some(t), _) => {
            let _ = writeln!(out, "  partition table at 0x8000:");
            write_table(out, t, "    ");
            fails.add_checks(&format!("{name}: partition table at 0x8000"), &t.checks);
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "  partition table at 0x8000: NONE ({e})");
        }
        _ => {}
    }
    if !r.slots.is_empty() {
        let _ = writeln!(out, "  contents:");
    }
    for s in &r.slots {
        let _ = writeln!(
            out,
            "    {:<10} {:#09x}: {}",
            s.label,
            s.offset,
            content_line(&s.content)
        );
        if let SlotContent::Image(img) = &s.content {
            fails.add_checks(
                &format!("{name}: {} at {:#x}", s.label, s.offset),
                &img.failed_checks,
            );
        }
    }
    if let Some(b) = &r.boot_info {
        write_boot(out, b, "  ");
    }
    if let Some(c) = &r.boot_choice {
        let _ = writeln!(out, "  bootloader would start: {c}");
    }
    write_config(out, &r.config, "  ");
}

pub(crate) fn flash_info(file: &std::path::Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let name = file.display().to_string();
    let data = std::fs::read(file).with_context(|| format!("reading {name}"))?;
    if let Err(e) = images::detect::check_flash_dump(&data) {
        let hint = match e {
            NotFlashDump::OtherKind(FileKind::Bundle) => match Bundle::from_bytes(&data) {
                Ok(_) => format!("; `pyemu image info {name}` shows it, `pyemu flash build {name} -o flash.img` makes a flash image from it"),
                Err(be) => bail!("{name}: a gzip or tar archive, not a flash dump, nor a Pycom bundle: {be}"),
            },
            NotFlashDump::OtherKind(k) if k != FileKind::ConfigBlock && k != FileKind::BootInfo => {
                format!("; `pyemu image info {name}` shows it, `pyemu flash build {name} -o flash.img` makes a flash image from it")
            }
            NotFlashDump::OtherKind(_) => format!("; `pyemu image info {name}` shows it"),
            NotFlashDump::NotChipSize(_) if detect(&data) == FileKind::FlashDump => format!(
                "; it looks like a merged image that stops short of the chip's end: `pyemu image info {name}` shows it, `pyemu flash build {name} -o flash.img --board B` pads it to a chip"
            ),
            _ => String::new(),
        };
        bail!("{name}: {e}{hint}");
    }
    let flash = Flash { data };
    let r = images::inspect::inspect(&flash);
    let mut fails = Failures::default();
    let mut text = String::new();
    write_flash_report(&mut text, &r, &mut fails, &name);
    if as_json {
        let mut v = json!({ "file": name, "flash": r, "valid": fails.0.is_empty() });
        if !fails.0.is_empty() {
            v["failures"] = json!(fails.0);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        outln!("{name}: flash dump")?;
        super::out::print(&text)?;
    }
    if let Some(first) = fails.0.first() {
        bail!("{first}");
    }
    Ok(ExitCode::SUCCESS)
}
