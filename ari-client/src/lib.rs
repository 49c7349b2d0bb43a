//! The runtime-neutral half of the ARI adapters.
//!
//! [`Client`] drives an [`ari_proto::Session`] on real sockets: HTTP/1.1 with
//! hyper (connections kept and reused), the events WebSocket with
//! async-tungstenite, all through the small [`Runtime`] trait that
//! `ari-tokio` and `ari-smol` implement. Applications use those crates; this
//! one is the code they share.

#![forbid(unsafe_code)]

mod adapter;
mod calls;
mod client;
mod driver;
#[rustfmt::skip]
mod handles;
mod hyper_io;
mod objects;
mod runtime;
mod stream;
mod transport;

/// The core crate, for adapters that re-export it.
pub use ari_proto as proto;
pub use ari_proto::{Digits, DigitsStop};
pub use calls::{CallEvent, Calls, IncomingCall};
pub use client::{ALL_EVENTS_QUEUE, Call, Client, ConnectError, DEFAULT_QUEUE};
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;
pub use handles::*;
pub use objects::{HasHandle, Started};
pub use runtime::{BoxFuture, Runtime};
pub use stream::{EventStream, Lagged};
pub use transport::TlsConfig;
#[cfg(feature = "tls")]
pub use transport::default_tls_config;
