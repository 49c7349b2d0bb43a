//! Process AGI over pipes: a thread plays Asterisk's side of the recorded
//! quickstart call (the environment, then each recorded reply, after
//! checking each command the script wrote), the script runs the
//! quickstart with `ProcessAgi`.

use ari_client::agi::{DataEntry, ProcessAgi, commands};
use conformance::agi_check::{AgiKind, AgiTrace};
use std::io::{BufRead, BufReader, Write};

#[test]
fn a_process_script_runs_the_recorded_call() {
    let trace =
        AgiTrace::read(&conformance::bundled_agi_trace("fastagi-quickstart.jsonl")).unwrap();
    let (script_in, mut asterisk_out) = std::io::pipe().unwrap();
    let (asterisk_in, script_out) = std::io::pipe().unwrap();
    let asterisk = std::thread::spawn(move || {
        let mut commands = BufReader::new(asterisk_in);
        let mut matched = 0;
        for record in &trace.records {
            match &record.kind {
                AgiKind::Recv(bytes) => asterisk_out.write_all(bytes).unwrap(),
                AgiKind::Send(line) => {
                    let mut got = Vec::new();
                    commands.read_until(b'\n', &mut got).unwrap();
                    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(line));
                    matched += 1;
                }
                // The script closes its side: Asterisk's last lines follow.
                AgiKind::Close(by) if by == "server" => {}
                _ => {}
            }
        }
        matched
    });

    let mut agi = ProcessAgi::new(script_in, script_out, Default::default()).unwrap();
    assert_eq!(agi.request().caller_id.as_ref().unwrap(), "5550123");
    agi.send(&commands::Answer::new()).unwrap();
    agi.send(&commands::StreamFile::new("hello-world", ""))
        .unwrap();
    let entry = agi
        .send(&commands::GetData::new("beep").timeout(5000).max_digits(4))
        .unwrap();
    let DataEntry::Digits { digits, .. } = entry else {
        panic!("{entry:?}")
    };
    assert_eq!(digits, "1234");
    agi.send(&commands::SayDigits::new(digits.as_str(), ""))
        .unwrap();
    agi.send(&commands::SetVariable::new(
        "QUICKSTART_DIGITS",
        digits.as_str(),
    ))
    .unwrap();
    agi.send(&commands::Hangup::new()).unwrap();
    agi.close();
    assert_eq!(asterisk.join().unwrap(), 6);
}
