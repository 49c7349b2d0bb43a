//! The static checks: every recorded event, answer and request against the
//! typed API of `ari-proto`.

use crate::trace::{Body, Kind, Trace};
use ari_proto::{ApiError, EncodedRequest, Event, Inspect, WireRequest, find_operation, ops};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What one trace's checks found.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Checks that passed.
    pub passed: usize,
    /// One line per failed check.
    pub failures: Vec<String>,
    /// Things worth knowing that are not failures.
    pub notes: Vec<String>,
}

impl Report {
    pub(crate) fn result(&mut self, seq: u64, what: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(format!("seq {seq}: {what}: {e}")),
        }
    }
}

/// Where two JSON values differ (numbers compare by value), or `None`.
pub fn json_diff(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    None => return Some(format!("{path}.{k}: dropped")),
                    Some(w) => {
                        if let Some(d) = json_diff(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: added"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| json_diff(x, y, &format!("{path}[{i}]"))),
        _ if want == got => None,
        _ => Some(format!("{path}: recorded {want}, typed gives {got}")),
    }
}

/// Decodes one events WebSocket frame and checks it survives the types whole.
pub fn check_event(text: &str) -> Result<Event, String> {
    let event = Event::from_json(text).map_err(|e| format!("does not decode: {e}"))?;
    let type_name = event.type_name().to_string();
    let mut unknown = Vec::new();
    event.unknown_fields(&type_name, &mut unknown);
    if let Event::Unknown(_) = event {
        if ari_proto::events::EVENT_TYPES.contains(&type_name.as_str()) {
            return Err(format!("{type_name} decoded as an unknown type"));
        }
        unknown.clear();
    }
    if !unknown.is_empty() {
        return Err(format!("not in the typed model: {}", unknown.join(", ")));
    }
    let original: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&event).map_err(|e| e.to_string())?;
    if let Some(d) = json_diff(&original, &back, &type_name) {
        return Err(d);
    }
    Ok(event)
}

/// Checks a success answer decodes as the operation's response, whole.
pub fn check_success(info: &ari_proto::OperationInfo, body: &[u8]) -> Result<(), String> {
    let decoded =
        ops::decode_any_response(info, body).map_err(|e| format!("does not decode: {e}"))?;
    if !decoded.unknown.is_empty() {
        return Err(format!(
            "not in the typed model: {}",
            decoded.unknown.join(", ")
        ));
    }
    if let Some(back) = decoded.json {
        let original: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if let Some(d) = json_diff(&original, &back, "$") {
            return Err(d);
        }
    }
    Ok(())
}

/// Checks an error answer decodes as a typed API error.
pub fn check_error(status: u16, body: &[u8]) -> Result<(), String> {
    let err = ApiError::from_response(status, body);
    if err.status != status {
        return Err("status lost".into());
    }
    let recorded = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    if recorded != err.message {
        return Err(format!("message {:?} read as {:?}", recorded, err.message));
    }
    Ok(())
}

/// Splits a body into parameters (scalar keys) and what stays a body.
pub(crate) fn body_params(body: Option<&Value>) -> (Vec<(String, String)>, Option<Value>) {
    match body {
        Some(Value::Object(m)) => {
            let mut params = Vec::new();
            let mut rest = Map::new();
            for (k, v) in m {
                match v {
                    Value::String(s) => params.push((k.clone(), s.clone())),
                    Value::Number(n) => params.push((k.clone(), n.to_string())),
                    Value::Bool(b) => params.push((k.clone(), b.to_string())),
                    _ => {
                        rest.insert(k.clone(), v.clone());
                    }
                }
            }
            let rest = if rest.is_empty() && !params.is_empty() {
                None
            } else {
                Some(Value::Object(rest))
            };
            (params, rest)
        }
        other => (Vec::new(), other.cloned()),
    }
}

/// Compares what the typed API emits with a recorded request.
pub fn compare_request(
    enc: &EncodedRequest,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<(), String> {
    if enc.method.as_str() != method {
        return Err(format!(
            "method {} instead of {method}",
            enc.method.as_str()
        ));
    }
    if enc.path != path {
        return Err(format!("path {:?} instead of {path:?}", enc.path));
    }
    let (mut want, want_body) = body_params(body);
    want.extend(query.iter().cloned());
    want.sort();
    let mut got: Vec<(String, String)> = enc
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    got.sort();
    if want != got {
        return Err(format!("parameters {got:?} instead of {want:?}"));
    }
    match (&want_body, &enc.body) {
        (None, None) => Ok(()),
        (Some(w), Some(g)) => json_diff(w, g, "body").map_or(Ok(()), Err),
        (w, g) => Err(format!("body {g:?} instead of {w:?}")),
    }
}

/// A recorded request as a wire request for `find_operation`'s operation.
fn rebuild(
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<EncodedRequest, String> {
    let (info, path_params) =
        find_operation(method, path).ok_or_else(|| format!("no operation is {method} {path}"))?;
    let (body_query, _) = body_params(body);
    let mut all_query = query.to_vec();
    all_query.extend(body_query);
    let wire = WireRequest {
        path_params,
        query: all_query,
        body,
    };
    ops::encode_from_wire(info, &wire)
}

/// Runs the static checks over a trace.
pub fn check_static(trace: &Trace, report: &mut Report) {
    let mut requests: HashMap<u64, (String, String)> = HashMap::new();
    let mut refused: HashMap<u64, u16> = HashMap::new();
    for r in &trace.records {
        if let Kind::HttpResponse { id, status, .. } = &r.kind {
            refused.insert(*id, *status);
        }
    }
    // request_id → (method, path) of REST-over-WebSocket requests.
    let mut ws_requests: HashMap<String, (String, String)> = HashMap::new();
    for r in &trace.records {
        match &r.kind {
            Kind::WsRecv { text, .. } => {
                let outcome = check_event(text).and_then(|event| match event {
                    Event::RESTResponse(resp) => check_rest_response(&resp, &ws_requests),
                    _ => Ok(()),
                });
                let name = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| "frame".into());
                report.result(r.seq, &format!("event {name}"), outcome);
            }
            Kind::HttpRequest {
                id,
                method,
                path,
                query,
                body,
            } => {
                let below = path.strip_prefix("/ari").unwrap_or(path);
                requests.insert(*id, (method.clone(), below.to_string()));
                let status = refused.get(id).copied().unwrap_or(0);
                let outcome = match body {
                    Body::Text(_) | Body::Binary(_) => Err("a body that is not JSON".to_string()),
                    _ => rebuild(method, below, query, body.json()).and_then(|enc| {
                        compare_request(
                            &enc,
                            method,
                            below.trim_start_matches('/'),
                            query,
                            body.json(),
                        )
                    }),
                };
                match outcome {
                    Err(e) if status >= 400 => report.notes.push(format!(
                        "seq {}: {method} {path}: not expressible with the typed API ({e}); Asterisk refused it too ({status})",
                        r.seq
                    )),
                    other => report.result(r.seq, &format!("request {method} {path}"), other),
                }
            }
            Kind::HttpResponse { id, status, body } => {
                let Some((method, path)) = requests.get(id) else {
                    report.result(
                        r.seq,
                        "response",
                        Err(format!("answers unknown request {id}")),
                    );
                    continue;
                };
                let what = format!("response {status} to {method} /ari{path}");
                let outcome = match (*status, find_operation(method, path)) {
                    (0, _) => continue,
                    (200..=299, Some((info, _))) => check_success(info, &body.bytes()),
                    (200..=299, None) => Err("a success for a request no operation names".into()),
                    (_, _) => check_error(*status, &body.bytes()),
                };
                report.result(r.seq, &what, outcome);
            }
            Kind::WsSend { text, .. } => {
                let outcome = check_rest_request(text, &mut ws_requests);
                match outcome {
                    Err(e) if e.starts_with("not a RESTRequest") || e.starts_with("incomplete") => {
                        report.notes.push(format!(
                            "seq {}: ws_send not expressible with the typed API: {e}",
                            r.seq
                        ))
                    }
                    other => report.result(r.seq, "RESTRequest", other),
                }
            }
            Kind::Meta(_) | Kind::WsOpen { .. } | Kind::WsClose { .. } => {}
        }
    }
}

/// The parts of a `RESTRequest` frame.
pub struct RestRequest {
    /// `request_id`.
    pub request_id: String,
    /// Method.
    pub method: String,
    /// Path below `/ari/`, without its query.
    pub path: String,
    /// Query pairs from the URI and from `query_strings`.
    pub query: Vec<(String, String)>,
    /// The JSON body from `message_body`.
    pub body: Option<Value>,
}

/// Reads a `RESTRequest` frame.
pub fn parse_rest_request(text: &str) -> Result<RestRequest, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|_| "not a RESTRequest: not JSON".to_string())?;
    if v.get("type").and_then(Value::as_str) != Some("RESTRequest") {
        return Err("not a RESTRequest".into());
    }
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(request_id), Some(method), Some(uri)) =
        (field("request_id"), field("method"), field("uri"))
    else {
        return Err("incomplete RESTRequest".into());
    };
    let (path, qs) = uri.split_once('?').unwrap_or((&uri, ""));
    let mut query: Vec<(String, String)> = qs
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, val) = p.split_once('=').unwrap_or((p, ""));
            (
                ari_proto::encode::percent_decode(k).unwrap_or_default(),
                ari_proto::encode::percent_decode(val).unwrap_or_default(),
            )
        })
        .collect();
    for q in v
        .get("query_strings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(n), Some(val)) = (
            q.get("name").and_then(Value::as_str),
            q.get("value").and_then(Value::as_str),
        ) {
            query.push((n.to_string(), val.to_string()));
        }
    }
    let body = match field("message_body") {
        Some(b) if !b.is_empty() => {
            Some(serde_json::from_str(&b).map_err(|e| format!("message_body: {e}"))?)
        }
        _ => None,
    };
    Ok(RestRequest {
        request_id,
        method,
        path: path.trim_start_matches('/').to_string(),
        query,
        body,
    })
}

fn check_rest_request(
    text: &str,
    ws_requests: &mut HashMap<String, (String, String)>,
) -> Result<(), String> {
    let req = parse_rest_request(text)?;
    ws_requests.insert(
        req.request_id.clone(),
        (req.method.clone(), format!("/{}", req.path)),
    );
    let enc = rebuild(
        &req.method,
        &format!("/{}", req.path),
        &req.query,
        req.body.as_ref(),
    )?;
    compare_request(&enc, &req.method, &req.path, &req.query, req.body.as_ref())
}

fn check_rest_response(
    resp: &ari_proto::events::RESTResponse,
    ws_requests: &HashMap<String, (String, String)>,
) -> Result<(), String> {
    let body = resp.message_body.as_deref().unwrap_or_default().as_bytes();
    let status = u16::try_from(resp.status_code).map_err(|_| "status out of range".to_string())?;
    let Some((method, path)) = ws_requests.get(resp.request_id.as_str()) else {
        // An answer to a request the typed API cannot send (malformed on purpose).
        return if status >= 400 {
            check_error(status, body)
        } else {
            Ok(())
        };
    };
    match (status, find_operation(method, path)) {
        (200..=299, Some((info, _))) => check_success(info, body),
        (200..=299, None) => Err("a success for a request no operation names".into()),
        _ => check_error(status, body),
    }
}
