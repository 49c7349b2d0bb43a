//! AMI `GetConfig` answers: what Asterisk answers for a configuration, and
//! reading such an answer back. This is how a reading is compared with a
//! running Asterisk's (see the crate's conformance check).
//!
//! The answer lists, per section: `Category-NNNNNN: name`, then
//! `IsTemplate-NNNNNN: 1` for a template, `Templates-NNNNNN: a,b` for the
//! sections it inherits from, and one `Line-NNNNNN-MMMMMM: name=value` per
//! variable. Templates appear only when asked for (`Filter:
//! TEMPLATES=include`).

use std::fmt;

use crate::config::Config;
use crate::diag::LoadError;

/// One section of a `GetConfig` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedSection {
    /// The name.
    pub name: Vec<u8>,
    /// `IsTemplate: 1` was given.
    pub template: bool,
    /// The `Templates:` value (the direct parents, joined with `,`), if
    /// any.
    pub templates: Option<Vec<u8>>,
    /// The `Line:` values, `name=value`, in order.
    pub lines: Vec<Vec<u8>>,
}

/// A whole `GetConfig` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetConfigAnswer {
    /// `Response: Success` with the sections listed.
    Success(Vec<ListedSection>),
    /// `Response: Error` with its `Message`.
    Error(String),
}

/// An answer that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerError(pub String);

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AnswerError {}

/// Asterisk's message when a file does not load.
pub const INVALID_FORMAT: &str = "Config file has invalid format";
/// Asterisk's message when no file has the name.
pub const NOT_FOUND: &str = "Config file not found";

fn index(s: &[u8]) -> Option<usize> {
    if s.len() != 6 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

impl GetConfigAnswer {
    /// What Asterisk answers for a load result; `templates` as with
    /// `Filter: TEMPLATES=include`.
    pub fn of(result: &Result<Config, LoadError>, templates: bool) -> GetConfigAnswer {
        match result {
            Err(e) if e.is_not_found() => GetConfigAnswer::Error(NOT_FOUND.into()),
            Err(_) => GetConfigAnswer::Error(INVALID_FORMAT.into()),
            Ok(cfg) => GetConfigAnswer::Success(
                cfg.all_sections()
                    .iter()
                    .filter(|s| templates || !s.is_template())
                    .map(|s| ListedSection {
                        name: s.name_text().as_bytes().to_vec(),
                        template: s.is_template(),
                        templates: (!s.template_texts().is_empty()).then(|| {
                            let mut t = Vec::new();
                            for (i, name) in s.template_texts().iter().enumerate() {
                                if i > 0 {
                                    t.push(b',');
                                }
                                t.extend_from_slice(name.as_bytes());
                            }
                            t
                        }),
                        lines: s
                            .variables()
                            .iter()
                            .map(|v| {
                                let mut l = v.name_text().as_bytes().to_vec();
                                l.push(b'=');
                                l.extend_from_slice(v.value_text().as_bytes());
                                l
                            })
                            .collect(),
                    })
                    .collect(),
            ),
        }
    }

    /// Reads an answer (lines ending in `\r\n`, as AMI sends them; `\n`
    /// alone is accepted too).
    pub fn parse(bytes: &[u8]) -> Result<GetConfigAnswer, AnswerError> {
        let mut response = None;
        let mut message = None;
        let mut sections: Vec<ListedSection> = Vec::new();
        for raw in bytes.split(|&b| b == b'\n') {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(AnswerError(format!(
                    "not a header: {}",
                    String::from_utf8_lossy(line)
                )));
            };
            let key = &line[..colon];
            let value = line[colon + 1..]
                .strip_prefix(b" ")
                .unwrap_or(&line[colon + 1..]);
            let bad = || AnswerError(format!("bad header: {}", String::from_utf8_lossy(line)));
            if key == b"Response" {
                response = Some(value.to_vec());
            } else if key == b"Message" {
                message = Some(String::from_utf8_lossy(value).into_owned());
            } else if let Some(n) = key.strip_prefix(b"Category-") {
                if index(n) != Some(sections.len()) {
                    return Err(bad());
                }
                sections.push(ListedSection {
                    name: value.to_vec(),
                    ..Default::default()
                });
            } else if let Some(n) = key.strip_prefix(b"IsTemplate-") {
                let last = sections.len().wrapping_sub(1);
                let s = sections.last_mut().filter(|_| index(n) == Some(last));
                s.ok_or_else(bad)?.template = value == b"1";
            } else if let Some(n) = key.strip_prefix(b"Templates-") {
                let last = sections.len().wrapping_sub(1);
                let s = sections.last_mut().filter(|_| index(n) == Some(last));
                s.ok_or_else(bad)?.templates = Some(value.to_vec());
            } else if let Some(n) = key.strip_prefix(b"Line-") {
                let last = sections.len().wrapping_sub(1);
                let s = sections.last_mut().ok_or_else(bad)?;
                if n.len() != 13
                    || index(&n[..6]) != Some(last)
                    || n[6] != b'-'
                    || index(&n[7..]) != Some(s.lines.len())
                {
                    return Err(bad());
                }
                s.lines.push(value.to_vec());
            }
        }
        match response.as_deref() {
            Some(b"Success") => Ok(GetConfigAnswer::Success(sections)),
            Some(b"Error") => Ok(GetConfigAnswer::Error(message.unwrap_or_default())),
            _ => Err(AnswerError("no Response header".into())),
        }
    }

    /// The answer as Asterisk sends it, with this `ActionID` (`None`: no
    /// ActionID header), ending with the empty line.
    pub fn to_bytes(&self, action_id: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        let header = |out: &mut Vec<u8>, k: &str, v: &[u8]| {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        };
        match self {
            GetConfigAnswer::Error(m) => {
                header(&mut out, "Response", b"Error");
                if let Some(id) = action_id {
                    header(&mut out, "ActionID", id.as_bytes());
                }
                header(&mut out, "Message", m.as_bytes());
            }
            GetConfigAnswer::Success(sections) => {
                header(&mut out, "Response", b"Success");
                if let Some(id) = action_id {
                    header(&mut out, "ActionID", id.as_bytes());
                }
                for (i, s) in sections.iter().enumerate() {
                    header(&mut out, &format!("Category-{i:06}"), &s.name);
                    if s.template {
                        header(&mut out, &format!("IsTemplate-{i:06}"), b"1");
                    }
                    if let Some(t) = &s.templates {
                        header(&mut out, &format!("Templates-{i:06}"), t);
                    }
                    for (j, l) in s.lines.iter().enumerate() {
                        header(&mut out, &format!("Line-{i:06}-{j:06}"), l);
                    }
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The first difference from `expected`, in words; `None` when equal.
    pub fn difference(&self, expected: &GetConfigAnswer) -> Option<String> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match (self, expected) {
            (GetConfigAnswer::Error(a), GetConfigAnswer::Error(b)) => {
                (a != b).then(|| format!("error {a:?}, Asterisk: {b:?}"))
            }
            (GetConfigAnswer::Error(a), GetConfigAnswer::Success(_)) => {
                Some(format!("error {a:?}, Asterisk read the file"))
            }
            (GetConfigAnswer::Success(_), GetConfigAnswer::Error(b)) => {
                Some(format!("read the file, Asterisk: {b:?}"))
            }
            (GetConfigAnswer::Success(a), GetConfigAnswer::Success(b)) => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    if x.name != y.name {
                        return Some(format!(
                            "section {i}: {:?}, Asterisk: {:?}",
                            lossy(&x.name),
                            lossy(&y.name)
                        ));
                    }
                    if x.template != y.template {
                        return Some(format!(
                            "section {i} ({}): template {}, Asterisk: {}",
                            lossy(&x.name),
                            x.template,
                            y.template
                        ));
                    }
                    if x.templates != y.templates {
                        return Some(format!(
                            "section {i} ({}): templates {:?}, Asterisk: {:?}",
                            lossy(&x.name),
                            x.templates.as_deref().map(lossy),
                            y.templates.as_deref().map(lossy)
                        ));
                    }
                    for (j, (l, m)) in x.lines.iter().zip(&y.lines).enumerate() {
                        if l != m {
                            return Some(format!(
                                "section {i} ({}) line {j}: {:?}, Asterisk: {:?}",
                                lossy(&x.name),
                                lossy(l),
                                lossy(m)
                            ));
                        }
                    }
                    if x.lines.len() != y.lines.len() {
                        return Some(format!(
                            "section {i} ({}): {} lines, Asterisk: {}",
                            lossy(&x.name),
                            x.lines.len(),
                            y.lines.len()
                        ));
                    }
                }
                (a.len() != b.len()).then(|| format!("{} sections, Asterisk: {}", a.len(), b.len()))
            }
        }
    }
}
