//! The sans-IO core of AGI, the Asterisk Gateway Interface: typed
//! commands, Asterisk's replies read exactly, and the session, with no
//! sockets and no clock.
//!
//! One core serves the three ways AGI runs:
//!
//! - **FastAGI**: `AGI(agi://host:4573/script?query,arg1,arg2)` makes
//!   Asterisk connect to a server and talk over TCP;
//! - **process AGI**: Asterisk starts a script and talks over its stdin
//!   and stdout (EAGI adds the caller's audio on file descriptor 3);
//! - **AsyncAGI**: `AGI(agi:async)` hands the channel to an AMI client,
//!   which sends the same commands in `AGI` actions ([`async_agi`]).
//!
//! On FastAGI and process AGI, Asterisk first writes the environment (a
//! [`Request`]: `agi_channel: ...` lines up to an empty line), then the
//! script writes one command line at a time and Asterisk answers each with
//! a [`Reply`] (`200 result=1 (value)`). A `HANGUP` line may come at any
//! time when the caller hangs up.
//!
//! The [`commands`] are generated (by `ami-codegen`) from the `<agi>`
//! elements of Asterisk's XML documentation of releases 20, 22 and 23, with
//! what the XML does not say read from `res/res_agi.c`: each is a struct
//! with typed arguments that writes itself as Asterisk's `parse_args`
//! reads it ([`args`]), and reads its reply into a typed result
//! ([`results`]).
//!
//! ```
//! use agi_proto::commands::{GetVariable, StreamFile};
//! use agi_proto::{Command, DigitResult, Playback, Reply};
//!
//! let play = StreamFile::new("hello-world", "#");
//! assert_eq!(play.encode().unwrap(), b"STREAM FILE hello-world \"#\"\n");
//! let reply = Reply::parse(b"200 result=35 endpos=13760\n").unwrap();
//! assert_eq!(
//!     play.parse_reply(&reply),
//!     Ok(Playback { result: DigitResult::Digit('#'), endpos: 13760 })
//! );
//!
//! let get = GetVariable::new("CALLERID(name)");
//! let reply = Reply::parse(b"200 result=1 (Alice (home))\n").unwrap();
//! assert_eq!(get.parse_reply(&reply).unwrap().unwrap(), "Alice (home)");
//! ```
//!
//! A [`Session`] runs one FastAGI or process AGI conversation. Like the
//! other cores of this workspace it reads no clock: time comes in as
//! `now`. Its methods are of four kinds: getters; `handle_*` (input:
//! bytes, end of stream, a timeout); mutators ([`Session::send`],
//! [`Session::close`]); and `poll_*` (output). **After every input or
//! mutator, drain [`Session::poll_transmit`] and [`Session::poll_output`],
//! then wait for bytes or until [`Session::poll_timeout`].**
//!
//! ```
//! use agi_proto::commands::Answer;
//! use agi_proto::{Command, Config, Output, Session, Transmit};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut session = Session::new(Config::default(), now);
//! session.handle_bytes(b"agi_network: yes\nagi_channel: PJSIP/100-0001\n\n", now);
//! let Some(Output::Request(request)) = session.poll_output() else { panic!() };
//! assert_eq!(request.channel.as_ref().unwrap(), "PJSIP/100-0001");
//!
//! let answer = Answer::new();
//! let id = session.send(&answer, now).unwrap();
//! assert_eq!(session.poll_transmit(), Some(Transmit::Send(b"ANSWER\n".to_vec())));
//! session.handle_bytes(b"HANGUP\n200 result=0\n", now);
//! assert_eq!(session.poll_output(), Some(Output::Hangup));
//! let Some(Output::Reply { id: got, result: Ok(reply) }) = session.poll_output() else { panic!() };
//! assert_eq!(got, id);
//! assert!(answer.parse_reply(&reply).unwrap().is_success());
//! // After the hangup, Asterisk would refuse ANSWER: it fails here.
//! assert!(session.send(&answer, now).is_err());
//! ```
//!
//! An async driver owns the session in one task; the application's tasks
//! make typed commands, hand the driver an [`Encoded`] (the line and its
//! facts, `Send + 'static`), and read the [`Reply`] that comes back with
//! their typed command's [`Command::parse_reply`]. [`Error`] joins the two
//! ways a command can fail.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
pub mod async_agi;
mod command;
mod generated;
mod reply;
mod request;
pub mod results;
mod session;
mod text;

pub use args::{EncodeError, MAX_LINE, MAX_WORDS};
pub use async_agi::{AsyncAgi, AsyncOutput};
pub use command::{Command, CommandInfo, Encoded, ParamInfo, RawCommand, all, find, lookup};
pub use generated::commands;
pub use reply::{DecodeError, Decoder, Frame, Limits, Reply, ReplyError};
pub use request::{Request, Script, percent_decode};
pub use results::{
    ChannelState, DataEntry, DigitResult, ExecResult, GosubResult, Outcome, Playback, ReceivedChar,
    RecordEnd, Recording, SpeechRecognition, SpeechResult,
};
pub use session::{CloseReason, CommandError, CommandId, Config, Output, Session, State, Transmit};
pub use text::Text;

/// Anything that keeps a command from its result: no reply
/// ([`CommandError`]) or a reply that is an error ([`ReplyError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command got no reply.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The reply is an error, or not what the command answers.
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Error {
        Error::Command(CommandError::Encode(e))
    }
}
