//! The recorded FastAGI traces (in `conformance/traces/agi`) at the
//! decoder and command level: every record Asterisk sent decodes to one
//! frame however it is cut, and every command line reads as a command
//! that writes back to the same words. (The full checks, with session
//! replays, are `conformance check`'s.)

use agi_proto::commands::AnyCommand;
use agi_proto::{Command, Decoder, Frame, Limits};
use serde_json::Value;

fn records() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/traces/agi");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(f).unwrap().lines() {
            out.push((name.clone(), serde_json::from_str(line).unwrap()));
        }
    }
    assert!(out.len() > 400);
    out
}

fn frames(bytes: &[u8], first: bool, cuts: &[usize]) -> Vec<Frame> {
    let mut d = if first {
        Decoder::new(Limits::default())
    } else {
        Decoder::replies(Limits::default())
    };
    let mut out = Vec::new();
    let mut from = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        d.feed(&bytes[from..c]);
        from = c;
        out.extend(std::iter::from_fn(|| d.next_frame()));
    }
    assert_eq!(d.finish(), None);
    out
}

#[test]
fn every_received_record_is_one_frame_however_cut() {
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for (file, r) in records() {
        if r["kind"] != "recv" {
            continue;
        }
        let conn = format!("{file}/{}", r["conn"]);
        let bytes = r["text"].as_str().unwrap().as_bytes();
        let first = seen.insert(conn);
        let whole = frames(bytes, first, &[]);
        assert_eq!(whole.len(), 1, "{file} seq {}: {whole:?}", r["seq"]);
        if first {
            let Frame::Request(req) = &whole[0] else {
                panic!("{file}: no environment")
            };
            assert_eq!(req.encode(), bytes);
        } else {
            assert!(
                matches!(whole[0], Frame::Reply(_) | Frame::Hangup),
                "{whole:?}"
            );
        }
        if bytes.len() < 600 {
            let every: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(frames(bytes, first, &every), whole);
        }
        n += 1;
    }
    assert!(n > 250, "{n}");
}

#[test]
fn every_sent_line_reads_back_as_a_command() {
    let mut typed = 0;
    for (file, r) in records() {
        if r["kind"] != "send" {
            continue;
        }
        let line = r["text"].as_str().unwrap().as_bytes();
        let cmd = AnyCommand::from_line(line);
        match (&cmd, cmd.encode()) {
            (AnyCommand::Raw(_), _) => {}
            (_, Ok(bytes)) => {
                if bytes == line {
                    typed += 1;
                }
                // Written the same way, or at least to the same arguments.
                let args = |l: &[u8]| {
                    agi_proto::args::split_args(l).split_off(cmd.info().unwrap().words.len())
                };
                assert_eq!(args(&bytes), args(line), "{file} seq {}", r["seq"]);
            }
            (_, Err(e)) => assert!(line.len() > agi_proto::MAX_LINE, "{file}: {e}"),
        }
    }
    // 205 of the shared traces, 6 of the quickstart call.
    assert_eq!(typed, 211, "typed commands written byte for byte");
}

/// Inputs that once broke the `agi_session` fuzz target
/// (`fuzz/regressions/agi_session-*`): the first byte is the target's
/// control byte, the rest what Asterisk sent. However cut, they decode
/// the same.
#[test]
fn fuzz_regressions_decode_the_same_however_cut() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("agi_session-") {
            continue;
        }
        let data = std::fs::read(entry.path()).unwrap();
        let stream = &data[1..];
        let limits = Limits {
            max_reply: 512,
            max_request: 1024,
        };
        let run = |cuts: &[usize]| {
            let mut d = Decoder::new(limits);
            // As the target reads its control byte.
            d.expect_value(data[0] & 1 == 1);
            let mut out = Vec::new();
            let mut from = 0;
            for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
                d.feed(&stream[from..c]);
                from = c;
                out.extend(std::iter::from_fn(|| d.next_frame()));
            }
            out.extend(d.finish());
            out
        };
        let step = usize::from(data[0] % 13) + 1;
        let chunks: Vec<usize> = (0..stream.len()).step_by(step).collect();
        assert_eq!(run(&chunks), run(&[]), "{name} in chunks of {step}");
        let every: Vec<usize> = (0..stream.len()).collect();
        let (a, b) = (run(&every), run(&[]));
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            eprintln!(
                "{name} at {i}:\n bytewise {:?}\n whole    {:?}",
                &a[i.min(a.len())..],
                &b[i.min(b.len())..]
            );
        }
        assert_eq!(a, b, "{name}");
        n += 1;
    }
    assert!(n >= 2, "{n} regressions");
}
