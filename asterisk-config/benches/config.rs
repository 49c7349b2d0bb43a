//! Throughput over the 101 sample files of Asterisk 22.10.1
//! (`tests/data/samples`): parsing into the lossless tree alone, and
//! parsing plus Asterisk's reading (templates, inheritance, includes
//! through an in-memory resolver). MB/s are 10^6 bytes of input per
//! second. `cargo bench -p asterisk-config` (`CONFIG_BENCH_SECS`, default
//! 3, sets how long each measurement runs).

use std::path::Path;
use std::time::{Duration, Instant};

use asterisk_config::{Document, Loader, MemoryResolver};

fn measure(label: &str, bytes: usize, budget: Duration, mut round: impl FnMut() -> usize) {
    // Warm up, then run whole rounds until the budget is spent.
    let mut sink = round();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        sink = sink.wrapping_add(round());
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = bytes as f64 * rounds as f64 / 1e6;
    println!(
        "{label:<14} {:>8.1} MB/s  ({rounds} rounds of {bytes} bytes in {secs:.2} s; check {})",
        mb / secs,
        sink % 10
    );
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    files.sort();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let budget = Duration::from_secs_f64(
        std::env::var("CONFIG_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    );
    println!("{} sample files, {bytes} bytes", files.len());

    measure("parse", bytes, budget, || {
        files
            .iter()
            .map(|(_, b)| Document::parse(b.as_slice()).line_count())
            .sum()
    });

    let mut resolver = MemoryResolver::new("/etc/asterisk");
    for (name, b) in &files {
        resolver.insert(name, b.clone());
    }
    measure("parse+resolve", bytes, budget, || {
        files
            .iter()
            .map(|(name, _)| match Loader::new(name).run(&mut resolver) {
                Ok(cfg) => cfg.all_sections().len(),
                Err(_) => 1,
            })
            .sum()
    });
}
