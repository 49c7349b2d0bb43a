//! The trace format (`traces/FORMAT.md`): one JSON record per line.

use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The first line of a trace.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    /// Short name.
    pub scenario: String,
    /// What the client did.
    #[serde(default)]
    pub description: String,
    /// Asterisk release recorded.
    #[serde(default)]
    pub asterisk_version: String,
    /// Stasis applications used.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Values the client chose itself.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// `outbound` when Asterisk opened the connections (an outbound
    /// WebSocket: play it with [`crate::outbound_play`]); empty otherwise.
    #[serde(default)]
    pub direction: String,
}

/// A recorded body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body.
    None,
    /// A JSON body.
    Json(Value),
    /// A text body that is not JSON.
    Text(String),
    /// Binary bytes.
    Binary(Vec<u8>),
}

impl Body {
    fn parse(v: &Value) -> Result<Body, String> {
        if v.is_null() {
            return Ok(Body::None);
        }
        if let Some(j) = v.get("json") {
            return Ok(Body::Json(j.clone()));
        }
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            return Ok(Body::Text(t.to_string()));
        }
        if let Some(b) = v.get("base64").and_then(Value::as_str) {
            return base64_decode(b).map(Body::Binary);
        }
        Err(format!("unknown body {v}"))
    }

    /// The bytes as they crossed the wire (JSON re-encoded).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Body::None => Vec::new(),
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::Text(t) => t.clone().into_bytes(),
            Body::Binary(b) => b.clone(),
        }
    }

    /// The JSON value, if the body is JSON.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Body::Json(v) => Some(v),
            _ => None,
        }
    }
}

/// One record of a trace.
#[derive(Debug, Clone)]
pub struct Record {
    /// Position in the file.
    pub seq: u64,
    /// Milliseconds since the trace started.
    pub t_ms: f64,
    /// What happened.
    pub kind: Kind,
}

/// The kinds of record.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The first line.
    Meta(Meta),
    /// A REST request.
    HttpRequest {
        /// Request number.
        id: u64,
        /// Method.
        method: String,
        /// Percent-encoded path starting with `/ari/`.
        path: String,
        /// Decoded query pairs.
        query: Vec<(String, String)>,
        /// Body.
        body: Body,
    },
    /// A REST response.
    HttpResponse {
        /// The request answered.
        id: u64,
        /// Status, 0 when Asterisk could not be reached.
        status: u16,
        /// Body.
        body: Body,
    },
    /// A WebSocket upgrade attempt.
    WsOpen {
        /// Connection name.
        conn: String,
        /// Decoded query pairs.
        query: Vec<(String, String)>,
        /// 101 when it opened.
        status: u16,
    },
    /// A text frame from Asterisk.
    WsRecv {
        /// Connection name.
        conn: String,
        /// The frame.
        text: String,
    },
    /// A text frame to Asterisk.
    WsSend {
        /// Connection name.
        conn: String,
        /// The frame.
        text: String,
    },
    /// A WebSocket closed.
    WsClose {
        /// Connection name.
        conn: String,
        /// `server`, `client` or `transport`.
        by: String,
        /// Close code, if a close frame was seen.
        code: Option<u16>,
    },
}

/// A whole trace.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The meta line.
    pub meta: Meta,
    /// Every record after it.
    pub records: Vec<Record>,
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p.get(0)?.as_str()?.to_string(),
                p.get(1)?.as_str()?.to_string(),
            ))
        })
        .collect()
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {key:?}"))
}

fn num(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("no {key:?}"))
}

impl Trace {
    /// The texts of the events received on the WebSocket, in order.
    pub fn events(&self) -> impl Iterator<Item = &str> {
        self.records.iter().filter_map(|r| match &r.kind {
            Kind::WsRecv { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The sequence number of the first event received, if any.
    pub fn first_event_seq(&self) -> Option<u64> {
        self.records
            .iter()
            .find(|r| matches!(r.kind, Kind::WsRecv { .. }))
            .map(|r| r.seq)
    }

    /// Reads a trace file.
    pub fn read(path: &Path) -> Result<Trace, String> {
        let data = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Trace::parse(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses trace text.
    pub fn parse(data: &str) -> Result<Trace, String> {
        let mut meta = None;
        let mut records = Vec::new();
        for (n, line) in data
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            let record = Trace::record(&v).map_err(|e| format!("line {}: {e}", n + 1))?;
            match record.kind {
                Kind::Meta(m) => meta = Some(m),
                _ => records.push(record),
            }
        }
        Ok(Trace {
            meta: meta.ok_or("no meta line")?,
            records,
        })
    }

    fn record(v: &Value) -> Result<Record, String> {
        let kind = match text(v, "kind")?.as_str() {
            "meta" => Kind::Meta(serde_json::from_value(v.clone()).map_err(|e| e.to_string())?),
            "http_request" => Kind::HttpRequest {
                id: num(v, "id")?,
                method: text(v, "method")?,
                path: text(v, "path")?,
                query: pairs(&v["query"]),
                body: Body::parse(&v["body"])?,
            },
            "http_response" => Kind::HttpResponse {
                id: num(v, "id")?,
                status: num(v, "status")? as u16,
                body: Body::parse(&v["body"])?,
            },
            "ws_open" => Kind::WsOpen {
                conn: text(v, "conn")?,
                query: pairs(&v["query"]),
                status: num(v, "status")? as u16,
            },
            "ws_recv" => Kind::WsRecv {
                conn: text(v, "conn")?,
                text: text(v, "text")?,
            },
            "ws_send" => Kind::WsSend {
                conn: text(v, "conn")?,
                text: text(v, "text")?,
            },
            "ws_close" => Kind::WsClose {
                conn: text(v, "conn")?,
                by: text(v, "by")?,
                code: v.get("code").and_then(Value::as_u64).map(|c| c as u16),
            },
            other => return Err(format!("unknown record kind {other:?}")),
        };
        Ok(Record {
            seq: v.get("seq").and_then(Value::as_u64).unwrap_or(0),
            t_ms: v.get("t_ms").and_then(Value::as_f64).unwrap_or(0.0),
            kind,
        })
    }
}

/// Standard base64 with padding.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let val = |c: u8| -> Result<u32, String> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("invalid base64 byte {c:#x}")),
        } as u32)
    };
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().take_while(|&b| b != b'=').collect();
        let mut n = 0u32;
        for &b in &data {
            n = (n << 6) | val(b)?;
        }
        n <<= 6 * (4 - data.len() as u32);
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len().max(1)]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap(),
            b"Aladdin:open sesame"
        );
        assert_eq!(base64_decode("YWI6Yw==").unwrap(), b"ab:c");
        assert_eq!(base64_decode("YTpi").unwrap(), b"a:b");
        assert!(base64_decode("a$b=").is_err());
    }
}
