//! A minimal blocking AMI client for the live tests: what they need from
//! Asterisk that ARI cannot do (DTMF on a leg outside Stasis, CLI commands).
//! It is test support, not the project's AMI library.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One AMI message: its `Key: Value` pairs in order, repeats kept.
#[derive(Debug, Clone, Default)]
pub struct AmiMessage(pub Vec<(String, String)>);

impl AmiMessage {
    /// The first value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` (case-insensitive), in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A logged-in manager connection with events turned off.
pub struct Ami {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u64,
}

impl Ami {
    /// Connects to `addr` and logs in.
    pub fn login(addr: &str, user: &str, secret: &str) -> io::Result<Ami> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut ami = Ami {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_id: 0,
        };
        let mut banner = String::new();
        ami.reader.read_line(&mut banner)?;
        if !banner.starts_with("Asterisk Call Manager/") {
            return Err(io::Error::other(format!("not AMI: {banner:?}")));
        }
        let reply = ami.action(
            "Login",
            &[("Username", user), ("Secret", secret), ("Events", "off")],
        )?;
        if reply.get("Response") != Some("Success") {
            return Err(io::Error::other(format!("login refused: {reply:?}")));
        }
        Ok(ami)
    }

    /// Sends an action and returns its response (events in between are
    /// skipped). An `Error` response is returned, not turned into `Err`.
    pub fn action(&mut self, action: &str, fields: &[(&str, &str)]) -> io::Result<AmiMessage> {
        self.next_id += 1;
        let id = format!("live-{}", self.next_id);
        let mut text = format!("Action: {action}\r\nActionID: {id}\r\n");
        for (k, v) in fields {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        self.writer.write_all(text.as_bytes())?;
        loop {
            let message = self.read_message()?;
            if message.get("ActionID") == Some(id.as_str()) && message.get("Response").is_some() {
                return Ok(message);
            }
        }
    }

    /// Sends DTMF `digit` out of `channel` (by name) for 100 ms with
    /// `PlayDTMF`. On the inbound leg of a `PJSIP/...@loop` call it reaches
    /// the outbound leg as real RFC 4733 DTMF: a key pressed by the far end,
    /// from a leg ARI cannot send DTMF on (it is not in Stasis).
    pub fn play_dtmf(&mut self, channel: &str, digit: char) -> io::Result<()> {
        let digit = digit.to_string();
        let fields = [("Channel", channel), ("Digit", &digit), ("Duration", "100")];
        let reply = self.action("PlayDTMF", &fields)?;
        if reply.get("Response") != Some("Success") {
            return Err(io::Error::other(format!("PlayDTMF refused: {reply:?}")));
        }
        Ok(())
    }

    fn read_message(&mut self) -> io::Result<AmiMessage> {
        let mut message = AmiMessage::default();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if message.0.is_empty() {
                    continue;
                }
                return Ok(message);
            }
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            message
                .0
                .push((key.to_string(), value.trim_start().to_string()));
        }
    }
}
