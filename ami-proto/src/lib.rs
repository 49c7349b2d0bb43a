//! The sans-IO core of an AMI (Asterisk Manager Interface) client.
//!
//! AMI is a TCP stream of messages: after a one-line banner, each message
//! is `Name: value` lines ending in `\r\n` and closed by an empty line.
//! This crate reads and writes that format exactly as Asterisk does, and
//! opens no socket: the bytes come in through a [`Decoder`], actions go
//! out through [`Action::encode`].
//!
//! A [`Session`] is the client on top: it logs in (by MD5 challenge or in
//! plain text), applies the event mask and filters after every login,
//! matches each answer to its action by ActionID (gathering event lists
//! and waiting for an asynchronous `Originate`'s `OriginateResponse`),
//! pings a quiet connection, replaces a silent one and reconnects with
//! backoff. Like `ari-proto`'s session it reads no clock: time comes in as
//! `now`. The driver calls `handle_*` when the network or the clock has
//! something, then drains [`Session::poll_transmit`] and
//! [`Session::poll_output`], and sleeps until [`Session::poll_timeout`].
//!
//! ```
//! use ami_proto::{Decoder, Frame, Kind};
//!
//! let mut decoder = Decoder::default();
//! decoder.feed(b"Asterisk Call Manager/11.0.0\r\n");
//! decoder.feed(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n");
//! let Some(Frame::Banner(banner)) = decoder.next_frame().unwrap() else { panic!() };
//! assert_eq!(banner.version(), "11.0.0");
//! let Some(Frame::Message(event)) = decoder.next_frame().unwrap() else { panic!() };
//! assert!(matches!(event.kind(), Kind::Event(name) if name == "FullyBooted"));
//! assert_eq!(event.get("status").unwrap(), "Fully Booted");
//! ```

#![forbid(unsafe_code)]

mod action;
mod config;
mod decode;
mod md5;
mod message;
mod session;
mod text;

pub use action::{Action, EncodeError, MAX_LINE, MAX_LINES};
pub use config::{Config, ConfigError, EventMask, LoginAuth};
pub use decode::{Banner, DEFAULT_MAX_MESSAGE, DecodeError, Decoder, Frame};
pub use message::{Kind, Line, LineEnd, Message};
pub use proto_common::{BackoffConfig, Secret, Version};
pub use session::{
    ActionError, ActionId, Answer, CloseReason, ConnectionEvent, ConnectionState, Output, Session,
    Transmit,
};
pub use text::Text;
