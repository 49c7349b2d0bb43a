//! An AMI load server for benchmarks: it plays just enough of Asterisk's
//! manager interface for a client to log in, then sends the events of a
//! recorded AMI session, cycled, as fast as the socket takes them, and a
//! marker event after the last one. Loopback only; it stops when dropped.
//!
//! On each connection it writes the banner, then answers actions as
//! Asterisk 22 does (its ActionID echoed when the action had one):
//! `Challenge` with a challenge, `Login` with `Authentication accepted`
//! (any key or secret is taken), `Ping` with `Pong`, `Events` with the mask
//! asked for, `Logoff` with `Goodbye` and a close, anything else with a bare
//! success, and before the login everything but these with `Permission
//! denied`. The first action after the login that is not a `Ping` starts
//! the flood, once answered: by then the client has said it is ready
//! (the benchmark sends `Events: on` once its stream exists).

use crate::blast::flood;
use crate::loopback::LoopbackServer;
use ami_proto::{Decoder, Frame, Kind, Message};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

/// The `UserEvent` header of the event sent after the last one.
pub const MARKER_USER_EVENT: &str = "bench-end";

/// What the server writes first on each connection.
pub const BANNER: &str = "Asterisk Call Manager/11.0.0\r\n";

/// The events of an AMI trace (`conformance/traces/ami/FORMAT.md`): the
/// text of every `recv` record that is an event, in the recorded order.
pub fn recorded_events(trace: &Path) -> io::Result<Vec<String>> {
    let text = std::fs::read_to_string(trace)?;
    let mut events = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).map_err(io::Error::other)?;
        if record["kind"] == "recv"
            && let Some(text) = record["text"].as_str()
            && text.starts_with("Event:")
        {
            events.push(text.to_string());
        }
    }
    Ok(events)
}

/// A running AMI load server.
pub struct AmiBlast {
    server: LoopbackServer,
}

struct Plan {
    events: Vec<Vec<u8>>,
    total: usize,
    marker: Vec<u8>,
}

impl AmiBlast {
    /// Serves `total` events cycled from the AMI trace at `trace` to each
    /// client, then the marker.
    pub fn start(trace: &Path, total: usize) -> io::Result<AmiBlast> {
        let events = recorded_events(trace)?;
        if events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the trace has no events",
            ));
        }
        let marker = format!(
            "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: {MARKER_USER_EVENT}\r\nEvents: {total}\r\n\r\n"
        );
        let plan = Arc::new(Plan {
            events: events.into_iter().map(String::into_bytes).collect(),
            total,
            marker: marker.into_bytes(),
        });
        let server = LoopbackServer::start_raw(move |stream| {
            let _ = serve(stream, &plan);
        })?;
        Ok(AmiBlast { server })
    }

    /// `tcp://ADDR`, an address [`ami_proto::Config::new`] takes.
    pub fn address(&self) -> String {
        format!("tcp://{}", self.server.addr())
    }
}

fn serve(stream: TcpStream, plan: &Plan) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = stream.try_clone()?;
    let mut writer = stream;
    writer.write_all(BANNER.as_bytes())?;
    let mut actions = Decoder::for_actions(1 << 20);
    let mut buf = vec![0u8; 16 * 1024];
    let (mut logged_in, mut flooded) = (false, false);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        actions.feed(&buf[..n]);
        while let Ok(Some(frame)) = actions.next_frame() {
            let Frame::Message(action) = frame else {
                continue;
            };
            let name = match action.kind() {
                Kind::Action(name) => name.to_string().to_ascii_lowercase(),
                _ => String::new(),
            };
            let (status, body) = match name.as_str() {
                "challenge" => ("Success", "Challenge: 840172301\r\n".to_string()),
                "login" => {
                    logged_in = true;
                    ("Success", "Message: Authentication accepted\r\n".into())
                }
                "logoff" => ("Goodbye", "Message: Thanks for all the fish.\r\n".into()),
                _ if !logged_in => ("Error", "Message: Permission denied\r\n".into()),
                "ping" => (
                    "Success",
                    "Ping: Pong\r\nTimestamp: 1796394698.840454\r\n".into(),
                ),
                "events" => {
                    let on = action
                        .get("EventMask")
                        .is_none_or(|m| !m.eq_ignore_case("off"));
                    (
                        "Success",
                        format!("Events: {}\r\n", ["Off", "On"][usize::from(on)]),
                    )
                }
                _ => ("Success", String::new()),
            };
            writer.write_all(&answer(&action, status, &body))?;
            if name == "logoff" {
                return Ok(());
            }
            let go = logged_in && !matches!(name.as_str(), "login" | "challenge" | "ping");
            if go && !flooded {
                flooded = true;
                flood(&mut writer, &plan.events, plan.total, &plan.marker)?;
            }
        }
    }
}

/// `Response: {status}`, the action's ActionID if it had one, `body`
/// (whole lines), the empty line.
fn answer(action: &Message, status: &str, body: &str) -> Vec<u8> {
    let mut out = format!("Response: {status}\r\n");
    if let Some(id) = action.action_id() {
        out += &format!("ActionID: {id}\r\n");
    }
    out += body;
    out += "\r\n";
    out.into_bytes()
}
