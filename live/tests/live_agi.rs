//! FastAGI against the real Asterisk: a real SIP loop call runs
//! `AGI(agi://127.0.0.1:PORT/test)` into our server, which runs the
//! quickstart example's own handler; the far leg presses 1, 2, 3, 4 (AMI
//! `PlayDTMF`, real RFC 4733). With `RECORD_AGI=FILE` the exchange goes
//! through a recording proxy and is written as a FastAGI trace (how
//! `conformance/traces/agi/fastagi-quickstart.jsonl` was made).

use ari_tokio::agi::{self, Routes};
use ari_tokio::ami::{self, Action, Config};
use live::live;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../../ari-tokio/examples/fastagi_quickstart.rs"]
#[allow(dead_code)]
mod example;

#[tokio::test]
async fn the_quickstart_serves_a_real_call() {
    let live = live!();
    let (said_tx, mut said) = futures_channel::mpsc::unbounded::<String>();
    let routes = Routes::new().at("test", move |agi| {
        let said_tx = said_tx.clone();
        example::quickstart(agi, move |line| {
            let _ = said_tx.unbounded_send(line);
        })
    });
    let mut config = agi::ServerConfig::default();
    config.trace = true;
    let server = agi::serve_with("127.0.0.1:0".parse().unwrap(), config, routes).unwrap();
    let recorder = std::env::var("RECORD_AGI")
        .ok()
        .map(|file| Recorder::start(server.address(), file));
    let port = recorder
        .as_ref()
        .map_or(server.address().port(), |r| r.address.port());

    let manager = ami::connect(Config::new(&live.ami_addr, "admin", "amp111").unwrap())
        .await
        .unwrap();
    let id = format!("agiqs{}", std::process::id());
    let originate = Action::new("Originate")
        .header("Channel", format!("PJSIP/agi-port-{port}@loop"))
        .header("Application", "Wait")
        .header("Data", "30")
        .header("CallerID", "\"Quick Start\" <5550123>")
        .header("Async", "true")
        .header("ChannelId", &id);
    manager.send(originate).await.expect("originated");

    use futures_util::StreamExt;
    let mut lines = Vec::new();
    while let Some(line) = said.next().await {
        let done = line == "done";
        lines.push(line);
        if lines.len() == 1 {
            // The call is in the script: the far leg presses its keys once
            // the prompt has had time to start.
            let mut ami = live.ami();
            let channel = far_leg(&manager, &id).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            for digit in ['1', '2', '3', '4'] {
                ami.play_dtmf(&channel, digit).unwrap();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        if done {
            break;
        }
    }
    assert!(lines[0].starts_with("call from 5550123"), "{lines:?}");
    assert!(lines.contains(&"digits: 1234".to_string()), "{lines:?}");
    manager.close().await;
    if let Some(recorder) = recorder {
        recorder.finish();
    }
}

/// The outbound leg of the originated call (the one with our id).
async fn far_leg(manager: &ami::AmiClient, id: &str) -> String {
    let list = manager
        .send(ami::actions::CoreShowChannels::new())
        .await
        .unwrap();
    list.items
        .iter()
        .find(|i| i.get("Uniqueid").is_some_and(|u| u == id))
        .expect("the call is up")
        .get("Channel")
        .unwrap()
        .to_string()
}

/// A TCP proxy between Asterisk and the server that writes what passes
/// as a FastAGI trace (conformance/traces/agi/FORMAT.md).
struct Recorder {
    address: SocketAddr,
    records: Arc<Mutex<Vec<String>>>,
    file: String,
    done: std::thread::JoinHandle<()>,
}

impl Recorder {
    fn start(server: SocketAddr, file: String) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let records = Arc::new(Mutex::new(Vec::new()));
        let log = records.clone();
        let start = Instant::now();
        let done = std::thread::spawn(move || {
            let (asterisk, _) = listener.accept().unwrap();
            let script = TcpStream::connect(server).unwrap();
            let note = move |log: &Mutex<Vec<String>>, kind: &str, extra: String| {
                let mut log = log.lock().unwrap();
                let seq = log.len() + 1;
                let t = start.elapsed().as_secs_f64() * 1000.0;
                log.push(format!(
                    "{{\"seq\":{seq},\"t_ms\":{t:.3},\"kind\":\"{kind}\",\"conn\":\"a1\"{extra}}}"
                ));
            };
            note(&log, "tcp_open", String::new());
            let pump =
                |mut from: TcpStream, mut to: TcpStream, kind: &'static str, by: &'static str| {
                    let log = log.clone();
                    std::thread::spawn(move || {
                        let mut pending = Vec::new();
                        let mut env_done = kind == "send";
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = from.read(&mut buf).unwrap_or(0);
                            if n == 0 {
                                note(&log, "tcp_close", format!(",\"by\":\"{by}\""));
                                let _ = to.shutdown(Shutdown::Write);
                                return;
                            }
                            to.write_all(&buf[..n]).unwrap();
                            pending.extend_from_slice(&buf[..n]);
                            // Cut into units: the environment block, then lines.
                            loop {
                                let end = if env_done {
                                    pending.iter().position(|&c| c == b'\n').map(|i| i + 1)
                                } else {
                                    pending.windows(2).position(|w| w == b"\n\n").map(|i| i + 2)
                                };
                                let Some(end) = end else { break };
                                let unit: Vec<u8> = pending.drain(..end).collect();
                                env_done = true;
                                let text =
                                    serde_json::to_string(&String::from_utf8_lossy(&unit)).unwrap();
                                note(&log, kind, format!(",\"text\":{text}"));
                            }
                        }
                    })
                };
            let up = pump(
                asterisk.try_clone().unwrap(),
                script.try_clone().unwrap(),
                "recv",
                "client",
            );
            let down = pump(script, asterisk, "send", "server");
            up.join().unwrap();
            down.join().unwrap();
        });
        Recorder {
            address,
            records,
            file,
            done,
        }
    }

    fn finish(self) {
        self.done.join().unwrap();
        let meta = serde_json::json!({
            "seq": 0, "t_ms": 0, "kind": "meta", "format": 1, "protocol": "fastagi",
            "scenario": "fastagi-quickstart",
            "description": "The FastAGI quickstart (ari-tokio/examples/fastagi_quickstart.rs) on one real SIP loop call: AMI Originate of PJSIP/agi-port-PORT@loop with CallerID \"Quick Start\" <5550123> (the outbound leg runs Wait(30)); the inbound leg runs AGI(agi://127.0.0.1:PORT/test). The script: ANSWER | STREAM FILE hello-world \"\" | GET DATA beep 5000 4 (the outbound leg presses 1, 2, 3, 4 with AMI PlayDTMF about 2 s after the call starts, 250 ms apart) | SAY DIGITS 1234 \"\" | SET VARIABLE QUICKSTART_DIGITS 1234 | HANGUP, then it closes its side after Asterisk's HANGUP. Recorded through a TCP proxy by live/tests/live_agi.rs with RECORD_AGI set.",
            "asterisk_version": "22.10.1",
            "recorded_at": "2026-12-05",
        });
        let mut out = meta.to_string();
        out.push('\n');
        for line in self.records.lock().unwrap().iter() {
            out.push_str(line);
            out.push('\n');
        }
        std::fs::write(&self.file, out).unwrap();
    }
}

/// AsyncAGI over AMI on a real call: `AGI(agi:async)` hands the channel
/// to the AMI client, which answers it, sets and reads a variable, and
/// hangs it up.
#[tokio::test]
async fn async_agi_drives_a_real_call() {
    let live = live!();
    let manager = ami::client(Config::new(&live.ami_addr, "admin", "amp111").unwrap()).unwrap();
    let mut calls = manager.async_agi_calls();
    manager.open().await.unwrap();
    let id = format!("asyncagi{}", std::process::id());
    let originate = Action::new("Originate")
        .header("Channel", "PJSIP/asyncagi@loop")
        .header("Application", "Wait")
        .header("Data", "20")
        .header("Async", "true")
        .header("ChannelId", &id);
    let originated = manager.send(originate);
    use futures_util::StreamExt;
    let call = calls.next().await.expect("AsyncAGIStart");
    assert_eq!(call.request().request.as_ref().unwrap(), "async");
    call.send(&agi::commands::Answer::new()).await.unwrap();
    call.send(&agi::commands::SetVariable::new("ASYNC_SEEN", "yes"))
        .await
        .unwrap();
    let seen = call
        .send(&agi::commands::GetVariable::new("ASYNC_SEEN"))
        .await
        .unwrap();
    assert_eq!(seen.unwrap().to_string_lossy(), "yes");
    let name = call
        .send(&agi::commands::GetVariable::new("CHANNEL"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(name.to_string_lossy(), call.channel());
    call.send(&agi::commands::Hangup::new()).await.unwrap();
    originated
        .await
        .expect("the originate completes once answered");
    manager.close().await;
}

/// A FastAGI call that runs a dialplan subroutine (GOSUB, with its
/// interim `100 Trying` line) and then has its caller hang up in the middle
/// of a long `STREAM FILE`: the playback ends failed, the `HANGUP` line is
/// seen, a command a dead channel refuses fails unsent, one it takes works.
#[tokio::test]
async fn gosub_then_a_hangup_mid_stream_file() {
    let live = live!();
    let (said_tx, mut said) = futures_channel::mpsc::unbounded::<String>();
    let routes = Routes::new().at("test", move |agi: agi::Agi| {
        let say = said_tx.clone();
        async move {
            let tell = |line: String| {
                let _ = say.unbounded_send(line);
            };
            agi.send(&agi::commands::Answer::new()).await?;
            let sub = agi
                .send(&agi::commands::Gosub::new("fastagi", "agi-sub", "1").arguments("one,two"))
                .await?;
            tell(format!("gosub: {sub:?}"));
            let back = agi
                .send(&agi::commands::GetVariable::new("GOSUB_RETVAL"))
                .await?;
            tell(format!(
                "retval: {:?}",
                back.map(|v| v.to_string_lossy().into_owned())
            ));
            tell("playing".into());
            let played = agi
                .send(&agi::commands::StreamFile::new("tt-monkeys", ""))
                .await?;
            tell(format!("played: {:?}", played.result));
            // Asterisk's HANGUP line may follow the reply: wait for it.
            while !agi.is_hung_up() {
                agi.send(&agi::commands::Noop::new()).await?;
            }
            let refused = agi.send(&agi::commands::Answer::new()).await;
            tell(format!("answer after hangup: {refused:?}"));
            let name = agi
                .send(&agi::commands::GetVariable::new("CHANNEL"))
                .await?;
            tell(format!("still readable: {}", name.is_some()));
            Ok(())
        }
    });
    let server = agi::serve("127.0.0.1:0".parse().unwrap(), routes).unwrap();
    let manager = ami::connect(Config::new(&live.ami_addr, "admin", "amp111").unwrap())
        .await
        .unwrap();
    let id = format!("agihup{}", std::process::id());
    let originate = Action::new("Originate")
        .header(
            "Channel",
            format!("PJSIP/agi-port-{}@loop", server.address().port()),
        )
        .header("Application", "Wait")
        .header("Data", "30")
        .header("Async", "true")
        .header("ChannelId", &id);
    manager.send(originate).await.expect("originated");
    use futures_util::StreamExt;
    let mut lines = Vec::new();
    while let Some(line) = said.next().await {
        if line == "playing" {
            // The caller hangs up in the middle of the monkeys.
            tokio::time::sleep(Duration::from_millis(800)).await;
            let channel = far_leg(&manager, &id).await;
            manager
                .send(ami::actions::Hangup::new(&channel))
                .await
                .unwrap();
        }
        let last = line.starts_with("still readable");
        lines.push(line);
        if last {
            break;
        }
    }
    assert_eq!(lines[0], "gosub: Complete", "{lines:?}");
    assert_eq!(lines[1], "retval: Some(\"sub-done\")", "{lines:?}");
    assert_eq!(lines[3], "played: Failed", "{lines:?}");
    assert!(lines[4].contains("DeadChannel"), "{lines:?}");
    assert_eq!(lines[5], "still readable: true", "{lines:?}");
    manager.close().await;
}

/// Process AGI with EAGI's audio on a real call: a dialplan extension
/// added over AMI runs `EAGI(<our eagi_probe binary>)` on the inbound leg
/// of a SIP loop call whose outbound leg plays `hello-world`; the script
/// (started by Asterisk itself, talking over its stdin and stdout) answers,
/// reads half a second of audio from fd 3 and reports it in a variable.
#[tokio::test]
async fn an_eagi_script_hears_the_caller() {
    let live = live!();
    if std::env::var("AST_FLAVOUR").as_deref() == Ok("debian") {
        // Asterisk runs in a chroot there: it cannot see our binary.
        eprintln!("skipped: Asterisk in a chroot cannot start this build's EAGI script");
        return;
    }
    let manager = ami::client(Config::new(&live.ami_addr, "admin", "amp111").unwrap()).unwrap();
    let mut sets = manager.events_of::<ami::events::VarSet>();
    manager.open().await.unwrap();
    let exten = format!("eagi-live-{}", std::process::id());
    for (priority, app, data) in [
        ("1", "EAGI", env!("CARGO_BIN_EXE_eagi_probe")),
        ("2", "Hangup", ""),
    ] {
        let add = ami::actions::DialplanExtensionAdd::new("from-loop", &exten, priority, app)
            .application_data(data)
            .replace("yes");
        manager.send(add).await.expect("extension added");
    }
    let id = format!("eagi{}", std::process::id());
    let originate = Action::new("Originate")
        .header("Channel", format!("PJSIP/{exten}@loop"))
        .header("Context", "default")
        .header("Exten", "playback")
        .header("Priority", "1")
        .header("Async", "true")
        .header("ChannelId", &id);
    manager.send(originate).await.expect("originated");
    use futures_util::StreamExt;
    let heard = loop {
        let set = sets
            .next()
            .await
            .expect("VarSet events")
            .expect("no VarSet lost");
        if set.variable().is_some_and(|v| v == "EAGI_AUDIO") {
            break set.value().map(|v| v.to_string()).unwrap_or_default();
        }
    };
    let _ = manager
        .send(ami::actions::DialplanExtensionRemove::new(
            "from-loop",
            &exten,
        ))
        .await;
    eprintln!("EAGI_AUDIO = {heard}");
    let (bytes, loud) = heard.split_once(' ').expect("\"<bytes> <loud samples>\"");
    assert_eq!(
        bytes, "8000",
        "half a second of 8 kHz 16-bit audio: {heard}"
    );
    let loud: usize = loud.parse().unwrap();
    assert!(loud > 100, "hello-world is not silence: {heard}");
    manager.close().await;
}
