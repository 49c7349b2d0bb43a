//! The core against every recorded trace, and the checker against traces
//! corrupted on purpose: it must be able to fail.

use conformance::{Trace, check_trace};

#[test]
fn every_bundled_trace_conforms() {
    let files = conformance::bundled_traces();
    assert_eq!(
        files.len(),
        11,
        "the ten shared scenarios and this project's outbound-websocket recording"
    );
    let mut total = 0;
    for file in files {
        let trace = Trace::read(&file).unwrap();
        let report = check_trace(&trace);
        assert!(
            report.failures.is_empty(),
            "{}:\n{}",
            file.display(),
            report.failures.join("\n")
        );
        assert!(
            report.passed > 10,
            "{}: only {} checks",
            file.display(),
            report.passed
        );
        total += report.passed;
    }
    assert!(total > 1500, "{total} checks");
}

fn hello_world() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/hello-world.jsonl"
    ))
    .unwrap()
}

/// Replaces the first occurrence of `from` in lines of `kind`.
fn corrupt(trace: &str, kind: &str, from: &str, to: &str) -> Trace {
    let mut done = false;
    let text: Vec<String> = trace
        .lines()
        .map(|l| {
            if !done && l.contains(&format!("\"kind\":\"{kind}\"")) && l.contains(from) {
                done = true;
                l.replacen(from, to, 1)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "nothing to corrupt: {from}");
    Trace::parse(&text.join("\n")).unwrap()
}

fn failures(trace: &Trace) -> Vec<String> {
    check_trace(trace).failures
}

#[test]
fn a_corrupted_event_fails() {
    let f = failures(&corrupt(
        &hello_world(),
        "ws_recv",
        r#"\"channel\":{"#,
        r#"\"chanel\":{"#,
    ));
    assert!(
        f.iter()
            .any(|l| l.contains("does not decode") && l.contains("channel")),
        "{f:?}"
    );
    let f = failures(&corrupt(
        &hello_world(),
        "ws_recv",
        r#"\"language\":\"en\""#,
        r#"\"language\":\"en\",\"novel\":1"#,
    ));
    assert!(
        f.iter()
            .any(|l| l.contains("not in the typed model") && l.contains(".novel")),
        "{f:?}"
    );
    let f = failures(&corrupt(
        &hello_world(),
        "ws_recv",
        r#"\"state\":\"Up\""#,
        r#"\"state\":\"Sideways\""#,
    ));
    assert!(
        f.iter().any(|l| l.contains("unknown value \"Sideways\"")),
        "{f:?}"
    );
}

#[test]
fn a_corrupted_request_fails() {
    let f = failures(&corrupt(
        &hello_world(),
        "http_request",
        r#"["callerId","#,
        r#"["callerid","#,
    ));
    assert!(
        f.iter()
            .any(|l| l.contains("unknown parameter \"callerid\"")),
        "{f:?}"
    );
    let f = failures(&corrupt(
        &hello_world(),
        "http_request",
        r#""method":"POST""#,
        r#""method":"PUT""#,
    ));
    assert!(f.iter().any(|l| l.contains("no operation is PUT")), "{f:?}");
}

#[test]
fn a_corrupted_response_fails() {
    let f = failures(&corrupt(
        &hello_world(),
        "http_response",
        r#""state":"Down""#,
        r#""state":"Down","brand_new":true"#,
    ));
    assert!(f.iter().any(|l| l.contains("$.brand_new")), "{f:?}");
    // A response that never came: the replay notices the unanswered request.
    let original = hello_world();
    let text: Vec<&str> = original
        .lines()
        .filter(|l| !l.contains(r#""kind":"http_response","id":1,"#))
        .collect();
    let trace = Trace::parse(&text.join("\n")).unwrap();
    let f = failures(&trace);
    assert!(f.iter().any(|l| l.contains("got no answer")), "{f:?}");
}

#[test]
fn malformed_traces_are_errors_not_panics() {
    assert!(Trace::parse("not json").is_err());
    assert!(
        Trace::parse(
            r#"{"seq":0,"kind":"meta","scenario":"x"}
{"seq":1,"kind":"teleport"}"#
        )
        .is_err()
    );
    assert!(
        Trace::parse(r#"{"seq":1,"kind":"ws_recv","conn":"ws1","text":"{}"}"#).is_err(),
        "no meta line"
    );
}
