//! `ast record ami`: AMI over TCP, written as traces/ami/FORMAT.md says.
//! Asterisk's bytes are cut at the banner line, then at each `\r\n\r\n`;
//! the client's at each empty line (`\r\n` or a bare `\n` ending a line,
//! as Asterisk reads). The `Secret` and `Key` of a `Login` are written as
//! [`REDACTED`].

use super::file::{Field, TraceFile, today};
use super::relay::{Side, Units, len_through, line_len, payload, relay};
use super::{Options, bind, connect, description, serve, tcp_address};
use crate::{Failure, Outcome};
use conformance::ami_trace::REDACTED;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the session showed about the server and the client's ids.
#[derive(Default)]
struct Learned {
    asterisk_version: Option<String>,
    ami_version: Option<String>,
    action_ids: Vec<String>,
    channel_ids: Vec<String>,
    user_events: Vec<String>,
    agi_command_ids: Vec<String>,
}

impl Learned {
    /// Reads a message from Asterisk.
    fn heard(&mut self, text: &str) {
        if let Some(version) = text
            .strip_prefix("Asterisk Call Manager/")
            .map(str::trim_end)
        {
            self.ami_version.get_or_insert_with(|| version.to_string());
        }
        for (name, value) in fields(text) {
            let version = match name {
                n if n.eq_ignore_ascii_case("AsteriskVersion") => Some(value),
                // `core show version`: "Asterisk 22.10.1 built by ...".
                n if n.eq_ignore_ascii_case("Output") => value
                    .strip_prefix("Asterisk ")
                    .and_then(|v| v.split_once(" built by "))
                    .map(|(v, _)| v),
                _ => None,
            };
            if let Some(v) = version.filter(|v| !v.is_empty()) {
                self.asterisk_version.get_or_insert_with(|| v.to_string());
            }
        }
    }

    /// Reads an action the client sent: the values it chose.
    fn sent(&mut self, text: &str) {
        let action = action_of(text);
        for (name, value) in fields(text) {
            let list = match name.to_ascii_lowercase().as_str() {
                "actionid" => &mut self.action_ids,
                "channelid" | "otherchannelid" if action.eq_ignore_ascii_case("Originate") => {
                    &mut self.channel_ids
                }
                "userevent" if action.eq_ignore_ascii_case("UserEvent") => &mut self.user_events,
                "commandid" if action.eq_ignore_ascii_case("AGI") => &mut self.agi_command_ids,
                _ => continue,
            };
            if !value.is_empty() && !list.iter().any(|v| v == value) {
                list.push(value.to_string());
            }
        }
    }

    fn client_ids(&self) -> Value {
        let mut ids = serde_json::Map::new();
        ids.insert("action_ids".into(), json!(self.action_ids));
        for (name, list) in [
            ("channel_ids", &self.channel_ids),
            ("user_events", &self.user_events),
            ("agi_command_ids", &self.agi_command_ids),
        ] {
            if !list.is_empty() {
                ids.insert(name.into(), json!(list));
            }
        }
        Value::Object(ids)
    }
}

/// A message's `Name: value` lines (values trimmed).
fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
}

/// The value of the `Action` header, or "".
fn action_of(text: &str) -> &str {
    fields(text)
        .find(|(n, _)| n.eq_ignore_ascii_case("Action"))
        .map_or("", |(_, v)| v)
}

/// `message` with the value of each `Secret` and `Key` line replaced, if
/// it is a `Login` (elsewhere `Key` is a database key).
fn redact(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    if !action_of(&text).eq_ignore_ascii_case("Login") {
        return message.to_vec();
    }
    let mut out = Vec::with_capacity(message.len());
    for line in message.split_inclusive(|&b| b == b'\n') {
        let secret = line.iter().position(|&b| b == b':').filter(|&colon| {
            let name = String::from_utf8_lossy(&line[..colon]);
            let name = name.trim();
            name.eq_ignore_ascii_case("Secret") || name.eq_ignore_ascii_case("Key")
        });
        match secret {
            Some(colon) => {
                let end: &[u8] = if line.ends_with(b"\r\n") {
                    b"\r\n"
                } else if line.ends_with(b"\n") {
                    b"\n"
                } else {
                    b""
                };
                out.extend_from_slice(&line[..=colon]);
                out.extend_from_slice(format!(" {REDACTED}").as_bytes());
                out.extend_from_slice(end);
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// The length of the client's message at the start of `bytes`: up to the
/// first empty line, lines ending at `\r\n` or a bare `\n`.
fn client_message_len(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    loop {
        let len = line_len(&bytes[start..])?;
        let line = &bytes[start..start + len];
        start += len;
        if line == b"\n" || line == b"\r\n" {
            return Some(start);
        }
    }
}

/// The recording, shared by its connections.
struct Recording {
    file: TraceFile,
    to: String,
    learned: Mutex<Learned>,
}

impl Recording {
    fn learned(&self) -> std::sync::MutexGuard<'_, Learned> {
        self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One connection's records.
struct Connection {
    recording: Arc<Recording>,
    conn: String,
    banner: bool,
    closed: bool,
    actions: usize,
    messages: usize,
}

impl Units for Connection {
    fn cut(&mut self, from: Side, pending: &[u8]) -> Option<usize> {
        match from {
            Side::Server if !self.banner => len_through(pending, b"\r\n"),
            Side::Server => len_through(pending, b"\r\n\r\n"),
            Side::Client => client_message_len(pending),
        }
    }

    fn unit(&mut self, from: Side, unit: &[u8]) {
        let text = String::from_utf8_lossy(unit);
        let (kind, written) = match from {
            Side::Server => {
                self.banner = true;
                self.messages += 1;
                self.recording.learned().heard(&text);
                ("recv", unit.to_vec())
            }
            Side::Client => {
                self.actions += 1;
                self.recording.learned().sent(&text);
                ("send", redact(unit))
            }
        };
        let mut fields: Vec<Field> = vec![("conn", json!(self.conn))];
        fields.push(payload(&written));
        self.recording.file.record(kind, &fields);
    }

    fn end(&mut self, from: Side, leftover: &[u8]) {
        let (kind, by, written) = match from {
            Side::Server => ("recv", "server", leftover.to_vec()),
            Side::Client => ("send", "client", redact(leftover)),
        };
        if !leftover.is_empty() {
            let fields = [
                ("conn", json!(self.conn)),
                payload(&written),
                ("partial", json!(true)),
            ];
            self.recording.file.record(kind, &fields);
        }
        if !std::mem::replace(&mut self.closed, true) {
            let fields = [("conn", json!(self.conn)), ("by", json!(by))];
            self.recording.file.record("tcp_close", &fields);
            outln!(
                "{}: closed by the {by} ({} sent, {} received)",
                self.conn,
                self.actions,
                self.messages
            );
        }
    }
}

/// The meta line.
fn meta(options: &Options, learned: &Learned) -> Vec<Field> {
    vec![
        ("format", json!(1)),
        ("protocol", json!("ami")),
        ("scenario", json!(options.scenario)),
        (
            "description",
            json!(description(
                options,
                "an AMI client and Asterisk's manager at"
            )),
        ),
        (
            "asterisk_version",
            json!(learned.asterisk_version.clone().unwrap_or_default()),
        ),
        (
            "ami_version",
            json!(learned.ami_version.clone().unwrap_or_default()),
        ),
        ("client_ids", learned.client_ids()),
        ("recorded_at", json!(today())),
    ]
}

/// Records AMI until stopped.
pub async fn run(options: Options) -> Outcome {
    let to = tcp_address(&options.to)?;
    let listener = bind(options.listen).await?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let file = TraceFile::create(&options.out, &meta(&options, &Learned::default()))
        .map_err(|e| Failure::failed(format!("{}: {e}", options.out.display())))?;
    outln!(
        "recording AMI on {address} for {to} into {}; Ctrl-C stops\nAMI_URL={address}",
        options.out.display()
    );
    let recording = Arc::new(Recording {
        file,
        to,
        learned: Mutex::default(),
    });
    let why = serve(listener, options.once, |client, n| {
        let recording = recording.clone();
        async move {
            let conn = format!("c{n}");
            let server = match connect(&recording.to).await {
                Ok(server) => server,
                Err(e) => {
                    // The client sees what it would have: a connection
                    // that ends before any banner.
                    let fields = [
                        ("conn", json!(conn)),
                        ("refused", json!(true)),
                        ("error", json!(format!("{:?}", e.kind()))),
                    ];
                    recording.file.record("tcp_open", &fields);
                    outln!("{conn}: refused, {} is not answering: {e}", recording.to);
                    return None;
                }
            };
            let _ = server.set_nodelay(true);
            recording.file.record("tcp_open", &[("conn", json!(conn))]);
            outln!("{conn}: open");
            Some(async move {
                let mut units = Connection {
                    recording,
                    conn,
                    banner: false,
                    closed: false,
                    actions: 0,
                    messages: 0,
                };
                relay(client, server, Vec::new(), Vec::new(), &mut units).await;
            })
        }
    })
    .await;
    let learned = std::mem::take(&mut *recording.learned());
    let records = recording
        .file
        .finish(&meta(&options, &learned))
        .map_err(Failure::failed)?;
    outln!(
        "stopped ({why}): {records} records in {}; Asterisk {}, AMI {}",
        options.out.display(),
        learned
            .asterisk_version
            .as_deref()
            .unwrap_or("unknown (no CoreSettings or `core show version` in the session)"),
        learned.ami_version.as_deref().unwrap_or("unknown")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_end_at_an_empty_line_as_asterisk_reads() {
        assert_eq!(client_message_len(b"Action: Ping\r\n\r\nAction"), Some(16));
        assert_eq!(client_message_len(b"Action: Ping\n\n"), Some(14));
        assert_eq!(client_message_len(b"\r\n"), Some(2));
        assert_eq!(client_message_len(b"Action: Ping\r\n"), None);
    }

    #[test]
    fn secrets_of_a_login_are_redacted_and_nothing_else() {
        let login = b"Action: Login\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n";
        assert_eq!(
            redact(login),
            b"Action: Login\r\nUsername: admin\r\nSecret: <redacted>\r\nEvents: off\r\n\r\n"
        );
        let md5 = b"action: login\nusername: admin\nauthtype: MD5\nkey:78a3b8178413d2a7\n\n";
        assert_eq!(
            redact(md5),
            b"action: login\nusername: admin\nauthtype: MD5\nkey: <redacted>\n\n"
        );
        let db = b"Action: DBGet\r\nFamily: f\r\nKey: k\r\n\r\n";
        assert_eq!(redact(db), db);
    }

    #[test]
    fn versions_and_ids_from_the_session() {
        let mut learned = Learned::default();
        learned.heard("Asterisk Call Manager/11.0.0\r\n");
        learned.heard(
            "Response: Success\r\nMessage: Command output follows\r\nOutput: Asterisk 22.10.1 built by root @ vm\r\n\r\n",
        );
        learned.sent("Action: Originate\r\nActionID: a-1\r\nChannelId: out-1\r\n\r\n");
        learned.sent("Action: DBGet\r\nActionID: a-2\r\nChannelId: no\r\n\r\n");
        assert_eq!(learned.ami_version.as_deref(), Some("11.0.0"));
        assert_eq!(learned.asterisk_version.as_deref(), Some("22.10.1"));
        assert_eq!(
            learned.client_ids(),
            json!({"action_ids": ["a-1", "a-2"], "channel_ids": ["out-1"]})
        );
    }
}
