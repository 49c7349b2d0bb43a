//! `ast record ari`: ARI's HTTP requests and answers and the events
//! WebSocket, written as conformance/traces/FORMAT.md says.
//!
//! Each client connection gets its own connection to Asterisk, and the
//! recorder reads HTTP/1.1 on it one exchange at a time: the whole request
//! (recorded, then passed on), the whole answer (recorded, then passed
//! on). A WebSocket upgrade Asterisk accepts turns the connection into a
//! relay of frames, each message recorded. When Asterisk closes an idle
//! connection the recorder closes the client's, so that the client sees
//! what it would have seen. The Authorization header and `api_key` are
//! never written; the client's credentials are kept in memory to ask
//! Asterisk at the end for the versions the session did not show.

use super::file::{Field, TraceFile, today};
use super::relay::{Side, Units, len_through, payload, relay};
use super::{Options, bind, connect, description, serve};
use crate::{Failure, Outcome};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest head read (a longer one ends the connection).
const MAX_HEAD: usize = 1 << 20;

/// Request headers never written (credentials, and what belongs to the
/// connection rather than the request).
const UNWRITTEN: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "connection",
];

/// The parameters whose values the client chooses, by operation name: the
/// ids of what the operation creates. They go into `client_ids`.
const CHOSEN: &[(&str, &[&str])] = &[
    ("originate", &["channelId", "otherChannelId"]),
    ("originateWithId", &["channelId", "otherChannelId"]),
    ("create", &["channelId", "otherChannelId", "bridgeId"]),
    ("createWithId", &["bridgeId"]),
    ("externalMedia", &["channelId"]),
    ("play", &["playbackId"]),
    ("playWithId", &["playbackId"]),
    ("record", &["name"]),
    ("snoopChannel", &["snoopId"]),
    ("snoopChannelWithId", &["snoopId"]),
];

/// An HTTP head.
struct Head {
    /// The request line or status line.
    first: String,
    /// Names in lower case, in order.
    headers: Vec<(String, String)>,
    /// Its length, the empty line included.
    len: usize,
}

impl Head {
    /// The head at the start of `bytes`, once whole.
    fn parse(bytes: &[u8]) -> Option<Head> {
        let len = len_through(bytes, b"\r\n\r\n")?;
        let text = String::from_utf8_lossy(&bytes[..len]);
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Head {
            first,
            headers,
            len,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether header `name` lists `token`.
    fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The status of an answer (0 if unreadable).
    fn status(&self) -> u16 {
        self.first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the connection ends after this message.
    fn closes(&self) -> bool {
        self.lists("connection", "close")
            || self.first.starts_with("HTTP/1.0") && !self.lists("connection", "keep-alive")
    }

    /// The headers as a JSON object, without `skip`.
    fn json(&self, skip: &[&str]) -> Value {
        let mut out = serde_json::Map::new();
        for (n, v) in self.headers.iter().filter(|(n, _)| !skip.contains(&&**n)) {
            let joined = match out.get(n).and_then(Value::as_str) {
                Some(before) => format!("{before}, {v}"),
                None => v.clone(),
            };
            out.insert(n.clone(), joined.into());
        }
        Value::Object(out)
    }
}

/// Where a body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn request_framing(head: &Head) -> Framing {
    if head.lists("transfer-encoding", "chunked") {
        Framing::Chunked
    } else {
        match head.header("content-length").and_then(|l| l.parse().ok()) {
            Some(n) => Framing::Length(n),
            None => Framing::Empty,
        }
    }
}

fn answer_framing(head: &Head, method: &str) -> Framing {
    let status = head.status();
    if method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        return Framing::Empty;
    }
    match request_framing(head) {
        Framing::Empty if head.header("content-length").is_none() => Framing::UntilClose,
        framing => framing,
    }
}

/// The body at the start of `bytes` once whole (`ended`: no more bytes
/// come): its length on the wire, and its bytes.
fn body(framing: Framing, bytes: &[u8], ended: bool) -> Option<(usize, Vec<u8>)> {
    match framing {
        Framing::Empty => Some((0, Vec::new())),
        Framing::Length(n) => (bytes.len() >= n).then(|| (n, bytes[..n].to_vec())),
        Framing::UntilClose => ended.then(|| (bytes.len(), bytes.to_vec())),
        Framing::Chunked => dechunk(bytes),
    }
}

/// A chunked body, once whole.
fn dechunk(bytes: &[u8]) -> Option<(usize, Vec<u8>)> {
    let (mut at, mut out) = (0, Vec::new());
    loop {
        let line = len_through(&bytes[at..], b"\r\n")?;
        let size = String::from_utf8_lossy(&bytes[at..at + line - 2]);
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        at += line;
        if size == 0 {
            // Trailers, up to an empty line.
            loop {
                let line = len_through(&bytes[at..], b"\r\n")?;
                at += line;
                if line == 2 {
                    return Some((at, out));
                }
            }
        }
        if bytes.len() < at + size + 2 {
            return None;
        }
        out.extend_from_slice(&bytes[at..at + size]);
        at += size + 2;
    }
}

/// A whole HTTP message.
struct Message {
    head: Head,
    /// Its bytes as they came.
    raw: Vec<u8>,
    /// The body, de-chunked.
    body: Vec<u8>,
}

/// Reads more of `stream` into `pending`; false at the end (or an error).
async fn fill(stream: &mut TcpStream, pending: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    match stream.read(&mut buf).await {
        Ok(n) if n > 0 => {
            pending.extend_from_slice(&buf[..n]);
            true
        }
        _ => false,
    }
}

/// Reads one whole message from `stream`, its body framed by `framing`.
async fn read_message(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    framing: impl Fn(&Head) -> Framing,
) -> Result<Message, String> {
    let head = loop {
        if let Some(head) = Head::parse(pending) {
            break head;
        }
        if pending.len() > MAX_HEAD {
            return Err("a head longer than 1 MiB".into());
        }
        if !fill(stream, pending).await {
            return Err("the connection closed".into());
        }
    };
    let framing = framing(&head);
    let mut ended = false;
    let (len, body) = loop {
        if let Some(whole) = body(framing, &pending[head.len..], ended) {
            break whole;
        }
        if ended {
            return Err("the connection closed in the middle of a body".into());
        }
        ended = !fill(stream, pending).await;
    };
    let raw = pending.drain(..head.len + len).collect();
    Ok(Message { head, raw, body })
}

/// A request as the trace writes it.
struct Request {
    method: String,
    /// Percent-encoded, without the query.
    path: String,
    /// Decoded, `api_key` left out.
    query: Vec<(String, String)>,
    /// `api_key=...` as sent, if it was.
    api_key: Option<String>,
    /// `basic`, `api_key` or `none`.
    auth: &'static str,
    websocket: bool,
}

impl Request {
    fn of(head: &Head) -> Request {
        let mut words = head.first.split_whitespace();
        let method = words.next().unwrap_or_default().to_string();
        let target = words.next().unwrap_or_default();
        let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let mut query = Vec::new();
        let mut api_key = None;
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                ari_proto::encode::percent_decode(&s).unwrap_or(s)
            };
            if decode(name) == "api_key" {
                api_key = Some(pair.to_string());
            } else {
                query.push((decode(name), decode(value)));
            }
        }
        let auth = if head.header("authorization").is_some() {
            "basic"
        } else if api_key.is_some() {
            "api_key"
        } else {
            "none"
        };
        Request {
            method,
            path: path.to_string(),
            query,
            api_key,
            auth,
            websocket: head
                .header("upgrade")
                .is_some_and(|u| u.eq_ignore_ascii_case("websocket")),
        }
    }

    fn query_json(&self) -> Value {
        json!(self.query.iter().map(|(n, v)| [n, v]).collect::<Vec<_>>())
    }

    /// The path and query, for a line of output (no credentials).
    fn shown(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(n, v)| format!("{n}={v}")).collect();
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, query.join("&"))
        }
    }
}

/// A body as the trace writes it: `null`, `{"json"}`, `{"text"}` or
/// `{"base64"}`.
fn body_json(body: &[u8], content_type: Option<&str>) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if content_type.is_none_or(|c| c.contains("json"))
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return json!({ "json": v });
    }
    let (name, value) = payload(body);
    json!({ name: value })
}

/// How the client authenticated, kept in memory only.
#[derive(Clone)]
enum Credential {
    /// The Authorization header's value.
    Header(String),
    /// `api_key=...` as sent.
    ApiKey(String),
}

/// What the session showed.
#[derive(Default)]
struct Learned {
    asterisk_version: Option<String>,
    ari_version: Option<String>,
    apps: Vec<String>,
    client_ids: Vec<String>,
    credential: Option<Credential>,
    requests: u64,
    websockets: u64,
}

impl Learned {
    /// The values of the parameters the client chose in a request (path
    /// below `/ari`).
    fn chosen(&mut self, method: &str, path: &str, query: &[(String, String)]) {
        let Some((info, values)) = ari_proto::find_operation(method, path) else {
            return;
        };
        let Some((_, names)) = CHOSEN.iter().find(|(op, _)| *op == info.name) else {
            return;
        };
        let in_path = info
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .zip(values.iter().map(String::as_str));
        let in_query = query.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        for (name, value) in in_path.chain(in_query) {
            if names.contains(&name)
                && !value.is_empty()
                && !self.client_ids.iter().any(|c| c == value)
            {
                self.client_ids.push(value.to_string());
            }
        }
    }

    /// An answer to `GET path` (below `/ari`).
    fn answer(&mut self, path: &str, json: &Value) {
        let (slot, value) = match path.split('?').next().unwrap_or_default() {
            "/asterisk/info" => (&mut self.asterisk_version, &json["system"]["version"]),
            "/api-docs/resources.json" => (&mut self.ari_version, &json["apiVersion"]),
            _ => return,
        };
        if let Some(v) = value.as_str().filter(|v| !v.is_empty()) {
            slot.get_or_insert_with(|| v.to_string());
        }
    }

    /// A text frame, either way: REST over the WebSocket, and the
    /// application an outbound WebSocket serves.
    fn frame(&mut self, text: &str) {
        if !text.contains("\"REST") && !text.contains("\"ApplicationRegistered\"") {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if v["type"] == "ApplicationRegistered" {
            // Per-call connections name the app `APP:CHANNEL`.
            let registered = v["application"].as_str().unwrap_or_default();
            let app = registered.split(':').next().unwrap_or_default();
            if !app.is_empty() && !self.apps.iter().any(|a| a == app) {
                self.apps.push(app.to_string());
            }
            return;
        }
        let uri = v["uri"].as_str().unwrap_or_default();
        let path = format!("/{}", uri.split('?').next().unwrap_or_default());
        match v["type"].as_str() {
            Some("RESTResponse") if v["status_code"] == 200 => {
                let body = v["message_body"].as_str().unwrap_or_default();
                if let Ok(body) = serde_json::from_str::<Value>(body) {
                    self.answer(&path, &body);
                }
            }
            Some("RESTRequest") => {
                let query: Vec<(String, String)> = v["query_strings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|q| Some((q["name"].as_str()?.into(), q["value"].as_str()?.into())))
                    .collect();
                self.chosen(v["method"].as_str().unwrap_or_default(), &path, &query);
            }
            _ => {}
        }
    }
}

/// The path below `/ari`.
fn below_ari(path: &str) -> &str {
    path.strip_prefix("/ari").unwrap_or(path)
}

/// The recording, shared by its connections.
struct Recording {
    file: TraceFile,
    /// Asterisk's `host:port`; with `outbound`, the application's.
    address: String,
    /// Asterisk is the side that connects (an outbound WebSocket).
    outbound: bool,
    requests: AtomicU64,
    websockets: AtomicU64,
    learned: Mutex<Learned>,
}

impl Recording {
    fn learned(&self) -> MutexGuard<'_, Learned> {
        self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a request; its id.
    fn request(&self, head: &Head, request: &Request, body: &[u8]) -> u64 {
        let id = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.learned()
            .chosen(&request.method, below_ari(&request.path), &request.query);
        let fields = [
            ("id", json!(id)),
            ("method", json!(request.method)),
            ("path", json!(request.path)),
            ("query", request.query_json()),
            ("headers", head.json(UNWRITTEN)),
            ("auth", json!(request.auth)),
            ("body", body_json(body, head.header("content-type"))),
        ];
        self.file.record("http_request", &fields);
        id
    }

    /// Records an answer.
    fn answer(&self, id: u64, request: &Request, answer: &Message) {
        let status = answer.head.status();
        let body = body_json(&answer.body, answer.head.header("content-type"));
        if request.method == "GET"
            && let Some(json) = body.get("json")
            && status == 200
        {
            self.learned().answer(below_ari(&request.path), json);
        }
        let fields = [
            ("id", json!(id)),
            ("status", json!(status)),
            ("headers", answer.head.json(&[])),
            ("body", body),
        ];
        self.file.record("http_response", &fields);
        outln!("{id:>5} {} {} -> {status}", request.method, request.shown());
    }

    /// Records an upgrade's outcome; the WebSocket's name.
    fn ws_open(&self, request: &Request, status: u16, body: Option<Value>) -> String {
        let conn = format!("ws{}", self.websockets.fetch_add(1, Ordering::Relaxed) + 1);
        if status == 101 {
            let mut learned = self.learned();
            for app in request
                .query
                .iter()
                .filter(|(n, _)| n == "app")
                .flat_map(|(_, v)| v.split(','))
            {
                if !app.is_empty() && !learned.apps.iter().any(|a| a == app) {
                    learned.apps.push(app.to_string());
                }
            }
        }
        let mut fields: Vec<Field> = vec![
            ("conn", json!(conn)),
            ("path", json!(request.path)),
            ("query", request.query_json()),
            ("auth", json!(request.auth)),
            ("status", json!(status)),
        ];
        if let Some(body) = body {
            fields.push(("body", body));
        }
        self.file.record("ws_open", &fields);
        outln!("{conn}: {} -> {status}", request.shown());
        conn
    }

    /// Keeps the client's credentials (in memory) once Asterisk took them.
    fn credential(&self, head: &Head, request: &Request, status: u16) {
        if status == 401 || status == 403 {
            return;
        }
        let credential = match (head.header("authorization"), &request.api_key) {
            (Some(h), _) => Credential::Header(h.to_string()),
            (None, Some(k)) => Credential::ApiKey(k.clone()),
            (None, None) => return,
        };
        self.learned().credential = Some(credential);
    }

    /// `GET path` asked of Asterisk with the client's credentials: the
    /// JSON of a 200 answer.
    async fn ask(&self, path: &str) -> Option<Value> {
        let (header, query) = match self.learned().credential.clone()? {
            Credential::Header(h) => (format!("Authorization: {h}\r\n"), String::new()),
            Credential::ApiKey(k) => (String::new(), format!("?{k}")),
        };
        let asking = async {
            let mut stream = connect(&self.address).await.ok()?;
            let request = format!(
                "GET {path}{query} HTTP/1.1\r\nHost: {}\r\n{header}Connection: close\r\n\r\n",
                self.address
            );
            stream.write_all(request.as_bytes()).await.ok()?;
            let answer = read_message(&mut stream, &mut Vec::new(), |h| answer_framing(h, "GET"))
                .await
                .ok()?;
            (answer.head.status() == 200)
                .then(|| serde_json::from_slice(&answer.body).ok())
                .flatten()
        };
        tokio::time::timeout(Duration::from_secs(5), asking)
            .await
            .ok()
            .flatten()
    }
}

/// Serves one client connection.
async fn connection(recording: Arc<Recording>, mut client: TcpStream) {
    let mut server = match connect(&recording.address).await {
        Ok(server) => server,
        Err(e) => return unreachable(&recording, client, e).await,
    };
    let _ = server.set_nodelay(true);
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    loop {
        // The next request, or the end of either side (Asterisk closes
        // idle connections: so does the recorder, as Asterisk would).
        while Head::parse(&from_client).is_none() {
            if from_client.len() > MAX_HEAD {
                return;
            }
            tokio::select! {
                more = fill(&mut client, &mut from_client) => if !more { return },
                more = fill(&mut server, &mut from_server) => if !more { return },
            }
        }
        let Ok(asked) = read_message(&mut client, &mut from_client, request_framing).await else {
            return;
        };
        let request = Request::of(&asked.head);
        let id =
            (!request.websocket).then(|| recording.request(&asked.head, &request, &asked.body));
        let answer = match server.write_all(&asked.raw).await {
            Ok(()) => {
                read_answer(&mut server, &mut from_server, &mut client, &request.method).await
            }
            Err(e) => Err(e.to_string()),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                // Asterisk went away mid-exchange: the client is told as
                // if it could not be reached.
                let text = format!("connection failed: {e}");
                match id {
                    Some(id) => recording.file.record("http_response", &failed(id, &text)),
                    None => {
                        recording.ws_open(&request, 0, Some(json!({ "text": text })));
                    }
                }
                let _ = client.write_all(&bad_gateway(&text)).await;
                return;
            }
        };
        let status = answer.head.status();
        recording.credential(&asked.head, &request, status);
        match id {
            Some(id) => recording.answer(id, &request, &answer),
            None => {
                let body = (status != 101)
                    .then(|| body_json(&answer.body, answer.head.header("content-type")));
                let conn = recording.ws_open(&request, status, body);
                if status == 101 {
                    let _ = client.write_all(&answer.raw).await;
                    let mut units = WebSocket {
                        recording: recording.clone(),
                        conn,
                        closed: false,
                        messages: [None, None],
                        count: 0,
                    };
                    relay(client, server, from_client, from_server, &mut units).await;
                    return;
                }
            }
        }
        if client.write_all(&answer.raw).await.is_err()
            || asked.head.closes()
            || answer.head.closes()
            || answer_framing(&answer.head, &request.method) == Framing::UntilClose
        {
            let _ = client.shutdown().await;
            return;
        }
    }
}

/// Reads Asterisk's final answer, passing interim ones (`100 Continue`)
/// on to the client.
async fn read_answer(
    server: &mut TcpStream,
    pending: &mut Vec<u8>,
    client: &mut TcpStream,
    method: &str,
) -> Result<Message, String> {
    loop {
        let answer = read_message(server, pending, |h| answer_framing(h, method)).await?;
        let status = answer.head.status();
        if !(100..200).contains(&status) || status == 101 {
            return Ok(answer);
        }
        client
            .write_all(&answer.raw)
            .await
            .map_err(|e| e.to_string())?;
    }
}

/// An `http_response` of status 0: Asterisk could not be reached.
fn failed(id: u64, text: &str) -> [Field; 4] {
    [
        ("id", json!(id)),
        ("status", json!(0)),
        ("headers", json!({})),
        ("body", json!({ "text": text })),
    ]
}

/// What the client gets when Asterisk cannot be reached.
fn bad_gateway(text: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

/// Asterisk could not be reached: the client's request is recorded with
/// status 0 and answered 502.
async fn unreachable(recording: &Recording, mut client: TcpStream, error: std::io::Error) {
    let text = format!("connection failed: {error}");
    let mut pending = Vec::new();
    let reading = read_message(&mut client, &mut pending, request_framing);
    let Ok(Ok(asked)) = tokio::time::timeout(Duration::from_secs(10), reading).await else {
        return;
    };
    let request = Request::of(&asked.head);
    if request.websocket {
        recording.ws_open(&request, 0, Some(json!({ "text": text })));
    } else {
        let id = recording.request(&asked.head, &request, &asked.body);
        recording.file.record("http_response", &failed(id, &text));
        outln!("{id:>5} {} {} -> {text}", request.method, request.shown());
    }
    let _ = client.write_all(&bad_gateway(&text)).await;
}

/// The length of the WebSocket frame at the start of `bytes`, once whole.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let second = *bytes.get(1)?;
    let (len, at) = match second & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (usize::from(n), 2),
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let total = len.checked_add(at + mask)?;
    (bytes.len() >= total).then_some(total)
}

/// A whole frame's FIN bit, opcode and payload (unmasked).
fn frame_parts(frame: &[u8]) -> (bool, u8, Vec<u8>) {
    let masked = frame[1] & 0x80 != 0;
    let at = match frame[1] & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    let (mask, data) = if masked {
        (Some(&frame[at..at + 4]), &frame[at + 4..])
    } else {
        (None, &frame[at..])
    };
    let mut payload = data.to_vec();
    if let Some(mask) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    (frame[0] & 0x80 != 0, frame[0] & 0x0f, payload)
}

/// One events WebSocket's records: a text (or binary) message each way,
/// and the close.
struct WebSocket {
    recording: Arc<Recording>,
    conn: String,
    closed: bool,
    /// The message being put together from the side that connected, and
    /// from the side the recorder connected to.
    messages: [Option<(u8, Vec<u8>)>; 2],
    count: usize,
}

impl WebSocket {
    fn close(&mut self, by: &str, data: &[u8]) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let mut fields: Vec<Field> = vec![("conn", json!(self.conn)), ("by", json!(by))];
        if data.len() >= 2 {
            fields.push(("code", json!(u16::from_be_bytes([data[0], data[1]]))));
            fields.push(("reason", json!(String::from_utf8_lossy(&data[2..]))));
        }
        self.recording.file.record("ws_close", &fields);
        outln!(
            "{}: closed by the {by} ({} messages)",
            self.conn,
            self.count
        );
    }
}

impl Units for WebSocket {
    fn cut(&mut self, _: Side, pending: &[u8]) -> Option<usize> {
        frame_len(pending)
    }

    fn unit(&mut self, from: Side, frame: &[u8]) {
        let (fin, opcode, data) = frame_parts(frame);
        let slot = usize::from(from == Side::Server);
        // Records name Asterisk's side `server` and the application's
        // `client`, whichever of them connected.
        let (kind, by) = if (from == Side::Server) != self.recording.outbound {
            ("ws_recv", "server")
        } else {
            ("ws_send", "client")
        };
        match opcode {
            0x8 => return self.close(by, &data),
            0x1 | 0x2 => self.messages[slot] = Some((opcode, data)),
            0x0 => match &mut self.messages[slot] {
                Some((_, message)) => message.extend_from_slice(&data),
                None => return,
            },
            // Ping and pong are not recorded.
            _ => return,
        }
        if !fin {
            return;
        }
        let Some((opcode, message)) = self.messages[slot].take() else {
            return;
        };
        let written = match std::str::from_utf8(&message) {
            Ok(text) if opcode == 0x1 => {
                self.recording.learned().frame(text);
                ("text", json!(text))
            }
            // Binary messages (and text that is not UTF-8).
            _ => ("base64", json!(conformance::wire_io::base64(&message))),
        };
        self.count += 1;
        self.recording
            .file
            .record(kind, &[("conn", json!(self.conn)), written]);
    }

    fn end(&mut self, _: Side, _: &[u8]) {
        self.close("transport", &[]);
    }
}

/// The meta line.
fn meta(options: &Options, learned: &Learned) -> Vec<Field> {
    let version = |v: &Option<String>| json!(v.clone().unwrap_or_default());
    let between = if options.outbound {
        "Asterisk and the outbound-WebSocket application at"
    } else {
        "an ARI client and Asterisk at"
    };
    let mut fields = vec![
        ("format", json!(1)),
        ("scenario", json!(options.scenario)),
        ("description", json!(description(options, between))),
        ("asterisk_version", version(&learned.asterisk_version)),
        ("ari_version", version(&learned.ari_version)),
        ("apps", json!(learned.apps)),
        ("client_ids", json!(learned.client_ids)),
        ("recorded_at", json!(today())),
    ];
    if options.outbound {
        fields.push(("direction", json!("outbound")));
    }
    fields
}

/// `host:port` of ARI's base URL, or with `outbound` of the application's
/// `ws://` address.
fn ari_address(url: &str, outbound: bool) -> Result<String, Failure> {
    let (scheme, example) = if outbound {
        ("ws://", "your application's ws://127.0.0.1:8765 (plain)")
    } else {
        (
            "http://",
            "ARI's base URL such as http://127.0.0.1:8088 (plain HTTP)",
        )
    };
    let usage = || Failure::usage(format!("--to takes {example}, not {url:?}"));
    let rest = url.strip_prefix(scheme).ok_or_else(usage)?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || !path.is_empty() {
        return Err(usage());
    }
    Ok(match host.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => host.to_string(),
        _ => format!("{host}:80"),
    })
}

/// Records ARI until stopped.
pub async fn run(options: Options) -> Outcome {
    let address = ari_address(&options.to, options.outbound)?;
    let listener = bind(options.listen).await?;
    let listening = listener
        .local_addr()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let file = TraceFile::create(&options.out, &meta(&options, &Learned::default()))
        .map_err(|e| Failure::failed(format!("{}: {e}", options.out.display())))?;
    if options.outbound {
        outln!(
            "recording outbound WebSockets on ws://{listening} for {} into {}; Ctrl-C stops",
            options.to,
            options.out.display()
        );
    } else {
        outln!(
            "recording ARI on http://{listening} for {} into {}; Ctrl-C stops\nARI_URL=http://{listening}",
            options.to,
            options.out.display()
        );
    }
    let recording = Arc::new(Recording {
        file,
        address,
        outbound: options.outbound,
        requests: AtomicU64::new(0),
        websockets: AtomicU64::new(0),
        learned: Mutex::default(),
    });
    let why = serve(listener, options.once, |client, _| {
        let recording = recording.clone();
        async move { Some(connection(recording, client)) }
    })
    .await;
    // What the session did not show, asked with the client's credentials
    // (not Asterisk's own, given to an application).
    if !options.outbound
        && recording.learned().asterisk_version.is_none()
        && let Some(info) = recording.ask("/ari/asterisk/info").await
    {
        recording.learned().answer("/asterisk/info", &info);
    }
    if !options.outbound
        && recording.learned().ari_version.is_none()
        && let Some(docs) = recording.ask("/ari/api-docs/resources.json").await
    {
        recording
            .learned()
            .answer("/api-docs/resources.json", &docs);
    }
    let mut learned = std::mem::take(&mut *recording.learned());
    learned.requests = recording.requests.load(Ordering::Relaxed);
    learned.websockets = recording.websockets.load(Ordering::Relaxed);
    let records = recording
        .file
        .finish(&meta(&options, &learned))
        .map_err(Failure::failed)?;
    let unknown = || "unknown".to_string();
    outln!(
        "stopped ({why}): {records} records ({} requests, {} WebSockets) in {}; Asterisk {}, ARI {}",
        learned.requests,
        learned.websockets,
        options.out.display(),
        learned.asterisk_version.unwrap_or_else(unknown),
        learned.ari_version.unwrap_or_else(unknown)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        Head::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn bodies_are_framed_as_http_says() {
        let get = head("GET /ari/asterisk/info HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(request_framing(&get), Framing::Empty);
        let ok = head("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
        assert_eq!(answer_framing(&ok, "GET"), Framing::Length(4));
        assert_eq!(answer_framing(&ok, "HEAD"), Framing::Empty);
        let none = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(answer_framing(&none, "DELETE"), Framing::Empty);
        let open = head("HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(answer_framing(&open, "GET"), Framing::UntilClose);
        assert!(open.closes());
        let chunked = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(answer_framing(&chunked, "GET"), Framing::Chunked);
        let wire = b"4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\nNEXT";
        assert_eq!(
            body(Framing::Chunked, wire, false),
            Some((wire.len() - 4, b"Wikipedia".to_vec()))
        );
        assert_eq!(body(Framing::Chunked, &wire[..12], false), None);
        assert_eq!(body(Framing::UntilClose, b"ab", false), None);
        assert_eq!(
            body(Framing::UntilClose, b"ab", true),
            Some((2, b"ab".to_vec()))
        );
    }

    #[test]
    fn credentials_are_not_written() {
        let h = head(
            "POST /ari/channels?endpoint=PJSIP%2F100&api_key=asterisk:s3cret&app=a+b HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\nUser-Agent: t\r\n\r\n",
        );
        let r = Request::of(&h);
        assert_eq!(r.path, "/ari/channels");
        assert_eq!(
            r.query,
            [
                ("endpoint".to_string(), "PJSIP/100".to_string()),
                ("app".to_string(), "a b".to_string())
            ]
        );
        assert_eq!(r.auth, "basic");
        assert_eq!(r.api_key.as_deref(), Some("api_key=asterisk:s3cret"));
        assert_eq!(h.json(UNWRITTEN), json!({"user-agent": "t"}));
        let k = Request::of(&head("GET /ari/events?api_key=a:b HTTP/1.1\r\n\r\n"));
        assert_eq!((k.auth, k.query.len()), ("api_key", 0));
    }

    #[test]
    fn the_ids_a_client_chose() {
        let mut learned = Learned::default();
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        learned.chosen(
            "POST",
            "/channels",
            &q(&[("endpoint", "PJSIP/1"), ("channelId", "out-1")]),
        );
        learned.chosen(
            "POST",
            "/channels/1795.9/play/pb-1",
            &q(&[("media", "sound:x")]),
        );
        learned.chosen("POST", "/channels/1795.9/answer", &[]);
        learned.chosen("POST", "/bridges/br-1", &[]);
        learned.frame(
            r#"{"type":"RESTRequest","method":"POST","uri":"channels/1795.9/snoop","query_strings":[{"name":"snoopId","value":"sn-1"},{"name":"app","value":"a"}]}"#,
        );
        assert_eq!(learned.client_ids, ["out-1", "pb-1", "br-1", "sn-1"]);
        learned.answer("/asterisk/info", &json!({"system": {"version": "22.10.1"}}));
        learned.frame(r#"{"type":"RESTResponse","status_code":200,"uri":"api-docs/resources.json","message_body":"{\"apiVersion\":\"10.0.0\"}"}"#);
        assert_eq!(learned.asterisk_version.as_deref(), Some("22.10.1"));
        assert_eq!(learned.ari_version.as_deref(), Some("10.0.0"));
    }

    #[test]
    fn frames_whole_masked_and_not() {
        // "Hi" from a client (masked), then the start of another frame.
        let mask = [1u8, 2, 3, 4];
        let mut wire = vec![0x81, 0x82];
        wire.extend_from_slice(&mask);
        wire.extend(b"Hi".iter().enumerate().map(|(i, b)| b ^ mask[i]));
        let whole = wire.len();
        wire.extend_from_slice(&[0x81, 0x7e, 0x01]);
        assert_eq!(frame_len(&wire), Some(whole));
        assert_eq!(frame_len(&wire[whole..]), None);
        assert_eq!(frame_parts(&wire[..whole]), (true, 1, b"Hi".to_vec()));
        let big = conformance::wire_io::frame(0x1, &[b'x'; 300]);
        assert_eq!(frame_len(&big), Some(304));
        assert_eq!(frame_parts(&big).2.len(), 300);
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            ari_address("http://127.0.0.1:8088", false).unwrap(),
            "127.0.0.1:8088"
        );
        assert_eq!(ari_address("http://pbx/", false).unwrap(), "pbx:80");
        assert!(ari_address("https://pbx:8089", false).is_err());
        assert!(ari_address("http://pbx:8088/ari", false).is_err());
        assert_eq!(
            ari_address("ws://127.0.0.1:8765", true).unwrap(),
            "127.0.0.1:8765"
        );
        assert!(ari_address("http://127.0.0.1:8765", true).is_err());
        assert!(ari_address("ws://127.0.0.1:8765", false).is_err());
    }
}
