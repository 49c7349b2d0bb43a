//! `ari-conformance`: checks `ari-proto` and `ami-proto` against recorded
//! ARI and AMI traces (told apart by their `meta` line), and
//! serves a trace as a fake Asterisk.
//!
//! ```text
//! ari-conformance check [-v] [TRACE...]      ends with `N passed, N failed`
//! ari-conformance check [-v] FILE.conf ...    configuration files (see config_check)
//! ari-conformance serve TRACE [--listen ADDR] [--user U] [--password P]
//! ```

use std::path::PathBuf;
use std::process::exit;
use std::time::Duration;

mod config_check;

fn usage() -> ! {
    eprintln!(
        "usage: ari-conformance check [-v] [TRACE...]   (no TRACE: the bundled ARI and AMI traces)"
    );
    eprintln!(
        "       ari-conformance serve TRACE [--listen 127.0.0.1:0] [--user asterisk] [--password asterisk]"
    );
    exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("serve") => serve(&args[1..]),
        _ => usage(),
    }
}

fn check(args: &[String]) {
    let verbose = args.iter().any(|a| a == "-v");
    let (confs, mut files): (Vec<PathBuf>, Vec<PathBuf>) = args
        .iter()
        .filter(|a| *a != "-v")
        .map(PathBuf::from)
        .partition(|p| p.extension().is_some_and(|e| e == "conf"));
    if files.is_empty() && confs.is_empty() {
        files = conformance::bundled_traces();
        files.extend(conformance::bundled_ami_traces());
        files.extend(conformance::agi_check::bundled_agi_traces());
    }
    let (mut passed, mut failed) = config_check::check_files(&confs, verbose);
    for file in &files {
        if let Some((p, f)) = conformance::agi_check::check_if_agi(file, verbose) {
            (passed, failed) = (passed + p, failed + f);
            continue;
        }
        let trace = match conformance::AnyTrace::read(file) {
            Ok(t) => t,
            Err(e) => {
                println!("FAIL {}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        let report = trace.check();
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

fn serve(args: &[String]) {
    let Some(file) = args.first() else { usage() };
    let mut options = conformance::ServeOptions {
        patience: Duration::from_secs(120),
        ..Default::default()
    };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let Some(value) = rest.next() else { usage() };
        match flag.as_str() {
            "--listen" => options.listen = value.parse().unwrap_or_else(|_| usage()),
            "--user" => options.username = value.clone(),
            "--password" => options.password = value.clone(),
            _ => usage(),
        }
    }
    let trace = conformance::Trace::read(&PathBuf::from(file)).unwrap_or_else(|e| {
        eprintln!("{e}");
        exit(1)
    });
    let fake = conformance::FakeAsterisk::start(trace, options).unwrap_or_else(|e| {
        eprintln!("cannot listen: {e}");
        exit(1)
    });
    println!("fake Asterisk on {}", fake.base_url());
    fake.wait_played(Duration::from_secs(24 * 3600));
    // Let the client read the last frames before the sockets go.
    std::thread::sleep(Duration::from_secs(1));
    let report = fake.finish();
    println!(
        "trace played: {}; {} answers, {} frames",
        report.completed, report.requests_answered, report.frames_sent
    );
    for m in &report.mismatches {
        println!("mismatch: {m}");
    }
    if !report.completed || !report.mismatches.is_empty() {
        exit(1);
    }
}
