//! Partition table parser and its checks, plus re-serialising what parsed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = images::PartitionTable::parse(data) {
        let _ = t.run_checks(Some(8 << 20));
        let _ = t.verify();
        let _ = images::PartitionTable::to_bytes(&t.partitions, true);
    }
});
