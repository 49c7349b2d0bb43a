//! What every command has: its facts, its line, and how its reply reads.

use crate::args::{EncodeError, check_raw, split_args};
use crate::reply::{Reply, ReplyError};
use crate::{Text, generated};

/// Facts about one AGI command: from Asterisk's XML documentation (name,
/// arguments, `since`, releases) and from `res/res_agi.c` (whether it may
/// run on a dead channel, how it replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    /// The command as written on the wire, e.g. `STREAM FILE`.
    pub name: &'static str,
    /// Its words, e.g. `["STREAM", "FILE"]` (Asterisk compares them without
    /// regard to case).
    pub words: &'static [&'static str],
    /// Whether Asterisk runs it after the channel hung up (the `dead` flag
    /// of its entry in `res_agi.c`); others get `511` then.
    pub dead: bool,
    /// Whether a reply may come as `1xx` lines before the final one
    /// (`GOSUB`'s `100 result=0 Trying...`).
    pub interim: bool,
    /// Whether the reply carries a free value in parentheses (a variable,
    /// a database entry, received text), which may hold line breaks.
    pub value_reply: bool,
    /// The `<since>` versions of the XML.
    pub since: &'static [&'static str],
    /// The releases whose XML documents it, of those generated from.
    pub releases: &'static [&'static str],
    /// Its arguments, in order.
    pub params: &'static [ParamInfo],
}

/// One argument of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    /// Its name in the XML (or, for one the XML leaves out, in `res_agi.c`).
    pub name: &'static str,
    /// Whether the typed command requires it.
    pub required: bool,
    /// Whether the XML documents it.
    pub documented: bool,
}

/// An AGI command: typed ([`crate::commands`]), [`RawCommand`] or
/// [`AnyCommand`](crate::commands::AnyCommand).
pub trait Command {
    /// What a successful reply reads as.
    type Output;

    /// Facts about the command; `None` for a raw line that names no
    /// command Asterisk knows.
    fn info(&self) -> Option<&'static CommandInfo>;

    /// The line to send, `\n` included.
    fn encode(&self) -> Result<Vec<u8>, EncodeError>;

    /// Reads the final reply Asterisk sent to this command.
    fn parse_reply(&self, reply: &Reply) -> Result<Self::Output, ReplyError>;
}

/// Any command line, written as given (it must hold no line break, and be
/// one Asterisk reads as one command). Its reply is the [`Reply`] itself;
/// `510`, `511` and `520` still read as errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCommand {
    line: Text,
}

impl RawCommand {
    /// A command line without its final `\n` (one at the end is dropped).
    pub fn new(line: impl Into<Text>) -> RawCommand {
        let mut line = line.into().into_bytes();
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        RawCommand { line: line.into() }
    }

    /// The line, without its `\n`.
    pub fn line(&self) -> &Text {
        &self.line
    }
}

impl Command for RawCommand {
    type Output = Reply;

    fn info(&self) -> Option<&'static CommandInfo> {
        lookup(&split_args(self.line.as_bytes()))
    }

    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        check_raw(self.line.as_bytes())
    }

    fn parse_reply(&self, reply: &Reply) -> Result<Reply, ReplyError> {
        reply.check_status()?;
        Ok(reply.clone())
    }
}

/// A command already written: its line and its facts, with no type of its
/// own. It lets an application encode a typed command where it is made
/// (and keep the typed command to read the reply), and hand only this to
/// the task that drives the [`Session`](crate::Session).
///
/// ```
/// use agi_proto::commands::GetData;
/// use agi_proto::{Command, Encoded};
///
/// let get = GetData::new("beep").timeout(3000).max_digits(4);
/// let encoded = Encoded::new(&get).unwrap();
/// assert_eq!(encoded.line(), b"GET DATA beep 3000 4\n");
/// assert_eq!(encoded.info().unwrap().name, "GET DATA");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    line: Vec<u8>,
    info: Option<&'static CommandInfo>,
}

impl Encoded {
    /// Writes `command`.
    pub fn new<C: Command + ?Sized>(command: &C) -> Result<Encoded, EncodeError> {
        Ok(Encoded {
            line: command.encode()?,
            info: command.info(),
        })
    }

    /// The line, `\n` included.
    pub fn line(&self) -> &[u8] {
        &self.line
    }
}

impl Command for Encoded {
    type Output = Reply;

    fn info(&self) -> Option<&'static CommandInfo> {
        self.info
    }

    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(self.line.clone())
    }

    fn parse_reply(&self, reply: &Reply) -> Result<Reply, ReplyError> {
        reply.check_status()?;
        Ok(reply.clone())
    }
}

/// The command a line's words name, as Asterisk finds it: its words are
/// the first words of the line, compared without regard to case.
pub fn lookup(words: &[Vec<u8>]) -> Option<&'static CommandInfo> {
    generated::commands::COMMANDS.iter().copied().find(|c| {
        c.words.len() <= words.len()
            && c.words
                .iter()
                .zip(words)
                .all(|(a, b)| a.as_bytes().eq_ignore_ascii_case(b))
    })
}

/// The command named `name` (`"stream file"`, any case, single spaces).
pub fn find(name: &str) -> Option<&'static CommandInfo> {
    generated::commands::COMMANDS
        .iter()
        .copied()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Every command the XML documents, in Asterisk's table order (`GOSUB`,
/// which `app_stack` adds, last).
pub fn all() -> &'static [&'static CommandInfo] {
    generated::commands::COMMANDS
}
