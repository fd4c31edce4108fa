//! `cargo bench --bench cpu`: the figures of `pyemu bench cpu` (real ROM tinfl and MD5 on the
//! emulated core, next to qemu-xtensa), without going through the CLI.

use pyemu::cli::bench;

fn main() -> std::process::ExitCode {
    let args = bench::CpuArgs {
        mib: 1,
        runs: 5,
        qemu_reps: 20,
        qemu: "/usr/bin/qemu-xtensa".into(),
        no_qemu: std::env::var_os("PYEMU_BENCH_NO_QEMU").is_some(),
    };
    match bench::run(bench::BenchCommand::Cpu(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench cpu: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
