//! Asterisk's side of an outbound-WebSocket trace (`meta.direction:
//! outbound`): Asterisk connects to the application, so here the fake
//! Asterisk is the one that connects. Each recorded connection is played
//! in a thread of its own: it opens the WebSocket to the application under
//! test as Asterisk did (Basic credentials, subprotocol `ari`), sends each
//! frame Asterisk sent when its turn comes, and waits for each frame the
//! application sent, which must be the recorded `RESTRequest` (same
//! method, resource and parameters; its own request id, which the recorded
//! answer then carries).

use crate::serve::matches_rest_frame;
use crate::trace::{Kind, Trace};
use async_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use serde_json::Value;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How one recorded connection went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The trace's name for it (`ws1` ...).
    pub conn: String,
    /// Frames Asterisk sent, as recorded.
    pub sent: usize,
    /// Application frames that were the recorded ones.
    pub matched: usize,
    /// What differed, if anything (the play stops there).
    pub mismatch: Option<String>,
}

impl ConnectionReport {
    /// Whether everything matched.
    pub fn is_clean(&self) -> bool {
        self.mismatch.is_none()
    }
}

/// Plays every connection of `trace` against the application listening
/// at `app`, presenting `user` and `password`, all connections at once
/// (each in its recorded order).
pub fn play_outbound(
    trace: &Trace,
    app: SocketAddr,
    user: &str,
    password: &str,
) -> Vec<ConnectionReport> {
    let mut conns: Vec<String> = Vec::new();
    for r in &trace.records {
        if let Kind::WsOpen { conn, .. } = &r.kind
            && !conns.contains(conn)
        {
            conns.push(conn.clone());
        }
    }
    let players: Vec<_> = conns
        .into_iter()
        .map(|conn| {
            let frames: Vec<Kind> = trace
                .records
                .iter()
                .filter(|r| match &r.kind {
                    Kind::WsRecv { conn: c, .. }
                    | Kind::WsSend { conn: c, .. }
                    | Kind::WsClose { conn: c, .. } => *c == conn,
                    _ => false,
                })
                .map(|r| r.kind.clone())
                .collect();
            let credentials = crate::test_client::basic((user, password));
            std::thread::spawn(move || play_connection(conn, &frames, app, &credentials))
        })
        .collect();
    players
        .into_iter()
        .map(|p| p.join().unwrap_or_default())
        .collect()
}

fn play_connection(
    conn: String,
    frames: &[Kind],
    app: SocketAddr,
    credentials: &str,
) -> ConnectionReport {
    let mut report = ConnectionReport {
        conn,
        ..ConnectionReport::default()
    };
    if let Err(e) = play(frames, app, credentials, &mut report) {
        report.mismatch = Some(e);
    }
    report
}

fn play(
    frames: &[Kind],
    app: SocketAddr,
    credentials: &str,
    report: &mut ConnectionReport,
) -> Result<(), String> {
    let tcp = TcpStream::connect(app).map_err(|e| format!("connect to {app}: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut request = format!("ws://{app}/ari")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    headers.insert(
        "Authorization",
        credentials.parse().map_err(|_| "credentials")?,
    );
    headers.insert("Sec-WebSocket-Protocol", "ari".parse().unwrap());
    let (mut ws, _) =
        tungstenite::client(request, tcp).map_err(|e| format!("the upgrade failed: {e}"))?;
    // Recorded request id -> the application's.
    let mut ids: HashMap<String, String> = HashMap::new();
    for frame in frames {
        match frame {
            Kind::WsRecv { text, .. } => {
                let text = with_request_id(text, &ids);
                ws.send(Message::text(text))
                    .map_err(|e| format!("sending: {e}"))?;
                report.sent += 1;
            }
            Kind::WsSend { text: recorded, .. } => {
                let got = next_text(&mut ws)?;
                if !matches_rest_frame(recorded, &got) {
                    return Err(format!("expected {recorded}, got {got}"));
                }
                if let (Some(r), Some(g)) = (request_id(recorded), request_id(&got)) {
                    ids.insert(r, g);
                }
                report.matched += 1;
            }
            Kind::WsClose { by, .. } if by == "server" => {
                let _ = ws.close(None);
                // The application answers the close.
                loop {
                    match ws.read() {
                        Ok(_) => {}
                        Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
                        Err(e) => return Err(format!("no close handshake: {e}")),
                    }
                }
            }
            Kind::WsClose { .. } => match ws.read() {
                Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
                other => return Err(format!("expected the application to close, got {other:?}")),
            },
            _ => {}
        }
    }
    Ok(())
}

/// The application's next text frame (pings are answered by tungstenite).
fn next_text(ws: &mut tungstenite::WebSocket<TcpStream>) -> Result<String, String> {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return Ok(t.to_string()),
            Ok(Message::Close(_)) => return Err("the application closed".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
}

fn request_id(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(v.get("request_id")?.as_str()?.to_string())
}

/// A recorded `RESTResponse` carrying the application's request id.
fn with_request_id(text: &str, ids: &HashMap<String, String>) -> String {
    let Some(mine) = request_id(text).and_then(|r| ids.get(&r)) else {
        return text.to_string();
    };
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    for key in ["request_id", "transaction_id"] {
        if v.get(key).is_some() {
            v[key] = Value::String(mine.clone());
        }
    }
    v.to_string()
}
