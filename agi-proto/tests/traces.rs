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
    assert_eq!(typed, 205, "typed commands written byte for byte");
}
