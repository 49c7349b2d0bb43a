//! `ast record agi`: FastAGI, written as traces/agi/FORMAT.md says.
//! Asterisk connects to the recorder, the recorder to the FastAGI server.
//! Asterisk's bytes are cut into the environment block, then one reply
//! line each (a `520-` usage block whole, up to its `520 ` line); the
//! server's into command lines. Each side's close is a record of its own.

use super::file::{Field, TraceFile, today};
use super::relay::{Side, Units, len_through, line_len, payload, relay};
use super::{Options, bind, connect, description, serve, tcp_address};
use crate::{Failure, Outcome};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The length of Asterisk's unit at the start of `bytes`, the environment
/// block once `environment` is false.
fn asterisk_unit_len(bytes: &[u8], environment: bool) -> Option<usize> {
    if !environment {
        return len_through(bytes, b"\n\n");
    }
    let first = line_len(bytes)?;
    if !bytes.starts_with(b"520-") {
        return Some(first);
    }
    let mut end = first;
    loop {
        let len = line_len(&bytes[end..])?;
        let last = bytes[end..].starts_with(b"520 ");
        end += len;
        if last {
            return Some(end);
        }
    }
}

/// The value of `agi_NAME` in an environment block.
fn env_value<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block.lines().find_map(|l| {
        l.strip_prefix("agi_")?
            .strip_prefix(name)?
            .strip_prefix(": ")
    })
}

/// The recording, shared by its connections.
struct Recording {
    file: TraceFile,
    to: String,
    /// `agi_version` of the first call.
    asterisk_version: Mutex<Option<String>>,
}

/// One call's records.
struct Call {
    recording: Arc<Recording>,
    conn: String,
    environment: bool,
    commands: usize,
    ended: usize,
}

impl Call {
    fn record(&self, kind: &str, bytes: &[u8]) {
        let fields = [("conn", json!(self.conn)), payload(bytes)];
        self.recording.file.record(kind, &fields);
    }
}

impl Units for Call {
    fn cut(&mut self, from: Side, pending: &[u8]) -> Option<usize> {
        match from {
            Side::Client => asterisk_unit_len(pending, self.environment),
            Side::Server => line_len(pending),
        }
    }

    fn unit(&mut self, from: Side, unit: &[u8]) {
        match from {
            Side::Client => {
                if !self.environment {
                    self.environment = true;
                    let block = String::from_utf8_lossy(unit);
                    if let Some(v) = env_value(&block, "version") {
                        let mut version = self
                            .recording
                            .asterisk_version
                            .lock()
                            .unwrap_or_else(|p| p.into_inner());
                        version.get_or_insert_with(|| v.to_string());
                    }
                    outln!(
                        "{}: call on {} ({})",
                        self.conn,
                        env_value(&block, "channel").unwrap_or("?"),
                        env_value(&block, "request").unwrap_or("?")
                    );
                }
                self.record("recv", unit);
            }
            Side::Server => {
                self.commands += 1;
                self.record("send", unit);
            }
        }
    }

    fn end(&mut self, from: Side, leftover: &[u8]) {
        let (kind, by) = match from {
            Side::Client => ("recv", "client"),
            Side::Server => ("send", "server"),
        };
        if !leftover.is_empty() {
            self.record(kind, leftover);
        }
        let fields = [("conn", json!(self.conn)), ("by", json!(by))];
        self.recording.file.record("tcp_close", &fields);
        self.ended += 1;
        if self.ended == 2 {
            outln!("{}: ended, {} commands", self.conn, self.commands);
        }
    }
}

/// The meta line.
fn meta(options: &Options, version: Option<&str>) -> Vec<Field> {
    vec![
        ("format", json!(1)),
        ("protocol", json!("fastagi")),
        ("scenario", json!(options.scenario)),
        (
            "description",
            json!(description(options, "Asterisk and the FastAGI server at")),
        ),
        ("asterisk_version", json!(version.unwrap_or_default())),
        ("recorded_at", json!(today())),
    ]
}

/// Records FastAGI calls until stopped.
pub async fn run(options: Options) -> Outcome {
    let to = tcp_address(&options.to)?;
    let listener = bind(options.listen).await?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let file = TraceFile::create(&options.out, &meta(&options, None))
        .map_err(|e| Failure::failed(format!("{}: {e}", options.out.display())))?;
    outln!(
        "recording FastAGI on {address} for {to} into {}; Ctrl-C stops\nAGI(agi://{address}/...)",
        options.out.display()
    );
    let recording = Arc::new(Recording {
        file,
        to,
        asterisk_version: Mutex::new(None),
    });
    // Calls the server did not take are not in the trace (its format has
    // no refused call), so they are not counted.
    let calls = Arc::new(AtomicUsize::new(0));
    let why = serve(listener, options.once, |asterisk, _| {
        let (recording, calls) = (recording.clone(), calls.clone());
        async move {
            let server = match connect(&recording.to).await {
                Ok(server) => server,
                Err(e) => {
                    outln!(
                        "a call was dropped, not recorded: {} is not answering: {e}",
                        recording.to
                    );
                    return None;
                }
            };
            let _ = server.set_nodelay(true);
            let conn = format!("a{}", calls.fetch_add(1, Ordering::Relaxed) + 1);
            recording.file.record("tcp_open", &[("conn", json!(conn))]);
            Some(async move {
                let mut call = Call {
                    recording,
                    conn,
                    environment: false,
                    commands: 0,
                    ended: 0,
                };
                relay(asterisk, server, Vec::new(), Vec::new(), &mut call).await;
            })
        }
    })
    .await;
    let version = recording
        .asterisk_version
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let records = recording
        .file
        .finish(&meta(&options, version.as_deref()))
        .map_err(Failure::failed)?;
    outln!(
        "stopped ({why}): {records} records in {}; Asterisk {}",
        options.out.display(),
        version.as_deref().unwrap_or("unknown (no call)")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_is_cut_into_the_environment_then_replies() {
        let env = b"agi_network: yes\nagi_version: 22.10.1\n\n200 result=0\n";
        assert_eq!(asterisk_unit_len(env, false), Some(39));
        assert_eq!(asterisk_unit_len(b"agi_network: yes\n", false), None);
        assert_eq!(asterisk_unit_len(b"200 result=1\nHANGUP\n", true), Some(13));
        let usage = b"520-Invalid command syntax.  Proper usage follows:\nUsage: x\n520 End of proper usage.\nHANGUP\n";
        assert_eq!(asterisk_unit_len(usage, true), Some(usage.len() - 7));
        assert_eq!(asterisk_unit_len(&usage[..60], true), None);
        let block = String::from_utf8_lossy(env);
        assert_eq!(env_value(&block, "version"), Some("22.10.1"));
        assert_eq!(env_value(&block, "channel"), None);
    }
}
