//! The AMI trace format (`traces/ami/FORMAT.md`): one JSON record per
//! line, the first a `meta` record with `"protocol": "ami"`, then the
//! connections' openings, messages and closes in the order a recording
//! proxy saw them.

use crate::trace::base64_decode;
use serde_json::Value;
use std::path::Path;

/// What a recorder writes instead of a `Login`'s `Secret` and `Key`
/// values. A replayer takes any value where a trace has this one.
pub const REDACTED: &str = "<redacted>";

/// The first line of an AMI trace.
#[derive(Debug, Clone, Default)]
pub struct AmiMeta {
    /// Short name (also the file name).
    pub scenario: String,
    /// What the recorded client did.
    pub description: String,
    /// The Asterisk release recorded.
    pub asterisk_version: String,
    /// The AMI version in the banner.
    pub ami_version: String,
    /// Values the client chose itself (`action_ids`, `channel_ids`...).
    pub client_ids: Value,
}

/// What one record says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmiKind {
    /// The client opened a connection; `refused`: nothing listened (the
    /// proxy closed it at once, before any banner).
    TcpOpen {
        /// The connection ended before any banner.
        refused: bool,
    },
    /// Bytes Asterisk sent: the banner line, or one whole message.
    Recv(Vec<u8>),
    /// Bytes the client sent: one whole message.
    Send(Vec<u8>),
    /// The connection ended.
    TcpClose {
        /// `server` when Asterisk closed it, `client` when the client did.
        by: String,
    },
}

/// One record after the meta line.
#[derive(Debug, Clone, PartialEq)]
pub struct AmiRecord {
    /// Position in the file.
    pub seq: u64,
    /// Milliseconds since the recording started.
    pub t_ms: f64,
    /// The connection's name (`c1`, `c2`...).
    pub conn: String,
    /// What happened.
    pub kind: AmiKind,
}

/// A whole AMI trace.
#[derive(Debug, Clone, Default)]
pub struct AmiTrace {
    /// The meta line.
    pub meta: AmiMeta,
    /// Every record after it, in file order.
    pub records: Vec<AmiRecord>,
}

/// Which protocol a trace records, from its `meta` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// ARI over HTTP and WebSocket (`traces/FORMAT.md`; no `protocol`
    /// field, or `"ari"`).
    Ari,
    /// AMI over TCP (`traces/ami/FORMAT.md`, `"protocol": "ami"`).
    Ami,
}

/// The protocol of the trace text `data`, read from its first non-empty
/// line, which must be the `meta` record.
pub fn protocol_of(data: &str) -> Result<Protocol, String> {
    let first = data
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or("an empty trace")?;
    let meta: Value = serde_json::from_str(first).map_err(|e| format!("line 1: {e}"))?;
    if meta.get("kind").and_then(Value::as_str) != Some("meta") {
        return Err("line 1: not a meta record".into());
    }
    match meta.get("protocol").and_then(Value::as_str) {
        None | Some("ari") => Ok(Protocol::Ari),
        Some("ami") => Ok(Protocol::Ami),
        Some(other) => Err(format!("line 1: unknown protocol {other:?}")),
    }
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {key:?}"))
}

/// The bytes of a `recv` or `send` record: `text`, or `base64` for bytes
/// that are not UTF-8.
fn payload(v: &Value) -> Result<Vec<u8>, String> {
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Ok(t.as_bytes().to_vec());
    }
    match v.get("base64").and_then(Value::as_str) {
        Some(b) => base64_decode(b),
        None => Err("no \"text\" nor \"base64\"".into()),
    }
}

impl AmiTrace {
    /// Reads an AMI trace file.
    pub fn read(path: &Path) -> Result<AmiTrace, String> {
        let data = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        AmiTrace::parse(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses AMI trace text.
    pub fn parse(data: &str) -> Result<AmiTrace, String> {
        let mut meta = None;
        let mut records = Vec::new();
        for (n, line) in data.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |e: String| format!("line {}: {e}", n + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            let kind = text(&v, "kind").map_err(at)?;
            if kind == "meta" {
                if v.get("protocol").and_then(Value::as_str) != Some("ami") {
                    return Err(at(
                        "the meta record does not say \"protocol\": \"ami\"".into()
                    ));
                }
                let field = |k: &str| text(&v, k).unwrap_or_default();
                meta = Some(AmiMeta {
                    scenario: field("scenario"),
                    description: field("description"),
                    asterisk_version: field("asterisk_version"),
                    ami_version: field("ami_version"),
                    client_ids: v.get("client_ids").cloned().unwrap_or(Value::Null),
                });
                continue;
            }
            let kind = match kind.as_str() {
                "tcp_open" => AmiKind::TcpOpen {
                    refused: v.get("refused") == Some(&Value::Bool(true)),
                },
                "recv" => AmiKind::Recv(payload(&v).map_err(at)?),
                "send" => AmiKind::Send(payload(&v).map_err(at)?),
                "tcp_close" => AmiKind::TcpClose {
                    by: text(&v, "by").map_err(at)?,
                },
                other => return Err(at(format!("unknown record kind {other:?}"))),
            };
            records.push(AmiRecord {
                seq: v.get("seq").and_then(Value::as_u64).unwrap_or(n as u64),
                t_ms: v.get("t_ms").and_then(Value::as_f64).unwrap_or(0.0),
                conn: text(&v, "conn").map_err(at)?,
                kind,
            });
        }
        Ok(AmiTrace {
            meta: meta.ok_or("no meta line")?,
            records,
        })
    }

    /// The connections' names, in the order they were opened (or first
    /// named).
    pub fn connection_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for r in &self.records {
            if !names.contains(&r.conn.as_str()) {
                names.push(&r.conn);
            }
        }
        names
    }

    /// The records of the connection called `conn`, in order.
    pub fn connection<'a>(&'a self, conn: &'a str) -> impl Iterator<Item = &'a AmiRecord> + 'a {
        self.records.iter().filter(move |r| r.conn == conn)
    }

    /// Whether the connection called `conn` was refused.
    pub fn refused(&self, conn: &str) -> bool {
        self.connection(conn)
            .any(|r| r.kind == AmiKind::TcpOpen { refused: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_records() {
        let ami = concat!(
            r#"{"seq":0,"kind":"meta","format":1,"protocol":"ami","scenario":"x"}"#,
            "\n",
            r#"{"seq":1,"kind":"tcp_open","conn":"c1"}"#,
            "\n",
            r#"{"seq":2,"kind":"recv","conn":"c1","text":"Asterisk Call Manager/11.0.0\r\n"}"#,
            "\n",
            r#"{"seq":3,"kind":"send","conn":"c1","base64":"QWN0aW9uOiBQaW5nDQoNCg=="}"#,
            "\n",
            r#"{"seq":4,"kind":"tcp_close","conn":"c1","by":"client"}"#,
            "\n",
        );
        assert_eq!(protocol_of(ami), Ok(Protocol::Ami));
        assert_eq!(
            protocol_of(r#"{"seq":0,"kind":"meta","scenario":"y"}"#),
            Ok(Protocol::Ari)
        );
        assert!(protocol_of(r#"{"kind":"recv"}"#).is_err());
        assert!(protocol_of(r#"{"kind":"meta","protocol":"sip"}"#).is_err());
        let trace = AmiTrace::parse(ami).unwrap();
        assert_eq!(trace.meta.scenario, "x");
        assert_eq!(trace.records.len(), 4);
        assert_eq!(
            trace.records[2].kind,
            AmiKind::Send(b"Action: Ping\r\n\r\n".to_vec())
        );
        assert_eq!(trace.connection_names(), ["c1"]);
        assert!(!trace.refused("c1"));
        assert!(AmiTrace::parse(r#"{"seq":0,"kind":"meta","scenario":"y"}"#).is_err());
    }
}
