//! The sans-IO core of an ARI (Asterisk REST Interface) client.
//!
//! `ari-proto` holds everything an ARI client decides: typed requests for
//! every REST operation ([`ops`]), typed models ([`models`]) and events
//! ([`Event`]), URL and query encoding, authentication headers, request
//! correlation and timeouts, the events WebSocket's reconnect schedule, and
//! routing of events to subscriptions. It opens no socket, starts no task and
//! reads no clock: time comes in as `now` on every call, randomness from a
//! seed in the [`Config`], so every run can be replayed exactly.
//!
//! # Driving a [`Session`]
//!
//! Its methods come in four kinds:
//! - getters ([`Session::connection_state`], [`Session::server_version`], ...);
//! - mutators, which the application calls: [`Session::connect`],
//!   [`Session::request`], [`Session::subscribe`], [`Session::close`], ...;
//! - `handle_*` inputs, which the driver calls when the network or the clock
//!   has something: [`Session::handle_http_response`],
//!   [`Session::handle_ws_text`], [`Session::handle_timeout`], ...;
//! - `poll_*` outputs: [`Session::poll_transmit`], [`Session::poll_event`],
//!   [`Session::poll_timeout`].
//!
//! The contract: after every mutator or input, the driver drains
//! `poll_transmit` (sending each [`Transmit`]) and `poll_event` (handing each
//! [`Output`] to the application) until both return `None`, then sleeps until
//! the next input or until `poll_timeout`, whichever comes first, and calls
//! `handle_timeout` when that time is reached.
//!
//! ```
//! use ari_proto::{Config, Session, Transmit, Output, ops::channels::Answer};
//! use std::time::Instant;
//!
//! let config = Config::new("http://localhost:8088", "hello", "asterisk", "secret").unwrap();
//! let mut session = Session::new(config).unwrap();
//! let now = Instant::now();
//! let id = session.request(&Answer::new("1795361410.9"), now).unwrap();
//! let Some(Transmit::Http { id: raw, request }) = session.poll_transmit() else { panic!() };
//! assert_eq!(request.uri(), "http://localhost:8088/ari/channels/1795361410.9/answer");
//! // ... the driver sends it; Asterisk answers 204 ...
//! session.handle_http_response(raw, 204, Vec::new(), now);
//! let Some(Output::Response { outcome, .. }) = session.poll_event() else { panic!() };
//! assert_eq!(id.decode(outcome), Ok(()));
//! ```
//!
//! # Errors and bad input
//!
//! Nothing a peer sends makes the core panic. A frame that is not an ARI
//! message becomes [`Diagnostic::UndecodableFrame`] with the text kept; an
//! event of a type this crate does not know becomes [`Event::Unknown`] with all
//! its fields; fields a newer Asterisk adds land in each model's [`Extra`];
//! enum values it adds land in the enum's `Other` variant.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[doc(hidden)] // Internal: serde plumbing of the generated code.
pub mod codec;
mod config;
mod digits;
#[doc(hidden)] // Internal: URL and body encoding of the generated code.
pub mod encode;
mod error;
mod extra;
mod generated;
mod inspect;
#[doc(hidden)] // Internal: the generated decoders' JSON reader.
pub mod json;
mod operation;
mod registry;
mod session;
mod timestamp;
#[cfg(feature = "conformance")]
mod wire;

pub use config::{AuthMode, Config, RestTransport};
pub use digits::{DigitCollector, Digits, DigitsStop};
pub use error::{ApiError, ApiErrorKind, ConfigError, RequestError};
pub use extra::{Extra, ExtraIter};
pub use generated::events::{self, Event};
pub use generated::models;
pub use generated::operations as ops;
#[cfg(feature = "conformance")]
pub use inspect::Inspect;
#[cfg(not(feature = "conformance"))]
pub(crate) use inspect::Inspect;
pub use operation::*;
pub use proto_common::{BackoffConfig, Secret, SeededRng, Version};
pub use registry::{Filter, IdHasher, IdMap, Subscribers, SubscriptionId};
/// The JSON crate of the public API (free-form values, variable maps).
pub use serde_json;
pub use session::*;
pub use timestamp::Timestamp;
#[cfg(feature = "conformance")]
pub use wire::{
    DecodedResponse, FromWire, ParamInfo, ParamLocation, WireRequest, WireValue, find_operation,
};

/// The string type of decoded models and events.
///
/// Strings of up to 24 bytes (most ARI ids, names, states and numbers) are
/// stored inline, without an allocation. It dereferences to `str`, compares
/// with `&str` and `String`, and turns into a `String` with `into_string()`.
pub type Str = compact_str::CompactString;
