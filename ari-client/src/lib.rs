//! The runtime-neutral half of the ARI adapters.
//!
//! [`Client`] drives an [`ari_proto::Session`] on real sockets: HTTP/1.1 with
//! hyper (connections kept and reused), the events WebSocket upgraded and
//! written with async-tungstenite and read by a frame reader of its own, all through the small [`Runtime`] trait that
//! `ari-tokio` and `ari-smol` implement. Only the connection's driver is
//! generic over the runtime: [`Client`] and every handle name none, so code
//! written for one adapter compiles for the other. Applications use those
//! crates, which re-export [`api`] whole; this one is the code they share.

#![forbid(unsafe_code)]

pub mod agi;
mod agi_process;
pub mod ami;
mod ami_agi;
mod ami_picture;
mod broadcast;
mod calls;
mod client;
mod driver;
// For the fuzz targets only: not part of the API.
#[doc(hidden)]
pub mod fuzzing;
mod handles;
mod hyper_io;
mod objects;
pub mod outbound;
mod pool;
mod runtime;
mod stream;
mod transport;
mod ws_read;

pub use ari_proto::{Digits, DigitsStop};
pub use broadcast::{BroadcastPolicy, BroadcastStats};
pub use calls::{CallEvent, Calls, IncomingCall};
pub use client::{ALL_EVENTS_QUEUE, Client, ConnectError, DEFAULT_QUEUE, Pending};
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;
pub use handles::*;
pub use objects::{HasHandle, Started};
pub use pool::{Pool, PoolError, PoolStream, ServerIndex};
pub use runtime::{BoxFuture, Executor, Listener, Runtime};
pub use stream::{EventStream, Lagged};
pub use transport::TlsConfig;
#[cfg(feature = "tls")]
pub use transport::{TlsServerConfig, default_tls_config};

/// Everything an application names, in one place: the adapters re-export
/// it whole (`ari_tokio::Client` is [`Client`]), and add `connect`.
pub mod api {
    pub use crate::{
        ALL_EVENTS_QUEUE, BroadcastPolicy, BroadcastStats, CallEvent, Calls, Client, ConnectError,
        DEFAULT_QUEUE, EventStream, HasHandle, IncomingCall, Lagged, Pending, Pool, PoolError,
        PoolStream, ServerIndex, Started, TlsConfig, handles::*,
    };
    #[cfg(feature = "tls")]
    pub use crate::{default_tls_config, rustls};
    pub use ari_proto::{
        self as proto, ApiError, ApiErrorKind, AuthMode, BackoffConfig, CloseReason, Config,
        ConfigError, ConnectionEvent, Digits, DigitsStop, Event, Filter, ObjectKind, ObjectRef,
        RequestError, RestTransport, Str, Timestamp, Version, events, models, ops,
    };
}
