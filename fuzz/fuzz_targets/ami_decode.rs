//! Any bytes from an AMI peer, cut anywhere: the decoder never panics,
//! gives the same frames whatever the cuts, and every message it gives
//! reads back (lines, fields, command output) without panicking.
#![no_main]

use ami_proto::{DecodeError, Decoder, Frame};
use libfuzzer_sys::fuzz_target;

fn decode(data: &[u8], cuts: &[usize]) -> Vec<Result<Frame, DecodeError>> {
    let mut decoder = Decoder::new(512);
    let mut frames = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let to = cut.clamp(from, data.len());
        decoder.feed(&data[from..to]);
        from = to;
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => frames.push(Err(e)),
            }
        }
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let whole = decode(data, &[]);
    let bytewise: Vec<usize> = (0..data.len()).collect();
    let cut = decode(data, &bytewise);
    assert_eq!(whole, cut, "frames depend on how the bytes were cut");
    for frame in whole.iter().flatten() {
        if let Frame::Message(m) = frame {
            let _ = m.kind();
            let _ = m.lines().count();
            let _ = m.command_output();
            let _ = format!("{m:?}");
        }
    }
});
