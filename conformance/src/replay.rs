//! Session replay without sockets: the whole trace through `ari-proto`'s
//! state machine, on a virtual clock taken from `t_ms`.

use crate::check::{Report, parse_rest_request};
use crate::trace::{Body, Kind, Trace};
use ari_proto::{
    CloseReason, Config, ConnectionState, Event, Filter, ObjectRef, Output, RawRequestId,
    RestTransport, Session, SubscriptionId, Transmit, WireRequest, find_operation, ops,
};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One events WebSocket of the trace, with its own session.
struct Conn {
    session: Session,
    all: SubscriptionId,
}

/// Replays the trace; returns failures.
pub fn replay(trace: &Trace, report: &mut Report) {
    let mut failures = Vec::new();
    let mut r = Replayer {
        start: Instant::now(),
        sessions: Vec::new(),
        conns: HashMap::new(),
        http: None,
        http_ids: HashMap::new(),
        ws_ids: HashMap::new(),
        tracked: HashMap::new(),
        early_events: 0,
        failures: &mut failures,
    };
    let rest_over_ws = trace
        .records
        .iter()
        .any(|x| matches!(x.kind, Kind::WsSend { .. }));
    for rec in &trace.records {
        let now = r.start + Duration::from_micros((rec.t_ms * 1000.0) as u64);
        r.step(rec.seq, &rec.kind, now, rest_over_ws);
    }
    for (id, (seq, _)) in &r.http_ids {
        r.failures
            .push(format!("request of seq {seq} ({id:?}) got no answer"));
    }
    let early = r.early_events;
    if failures.is_empty() {
        report.passed += 1;
        report.notes.push(format!(
            "replay: every answer reached its request and every event its subscribers; {early} events came before the answer of the request that created their object"
        ));
    } else {
        for f in failures {
            report.failures.push(format!("replay: {f}"));
        }
    }
}

struct Replayer<'a> {
    start: Instant,
    sessions: Vec<Conn>,
    /// Connection name → its session. A new connection opened while an
    /// earlier one for the same apps is down is that session reconnecting.
    conns: HashMap<String, usize>,
    /// The session whose HTTP requests the trace's REST calls go through.
    http: Option<usize>,
    /// Recorded request id → (seq, our id), until answered.
    http_ids: HashMap<u64, (u64, RawRequestId)>,
    /// Recorded `request_id` of REST-over-WebSocket requests → our id.
    ws_ids: HashMap<String, RawRequestId>,
    /// (session, object the client created) → (its subscription, the request still unanswered).
    tracked: HashMap<(usize, ObjectRef), (SubscriptionId, Option<RawRequestId>)>,
    early_events: usize,
    failures: &'a mut Vec<String>,
}

impl Replayer<'_> {
    fn config(&self, query: &[(String, String)], rest_over_ws: bool) -> Config {
        let apps: Vec<String> = query
            .iter()
            .filter(|(k, _)| k == "app")
            .flat_map(|(_, v)| v.split(',').map(str::to_string))
            .collect();
        let mut c = Config::new("http://127.0.0.1:8088", "replay", "u", "p").expect("static URL");
        c.apps = if apps.is_empty() {
            vec!["replay".into()]
        } else {
            apps
        };
        c.subscribe_all = query
            .iter()
            .any(|(k, v)| k == "subscribeAll" && v == "true");
        c.seed = 7;
        // The recorded clients did not ask for the build on their own.
        c.learn_server_version = false;
        c.request_timeout = Duration::from_secs(3600);
        c.max_in_flight = usize::MAX / 2;
        if rest_over_ws {
            c.rest_transport = RestTransport::WebSocket;
        }
        c
    }

    fn new_session(&mut self, query: &[(String, String)], rest_over_ws: bool) -> usize {
        let mut session = Session::new(self.config(query, rest_over_ws)).expect("valid config");
        let all = session.subscribe(Filter::All);
        self.sessions.push(Conn { session, all });
        self.sessions.len() - 1
    }

    fn http_session(&mut self) -> usize {
        match self.http {
            Some(i) => i,
            None => {
                let i = self.new_session(&[], false);
                self.http = Some(i);
                i
            }
        }
    }

    fn step(&mut self, seq: u64, kind: &Kind, now: Instant, rest_over_ws: bool) {
        match kind {
            Kind::WsOpen {
                conn,
                query,
                status,
            } => {
                let index = match self.conns.get(conn) {
                    Some(&i) => i,
                    None => {
                        let apps = self.config(query, rest_over_ws).apps;
                        let down = self.sessions.iter().position(|c| {
                            c.session.config().apps == apps
                                && matches!(
                                    c.session.connection_state(),
                                    ConnectionState::Backoff { .. }
                                )
                        });
                        let i = down.unwrap_or_else(|| self.new_session(query, rest_over_ws));
                        self.conns.insert(conn.clone(), i);
                        self.http.get_or_insert(i);
                        i
                    }
                };
                let c = &mut self.sessions[index];
                match c.session.connection_state() {
                    ConnectionState::Idle | ConnectionState::Replaced => c.session.connect(now),
                    ConnectionState::Backoff { until, .. } => {
                        c.session.handle_timeout(until.max(now))
                    }
                    _ => {}
                }
                let upgrade = drain_transmits(&mut c.session)
                    .into_iter()
                    .find(|t| matches!(t, Transmit::WsConnect(_)));
                if upgrade.is_none() {
                    self.failures
                        .push(format!("seq {seq}: the session did not try to open {conn}"));
                }
                let c = &mut self.sessions[index];
                if *status == 101 {
                    c.session.handle_ws_opened(now);
                } else if *status == 0 {
                    c.session.handle_ws_closed(
                        CloseReason::Unreachable("connection refused".into()),
                        now,
                    );
                } else {
                    c.session
                        .handle_ws_closed(CloseReason::Refused(*status), now);
                }
                self.drain(index, seq);
            }
            Kind::WsClose { conn, by, code } => {
                let Some(&index) = self.conns.get(conn) else {
                    return;
                };
                let c = &mut self.sessions[index];
                match by.as_str() {
                    "client" => c.session.close(now),
                    "server" => c.session.handle_ws_closed(
                        CloseReason::CloseFrame {
                            code: *code,
                            reason: String::new(),
                        },
                        now,
                    ),
                    _ => c
                        .session
                        .handle_ws_closed(CloseReason::Dropped("transport".into()), now),
                }
                self.drain(index, seq);
            }
            Kind::HttpRequest {
                id,
                method,
                path,
                query,
                body,
            } => {
                let below = path.strip_prefix("/ari").unwrap_or(path);
                let Some((info, path_params)) = find_operation(method, below) else {
                    return; // Not expressible; the static checks said why.
                };
                let json = body.json();
                if matches!(body, Body::Text(_) | Body::Binary(_)) {
                    return;
                }
                let wire = WireRequest {
                    path_params,
                    query: with_body_params(query, json),
                    body: json,
                };
                let index = self.http_session();
                // A request the typed API cannot send was malformed on
                // purpose; the static checks noted it.
                if let Ok((raw, tracked)) =
                    ops::start_from_wire(&mut self.sessions[index].session, info, &wire, now)
                {
                    if let Some((sub, object)) = tracked {
                        self.tracked.insert((index, object), (sub, Some(raw)));
                    }
                    self.http_ids.insert(*id, (seq, raw));
                    let sent = drain_transmits(&mut self.sessions[index].session);
                    if !sent
                        .iter()
                        .any(|t| matches!(t, Transmit::Http { id, .. } if *id == raw))
                    {
                        self.failures
                            .push(format!("seq {seq}: the request was not transmitted"));
                    }
                }
            }
            Kind::HttpResponse { id, status, body } => {
                let Some((_, raw)) = self.http_ids.remove(id) else {
                    return;
                };
                let index = self.http_session();
                let c = &mut self.sessions[index];
                if *status == 0 {
                    c.session.handle_http_error(raw, "unreachable".into(), now);
                } else {
                    c.session
                        .handle_http_response(raw, *status, body.bytes(), now);
                }
                self.expect_response(index, seq, raw);
            }
            Kind::WsSend { conn, text } => {
                let Ok(req) = parse_rest_request(text) else {
                    return;
                };
                let Some((info, path_params)) =
                    find_operation(&req.method, &format!("/{}", req.path))
                else {
                    return;
                };
                let wire = WireRequest {
                    path_params,
                    query: with_body_params(&req.query, req.body.as_ref()),
                    body: req.body.as_ref(),
                };
                let Some(&index) = self.conns.get(conn) else {
                    return;
                };
                let c = &mut self.sessions[index];
                if let Ok((raw, tracked)) = ops::start_from_wire(&mut c.session, info, &wire, now) {
                    if let Some((sub, object)) = tracked {
                        self.tracked.insert((index, object), (sub, Some(raw)));
                    }
                    self.ws_ids.insert(req.request_id, raw);
                    let sent = drain_transmits(&mut c.session);
                    if !sent.iter().any(|t| matches!(t, Transmit::WsText(_))) {
                        self.failures
                            .push(format!("seq {seq}: the RESTRequest was not sent"));
                    }
                }
            }
            Kind::WsRecv { conn, text } => {
                let mut text = text.clone();
                let mut answers = None;
                if let Ok(mut v) = serde_json::from_str::<Value>(&text)
                    && v["type"] == "RESTResponse"
                    && let Some(raw) = v["request_id"].as_str().and_then(|r| self.ws_ids.remove(r))
                {
                    // Our session numbers its requests itself: bind the recorded id to ours.
                    v["request_id"] = Value::String(format!("ari-{}", raw.0));
                    text = v.to_string();
                    answers = Some(raw);
                }
                let Some(&index) = self.conns.get(conn) else {
                    return;
                };
                self.sessions[index].session.handle_ws_text(&text, now);
                match answers {
                    Some(raw) => self.expect_response(index, seq, raw),
                    None => self.expect_event(index, seq),
                }
            }
            Kind::Meta(_) => {}
        }
    }

    fn expect_response(&mut self, index: usize, seq: u64, raw: RawRequestId) {
        let outputs = drain_outputs(&mut self.sessions[index].session);
        let got = outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id, .. } if *id == raw));
        if !got {
            self.failures
                .push(format!("seq {seq}: the answer did not reach its request"));
        }
        for (_, pending) in self.tracked.values_mut() {
            if *pending == Some(raw) {
                *pending = None;
            }
        }
        self.check_deliveries(index, seq, &outputs);
    }

    fn expect_event(&mut self, index: usize, seq: u64) {
        let outputs = drain_outputs(&mut self.sessions[index].session);
        if !outputs.iter().any(|o| matches!(o, Output::Event(_))) {
            self.failures
                .push(format!("seq {seq}: the event was not delivered"));
        }
        self.check_deliveries(index, seq, &outputs);
    }

    fn drain(&mut self, index: usize, seq: u64) {
        let outputs = drain_outputs(&mut self.sessions[index].session);
        self.check_deliveries(index, seq, &outputs);
    }

    /// Every event reaches the catch-all subscription and the subscription of
    /// every tracked object it names.
    fn check_deliveries(&mut self, index: usize, seq: u64, outputs: &[Output]) {
        let all = self.sessions[index].all;
        for o in outputs {
            match o {
                Output::Event(d) => {
                    if !d.subscribers.contains(&all) {
                        self.failures.push(format!(
                            "seq {seq}: {} missed the catch-all subscription",
                            d.event.type_name()
                        ));
                    }
                    let mut named = Vec::new();
                    d.event
                        .for_each_object(&mut |kind, id| named.push(ObjectRef::new(kind, id)));
                    for object in named {
                        if let Some((sub, pending)) = self.tracked.get(&(index, object.clone())) {
                            if !d.subscribers.contains(sub) {
                                self.failures.push(format!(
                                    "seq {seq}: {} about {} missed its subscription",
                                    d.event.type_name(),
                                    object.id
                                ));
                            } else if pending.is_some() {
                                self.early_events += 1;
                            }
                        }
                    }
                    if let Event::Unknown(u) = &d.event {
                        self.failures
                            .push(format!("seq {seq}: unknown event type {}", u.type_name));
                    }
                }
                Output::SubscriptionEnded { object, .. } => {
                    self.tracked.remove(&(index, object.clone()));
                }
                Output::Diagnostic(d) => self.failures.push(format!("seq {seq}: diagnostic {d:?}")),
                _ => {}
            }
        }
    }
}

fn with_body_params(query: &[(String, String)], body: Option<&Value>) -> Vec<(String, String)> {
    let mut all = query.to_vec();
    if let Some(Value::Object(m)) = body {
        for (k, v) in m {
            match v {
                Value::String(s) => all.push((k.clone(), s.clone())),
                Value::Number(n) => all.push((k.clone(), n.to_string())),
                Value::Bool(b) => all.push((k.clone(), b.to_string())),
                _ => {}
            }
        }
    }
    all
}

fn drain_transmits(s: &mut Session) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn drain_outputs(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_event()).collect()
}
