//! An EAGI script for the live tests: Asterisk starts it with
//! `EAGI(/path/to/eagi_probe)`. It answers, reads half a second of the
//! caller's audio from fd 3 (8 kHz signed 16-bit linear, 8,000 bytes),
//! and tells what it heard in the channel variable `EAGI_AUDIO`:
//! `<bytes read> <samples not silent>`.

use ari_client::agi::{ProcessAgi, commands, eagi_audio};
use std::io::Read;

const HALF_A_SECOND: usize = 8_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut agi = ProcessAgi::from_stdio()?;
    agi.send(&commands::Answer::new())?;
    let mut audio = eagi_audio()?;
    let mut heard = vec![0u8; HALF_A_SECOND];
    let mut read = 0;
    while read < heard.len() {
        match audio.read(&mut heard[read..])? {
            0 => break,
            n => read += n,
        }
    }
    let loud = heard[..read]
        .chunks_exact(2)
        .filter(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs() > 64)
        .count();
    agi.send(&commands::SetVariable::new(
        "EAGI_AUDIO",
        format!("{read} {loud}"),
    ))?;
    Ok(())
}
