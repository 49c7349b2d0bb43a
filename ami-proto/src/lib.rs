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
//!
//! The [`events`] and [`actions`] modules are generated (by `ami-codegen`)
//! from Asterisk's XML documentation of releases 20, 22 and 23, corrected
//! where the recorded traffic differs. An event is a zero-copy view over
//! its [`Message`], with an accessor per documented header; an action is
//! an owned builder that makes an [`Action`] through [`ToAction`].
//!
//! ```
//! use ami_proto::actions::Originate;
//! use ami_proto::{Decoder, Event, Frame, ToAction};
//!
//! let mut decoder = Decoder::default();
//! decoder.feed(b"Asterisk Call Manager/11.0.0\r\n");
//! decoder.feed(b"Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/a-1\r\nCause: 16\r\n\r\n");
//! decoder.next_frame().unwrap();
//! let Some(Frame::Message(m)) = decoder.next_frame().unwrap() else { panic!() };
//! let Event::Hangup(hangup) = Event::from_message(m) else { panic!() };
//! assert_eq!(hangup.channel().unwrap(), "PJSIP/a-1");
//! assert_eq!(hangup.cause().unwrap(), "16");
//!
//! let originate = Originate::new("PJSIP/100")
//!     .application("Playback")
//!     .data("hello-world")
//!     .variable("A=1")
//!     .variable("B=2");
//! let mut bytes = Vec::new();
//! originate.to_action().encode(Some("7"), &mut bytes).unwrap();
//! assert!(bytes.starts_with(b"Action: Originate\r\nActionID: 7\r\nChannel: PJSIP/100\r\n"));
//! ```

#![forbid(unsafe_code)]

mod action;
mod chan_vars;
mod config;
mod decode;
mod generated;
mod md5;
mod message;
mod route;
mod session;
mod support;
mod text;
mod tracker;

pub use action::{Action, ActionInfo, EncodeError, HeaderInfo, MAX_LINE, MAX_LINES, ToAction};
pub use chan_vars::{ChanVariables, VarChannel, is_chan_variable};
pub use config::{Config, ConfigError, EventFilter, EventMask, LoginAuth};
pub use decode::{Banner, DEFAULT_MAX_MESSAGE, DecodeError, Decoder, Frame};
pub use generated::events::Event;
pub use generated::{actions, events};
pub use message::{Kind, Line, LineEnd, Message};
pub use proto_common::{BackoffConfig, Secret, Version};
pub use route::{EventType, Router, Selector, SubscriptionId};
pub use session::{
    ActionError, ActionId, Answer, CloseReason, ConnectionEvent, ConnectionState, Output, Session,
    Transmit,
};
pub use text::Text;
pub use tracker::{Bridge, Change, Channel, Dial, Tracker};

/// Headers of the event envelope that no event type has an accessor for:
/// written around every event's own fields (`Privilege`; `Timestamp`,
/// `SystemName` and the debug fields when manager.conf asks for them), on
/// items and ends of event lists (`ActionID`, `EventList`, `ListItems`),
/// and channel variables (see [`is_chan_variable`]).
pub const ENVELOPE_HEADERS: &[&str] = &[
    "Event",
    "Privilege",
    "ActionID",
    "Timestamp",
    "SystemName",
    "SequenceNumber",
    "File",
    "Line",
    "Func",
    "EventList",
    "ListItems",
];
