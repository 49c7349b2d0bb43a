//! `agi-proto` against every recorded FastAGI trace and the recorded
//! AsyncAGI session.

use conformance::agi_check::{AgiTrace, bundled_agi_traces, check, check_asyncagi};

#[test]
fn every_fastagi_trace_conforms() {
    let files = bundled_agi_traces();
    assert_eq!(
        files.len(),
        8,
        "the seven FastAGI scenarios of the shared traces and the quickstart call"
    );
    let mut total = 0;
    for file in files {
        let report = check(&AgiTrace::read(&file).unwrap());
        assert!(
            report.failures.is_empty(),
            "{}:\n{}",
            file.display(),
            report.failures.join("\n")
        );
        assert!(report.passed >= 15, "{}: {}", file.display(), report.passed);
        total += report.passed;
    }
    assert!(total > 500, "{total} checks");
}

#[test]
fn the_asyncagi_session_conforms() {
    let report = check_asyncagi(&conformance::bundled_ami_trace("ami-asyncagi.jsonl")).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Start, six actions, six results, the end, and the total.
    assert_eq!(report.passed, 15);
}
