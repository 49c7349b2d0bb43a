//! The public API every adapter crate exposes, written once.

/// Declares an adapter's public API for runtime type `$runtime`, built per
/// call by `$make`: the re-exports, `Client`, `connect` and (with the `tls`
/// feature) `connect_with_tls`. The two adapters differ only in their runtime.
#[macro_export]
macro_rules! adapter_api {
    ($runtime:ty, $make:expr) => {
        pub use $crate::proto::{
            self as proto, Config, ConnectionEvent, Event, Filter, RequestError, Version, events,
            models, ops,
        };
        pub use $crate::{
            BridgeHandle, Call, CallEvent, ChannelHandle, ConnectError, Digits, DigitsStop,
            EventStream, IncomingCall, Lagged, PlaybackHandle, Started,
        };

        /// A client on this runtime.
        pub type Client = $crate::Client<$runtime>;

        /// Connects to an Asterisk; returns once the events WebSocket is open.
        pub async fn connect(config: Config) -> Result<Client, ConnectError> {
            Client::connect($make, config).await
        }

        /// [`connect`] with your own TLS settings, e.g. trusting a private CA.
        #[cfg(feature = "tls")]
        pub async fn connect_with_tls(
            config: Config,
            tls: $crate::TlsConfig,
        ) -> Result<Client, ConnectError> {
            Client::connect_with_tls($make, config, tls).await
        }

        #[cfg(feature = "tls")]
        pub use $crate::{default_tls_config, rustls};
    };
}
