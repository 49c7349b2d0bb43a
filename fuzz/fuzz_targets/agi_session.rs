//! Any bytes from Asterisk, cut anywhere: the AGI reply decoder gives the
//! same frames however the bytes are cut and never panics; every reply
//! reads (or fails to read) as every command's result without panicking;
//! a session driven by a script that sends a command whenever it is idle
//! answers every command exactly once and ends once; and every line, read
//! as a command, writes back to the words Asterisk would read.
//!
//! The first byte picks the cuts and the commands; the rest is what
//! Asterisk sends (the seeds are recorded connections).
#![no_main]

use agi_proto::commands::{
    Answer, AnyCommand, DatabaseGet, GetData, GetFullVariable, GetVariable, Gosub, Noop,
    RecordFile, SpeechRecognize, StreamFile,
};
use agi_proto::{
    Command, Config, Decoder, Frame, Limits, Output, RawCommand, Session, State, Transmit,
};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const LIMITS: Limits = Limits {
    max_reply: 512,
    max_request: 1024,
};

fn commands() -> Vec<AnyCommand> {
    vec![
        AnyCommand::Answer(Answer::new()),
        AnyCommand::GetVariable(GetVariable::new("X")),
        AnyCommand::Gosub(Gosub::new("c", "s", "1").arguments("a,b")),
        AnyCommand::StreamFile(StreamFile::new("f", "#")),
        AnyCommand::GetData(GetData::new("beep").max_digits(4)),
        AnyCommand::GetFullVariable(GetFullVariable::new("${X}")),
        AnyCommand::Noop(Noop::new()),
        AnyCommand::RecordFile(RecordFile::new("r", "wav", "#", 100).beep(true)),
        AnyCommand::SpeechRecognize(SpeechRecognize::new("p", 5)),
        AnyCommand::DatabaseGet(DatabaseGet::new("f", "k")),
        AnyCommand::Raw(RawCommand::new("FOO BAR")),
    ]
}

fn decode(stream: &[u8], cuts: &[usize], value: bool) -> Vec<Frame> {
    let mut d = Decoder::new(LIMITS);
    d.expect_value(value);
    let mut frames = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let to = cut.clamp(from, stream.len());
        d.feed(&stream[from..to]);
        from = to;
        while let Some(f) = d.next_frame() {
            frames.push(f);
        }
        assert!(d.buffered() <= LIMITS.max_reply.max(LIMITS.max_request) + 1);
    }
    frames.extend(d.finish());
    frames
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, stream)) = data.split_first() else {
        return;
    };
    let commands = commands();

    // The decoder: whole, byte by byte, in chunks.
    let value = ctl & 1 == 1;
    let whole = decode(stream, &[], value);
    let bytewise: Vec<usize> = (0..stream.len()).collect();
    assert_eq!(decode(stream, &bytewise, value), whole);
    let step = usize::from(ctl % 13) + 1;
    let chunks: Vec<usize> = (0..stream.len()).step_by(step).collect();
    assert_eq!(decode(stream, &chunks, value), whole);
    for frame in &whole {
        match frame {
            Frame::Reply(r) => {
                for c in &commands {
                    let _ = c.parse_reply(r);
                }
                let _ = (r.data(), r.pairs(), r.endpos(), r.usage(), r.check_status());
                let _ = format!("{r:?}");
            }
            Frame::Request(req) => {
                let _ = (req.script(), req.encode());
                assert_eq!(agi_proto::Request::parse(&req.encode()), **req);
            }
            _ => {}
        }
    }
    let _ = agi_proto::async_agi::decode_result(stream, value);

    // Lines read as commands write back to the same words.
    for line in stream.split(|&c| c == b'\n').take(16) {
        let cmd = AnyCommand::from_line(line);
        if let (Some(info), Ok(bytes)) = (cmd.info(), cmd.encode()) {
            if !matches!(cmd, AnyCommand::Raw(_)) {
                let words = info.words.len();
                let args = |l: &[u8]| agi_proto::args::split_args(l).split_off(words);
                assert_eq!(args(&bytes), args(line), "{cmd:?}");
                assert_eq!(AnyCommand::from_line(&bytes), cmd);
            }
        }
    }

    // The session, fed in chunks, sending a command whenever it is idle.
    let t0 = Instant::now();
    let config = Config {
        limits: LIMITS,
        command_timeout: (ctl & 2 == 2).then(|| Duration::from_millis(700)),
        ..Config::default()
    };
    let mut s = Session::new(config, t0);
    let mut answered: HashMap<u64, u32> = HashMap::new();
    let mut sent = Vec::new();
    let mut closed = 0;
    let mut next = usize::from(ctl);
    let mut now = t0;
    let mut from = 0;
    let mut i = 0;
    while from < stream.len() || i == 0 {
        let to = (from + step + i % 5).min(stream.len());
        s.handle_bytes(&stream[from..to], now);
        from = to;
        i += 1;
        now += Duration::from_millis(100);
        if s.poll_timeout().is_some_and(|t| t <= now) {
            s.handle_timeout(now);
        }
        if s.state() == State::Open && s.in_flight().is_none() && s.queued() == 0 {
            let c = &commands[next % commands.len()];
            next += 1;
            if let Ok(id) = s.send(c, now) {
                sent.push(id.0);
            }
        }
        if i % 97 == 50 {
            s.close(now);
        }
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Send(b) = t {
                assert!(b.ends_with(b"\n") && b.len() <= agi_proto::MAX_LINE + 1);
            }
        }
        while let Some(o) = s.poll_output() {
            assert_eq!(closed, 0, "output after Closed: {o:?}");
            match o {
                Output::Reply { id, .. } => *answered.entry(id.0).or_default() += 1,
                Output::Closed(_) => closed += 1,
                _ => {}
            }
        }
    }
    s.handle_eof(now);
    while let Some(o) = s.poll_output() {
        match o {
            Output::Reply { id, .. } => *answered.entry(id.0).or_default() += 1,
            Output::Closed(_) => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, 1);
    assert_eq!(s.state(), State::Closed);
    for id in sent {
        assert_eq!(answered.get(&id), Some(&1), "command {id}");
    }
    assert!(answered.values().all(|&n| n == 1));
});
