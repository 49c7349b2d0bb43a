//! `ari-conformance check [-v] TRACE...`: checks `ari-proto` against recorded
//! ARI traces and ends with `N passed, N failed`.

use std::path::PathBuf;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => {}
        _ => {
            eprintln!("usage: ari-conformance check [-v] TRACE...  (no TRACE: the bundled traces)");
            exit(2);
        }
    }
    let verbose = args.iter().any(|a| a == "-v");
    let mut files: Vec<PathBuf> = args[1..]
        .iter()
        .filter(|a| *a != "-v")
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        files = conformance::bundled_traces();
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let trace = match conformance::Trace::read(file) {
            Ok(t) => t,
            Err(e) => {
                println!("FAIL {}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        let report = conformance::check_trace(&trace);
        let status = if report.failures.is_empty() {
            "ok  "
        } else {
            "FAIL"
        };
        println!(
            "{status} {} ({} checks passed, {} failed)",
            file.display(),
            report.passed,
            report.failures.len()
        );
        for f in &report.failures {
            println!("     {f}");
        }
        if verbose {
            for n in &report.notes {
                println!("     note: {n}");
            }
        }
        passed += report.passed;
        failed += report.failures.len();
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        exit(1);
    }
}
