//! The environment block Asterisk writes first: `agi_<name>: <value>`
//! lines up to an empty line.

use crate::Text;

/// The script path and query of a FastAGI URL
/// (`agi://host/ivr/main?lang=fr` gives `ivr/main` and `lang=fr`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The path as Asterisk passes it: after `host[:port]/`, before `?`,
    /// not decoded (`args/sub dir/run.agi`); empty for a bare URL. For
    /// process AGI, the script as the dialplan named it.
    pub path: Text,
    /// The query's `name=value` pairs in order, `%XX` decoded (`+` is left
    /// as it is); a name without `=` has an empty value.
    pub query: Vec<(Text, Text)>,
}

impl Script {
    /// Reads `path?query`.
    pub fn parse(s: &[u8]) -> Script {
        let (path, query) = match s.iter().position(|&c| c == b'?') {
            Some(q) => (&s[..q], &s[q + 1..]),
            None => (s, &[][..]),
        };
        let query = query
            .split(|&c| c == b'&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.iter().position(|&c| c == b'=') {
                Some(eq) => (percent_decode(&p[..eq]), percent_decode(&p[eq + 1..])),
                None => (percent_decode(p), Text::default()),
            })
            .collect();
        Script {
            path: path.into(),
            query,
        }
    }

    /// The value of the first query parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Text> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays.
pub fn percent_decode(s: &[u8]) -> Text {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out.into()
}

/// The environment of an AGI session, as Asterisk sent it: every line it
/// names, typed, and all lines in order (so it writes back byte for byte).
///
/// Values Asterisk does not know are the literal `unknown` (`agi_rdnis`,
/// a caller id that is not set); a number that does not read as one leaves
/// its typed field `None` (the line stays in [`lines`](Request::lines)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// `agi_network`: `yes` on FastAGI, absent otherwise.
    pub network: Option<Text>,
    /// `agi_network_script`: the FastAGI URL's path and query after
    /// `host[:port]/`; absent for a URL with no path.
    pub network_script: Option<Text>,
    /// `agi_request`: the URL (FastAGI), the script (process AGI) or
    /// `async` (AsyncAGI).
    pub request: Option<Text>,
    /// `agi_channel`: the channel's name.
    pub channel: Option<Text>,
    /// `agi_language`.
    pub language: Option<Text>,
    /// `agi_type`: the channel technology (`PJSIP`).
    pub channel_type: Option<Text>,
    /// `agi_uniqueid`.
    pub unique_id: Option<Text>,
    /// `agi_version`: Asterisk's version.
    pub version: Option<Text>,
    /// `agi_callerid`: the caller's number.
    pub caller_id: Option<Text>,
    /// `agi_calleridname`: the caller's name.
    pub caller_id_name: Option<Text>,
    /// `agi_callingpres`: the caller id presentation.
    pub calling_pres: Option<i32>,
    /// `agi_callingani2`.
    pub calling_ani2: Option<i32>,
    /// `agi_callington`: the type of number.
    pub calling_ton: Option<i32>,
    /// `agi_callingtns`: the transit network selector.
    pub calling_tns: Option<i32>,
    /// `agi_dnid`: the number dialed.
    pub dnid: Option<Text>,
    /// `agi_rdnis`: the redirecting number.
    pub rdnis: Option<Text>,
    /// `agi_context`.
    pub context: Option<Text>,
    /// `agi_extension`.
    pub extension: Option<Text>,
    /// `agi_priority`.
    pub priority: Option<i32>,
    /// `agi_enhanced`: `true` for EAGI (`1.0`: audio on file descriptor 3).
    pub enhanced: Option<bool>,
    /// `agi_accountcode`.
    pub account_code: Option<Text>,
    /// `agi_threadid`: the Asterisk thread running the AGI.
    pub thread_id: Option<i64>,
    /// `agi_arg_1`... in order of their number: the AGI application's
    /// arguments after the script, already unescaped by the dialplan.
    pub args: Vec<Text>,
    /// The lines with any other name (or no `: `), in order.
    pub unknown: Vec<(Text, Option<Text>)>,
    /// Every line as it came, each ending `\n`, without the block's empty
    /// line: one allocation however many lines.
    block: Text,
    complete: bool,
}

/// Splits one line (without its `\n`) at its first `: `; a line with no
/// `: ` is kept whole as a name without a value.
fn split_line(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memmem::find(line, b": ") {
        Some(i) => (&line[..i], Some(&line[i + 2..])),
        None => (line, None),
    }
}

fn int<T: std::str::FromStr>(v: &[u8]) -> Option<T> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

impl Request {
    /// Reads an environment block: lines up to the first empty line (or
    /// the end, if the block is cut short, as a truncated AsyncAGI `Env`
    /// may be: see [`is_complete`](Request::is_complete)).
    pub fn parse(block: &[u8]) -> Request {
        let mut lines = Vec::with_capacity(block.len() + 1);
        let mut complete = false;
        let mut rest = block;
        while !rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            if line.is_empty() && rest.len() > line.len() {
                complete = true;
                break;
            }
            lines.extend_from_slice(line);
            lines.push(b'\n');
            rest = next;
        }
        Request::from_block(lines, complete)
    }

    /// A request from its lines, each ending `\n` (the block's empty line
    /// left out).
    pub(crate) fn from_block(block: Vec<u8>, complete: bool) -> Request {
        let mut r = Request::default();
        let mut args: Vec<(u32, Text)> = Vec::new();
        for (name, value) in lines_of(&block) {
            let Some(v) = value else {
                r.unknown.push((name.into(), None));
                continue;
            };
            let field = |slot: &mut Option<Text>| {
                if slot.is_none() {
                    *slot = Some(v.into());
                }
            };
            match name {
                b"agi_network" => field(&mut r.network),
                b"agi_network_script" => field(&mut r.network_script),
                b"agi_request" => field(&mut r.request),
                b"agi_channel" => field(&mut r.channel),
                b"agi_language" => field(&mut r.language),
                b"agi_type" => field(&mut r.channel_type),
                b"agi_uniqueid" => field(&mut r.unique_id),
                b"agi_version" => field(&mut r.version),
                b"agi_callerid" => field(&mut r.caller_id),
                b"agi_calleridname" => field(&mut r.caller_id_name),
                b"agi_callingpres" => r.calling_pres = r.calling_pres.or(int(v)),
                b"agi_callingani2" => r.calling_ani2 = r.calling_ani2.or(int(v)),
                b"agi_callington" => r.calling_ton = r.calling_ton.or(int(v)),
                b"agi_callingtns" => r.calling_tns = r.calling_tns.or(int(v)),
                b"agi_dnid" => field(&mut r.dnid),
                b"agi_rdnis" => field(&mut r.rdnis),
                b"agi_context" => field(&mut r.context),
                b"agi_extension" => field(&mut r.extension),
                b"agi_priority" => r.priority = r.priority.or(int(v)),
                b"agi_enhanced" => {
                    r.enhanced = r.enhanced.or(match v {
                        b"1.0" => Some(true),
                        b"0.0" => Some(false),
                        _ => None,
                    })
                }
                b"agi_accountcode" => field(&mut r.account_code),
                b"agi_threadid" => r.thread_id = r.thread_id.or(int(v)),
                n => match n.strip_prefix(b"agi_arg_").and_then(int) {
                    Some(i) => args.push((i, v.into())),
                    None => r.unknown.push((name.into(), Some(v.into()))),
                },
            }
        }
        args.sort_by_key(|(i, _)| *i);
        r.args = args.into_iter().map(|(_, v)| v).collect();
        r.block = Text::new(block);
        r.complete = complete;
        r
    }

    /// Every line, in order: (name, value), the value `None` for a line
    /// without `: `.
    pub fn lines(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        lines_of(self.block.as_bytes())
    }

    /// The value of the first line called `name` (e.g. `agi_channel`).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.lines()
            .find(|(n, _)| *n == name.as_bytes())
            .and_then(|(_, v)| v)
    }

    /// Whether the block ended with its empty line (an AsyncAGI `Env` may
    /// be cut short by Asterisk's buffer).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether Asterisk connected over the network (FastAGI).
    pub fn is_network(&self) -> bool {
        self.network.as_ref().is_some_and(|v| v == "yes")
    }

    /// The script and its query: from `agi_network_script` (FastAGI; an
    /// empty path when the URL has none), else from `agi_request` (the
    /// script of process AGI). `None` for AsyncAGI (`agi_request: async`).
    pub fn script(&self) -> Option<Script> {
        if let Some(s) = &self.network_script {
            return Some(Script::parse(s.as_bytes()));
        }
        if self.is_network() {
            return Some(Script::default());
        }
        match &self.request {
            Some(r) if r != "async" => Some(Script {
                path: r.clone(),
                query: Vec::new(),
            }),
            _ => None,
        }
    }

    /// The block as Asterisk wrote it: the lines, then an empty line.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.block.len() + 1);
        out.extend_from_slice(self.block.as_bytes());
        if self.complete {
            out.push(b'\n');
        }
        out
    }
}

fn lines_of(block: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    block
        .split_inclusive(|&c| c == b'\n')
        .map(|line| split_line(&line[..line.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &[u8] = b"agi_network: yes\nagi_network_script: args/sub dir/run.agi?mode=test&x=1&name=a%20b\n\
agi_request: agi://127.0.0.1:4573/args/sub dir/run.agi?mode=test&x=1&name=a%20b\nagi_channel: PJSIP/loop-in-0000005d\n\
agi_callerid: 5551234\nagi_calleridname: Andr\xe9\nagi_callingpres: 0\nagi_priority: 1\nagi_enhanced: 0.0\n\
agi_accountcode: \nagi_threadid: 140291506558656\nagi_arg_2: second: with colon\nagi_arg_1: first\nagi_x_new: 9\nodd line\n\n";

    #[test]
    fn parses_typed_and_writes_back() {
        let r = Request::parse(BLOCK);
        assert!(r.is_complete() && r.is_network());
        assert_eq!(r.channel.as_ref().unwrap(), "PJSIP/loop-in-0000005d");
        assert_eq!(r.caller_id_name.as_ref().unwrap().as_bytes(), b"Andr\xe9");
        assert_eq!(
            (r.calling_pres, r.priority, r.enhanced),
            (Some(0), Some(1), Some(false))
        );
        assert_eq!(r.thread_id, Some(140291506558656));
        assert_eq!(r.account_code.as_ref().unwrap(), "");
        assert_eq!(
            r.args,
            [Text::from("first"), Text::from("second: with colon")]
        );
        assert_eq!(
            r.unknown,
            [
                ("agi_x_new".into(), Some("9".into())),
                ("odd line".into(), None)
            ]
        );
        let script = r.script().unwrap();
        assert_eq!(script.path, "args/sub dir/run.agi");
        assert_eq!(script.param("name").unwrap(), "a b");
        assert_eq!(script.param("x").unwrap(), "1");
        assert_eq!(r.encode(), BLOCK);
        assert_eq!(r.get("agi_priority").unwrap(), b"1");
    }

    #[test]
    fn scripts_of_each_kind() {
        let bare = Request::parse(b"agi_network: yes\nagi_request: agi://127.0.0.1\n\n");
        assert_eq!(bare.script(), Some(Script::default()));
        let process = Request::parse(b"agi_request: /var/lib/agi/x.agi\n\n");
        assert_eq!(process.script().unwrap().path, "/var/lib/agi/x.agi");
        let cut = Request::parse(b"agi_request: async\nagi_chan");
        assert!(!cut.is_complete());
        assert_eq!(cut.script(), None);
        assert_eq!(cut.encode(), b"agi_request: async\nagi_chan\n");
        assert_eq!(percent_decode(b"%41%zz%4"), "A%zz%4");
        assert_eq!(Script::parse(b"p?a&b=%20&").query.len(), 2);
    }
}
