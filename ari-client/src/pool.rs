//! One application instance on several Asterisk servers: a [`Pool`] holds a
//! [`Client`] per server and reads as one, with every event, call and
//! connection change saying which server it came from.

use crate::broadcast::{BroadcastPolicy, BroadcastStats};
use crate::calls::IncomingCall;
use crate::client::{Client, ConnectError};
use crate::runtime::Runtime;
use crate::stream::Lagged;
use ari_proto::{CloseReason, Config, ConnectionEvent, Event, Filter};
use futures_util::stream::{BoxStream, SelectAll, StreamExt};
use std::future::Future;
use std::sync::Arc;

/// A server's place in its pool: the index of its configuration in the list
/// the pool was made from, and of its client in [`Pool::clients`].
pub type ServerIndex = usize;

/// Items of several servers' streams, each with the server it came from,
/// in the order they arrive; it ends once every server's stream ended.
pub type PoolStream<T> = SelectAll<BoxStream<'static, (ServerIndex, T)>>;

/// Why [`Pool::connect`] failed; no connection is left open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A server's configuration or TLS settings are unusable.
    #[error("server {server}: {error}")]
    Server {
        /// The server's index.
        server: ServerIndex,
        /// What was wrong.
        error: ConnectError,
    },
    /// No server's events WebSocket opened: each one's reason, in order
    /// (none for an empty list).
    #[error("no server's events WebSocket opened: {0:?}")]
    NoneOpened(Vec<CloseReason>),
}

/// Several Asterisk servers used as one by one application instance: a
/// [`Client`] per server, cheap to clone. Handles made from an event or a
/// call belong to its server's client (`call.channel.client()`), so
/// requests about a call go to the server that has it.
#[derive(Clone, Debug)]
pub struct Pool {
    clients: Arc<[Client]>,
}

impl Pool {
    /// Connects to every server at once and returns when each one's first
    /// attempt has opened or failed. A server whose first attempt failed
    /// stays in the pool and is tried again on its reconnect schedule
    /// (reported by [`connection_events`](Self::connection_events)), so
    /// the instance takes calls from the servers that are up meanwhile.
    /// Fails if a configuration is unusable or no server could be reached.
    pub async fn connect<R: Runtime>(
        runtime: R,
        configs: impl IntoIterator<Item = Config>,
    ) -> Result<Pool, PoolError> {
        let tls = crate::transport::default_tls_config().map_err(|e| PoolError::Server {
            server: 0,
            error: ConnectError::Tls(e),
        })?;
        Self::connect_with_tls(runtime, configs, tls).await
    }

    /// [`connect`](Self::connect) with your own TLS settings for every server.
    pub async fn connect_with_tls<R: Runtime>(
        runtime: R,
        configs: impl IntoIterator<Item = Config>,
        tls: crate::TlsConfig,
    ) -> Result<Pool, PoolError> {
        let mut clients = Vec::new();
        let mut first_attempts = Vec::new();
        for (server, config) in configs.into_iter().enumerate() {
            match Client::start_with_tls(runtime.clone(), config, tls.clone()) {
                Ok((client, opened)) => {
                    clients.push(client);
                    first_attempts.push(opened);
                }
                Err(error) => {
                    close_all(&clients).await;
                    return Err(PoolError::Server { server, error });
                }
            }
        }
        let outcomes = futures_util::future::join_all(first_attempts).await;
        let mut failures = Vec::new();
        for (server, outcome) in outcomes.into_iter().enumerate() {
            let reason = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(reason)) => reason,
                Err(_) => CloseReason::Dropped("the client's driver stopped".into()),
            };
            let url = &clients[server].config().base_url;
            tracing::warn!(server, %url, ?reason, "pool: first connection attempt failed; retrying");
            failures.push(reason);
        }
        if failures.len() == clients.len() {
            close_all(&clients).await;
            return Err(PoolError::NoneOpened(failures));
        }
        Ok(Pool::from_clients(clients))
    }

    /// A pool of clients already connected (on any runtime), in this order.
    pub fn from_clients(clients: impl IntoIterator<Item = Client>) -> Pool {
        Pool {
            clients: clients.into_iter().collect(),
        }
    }

    /// The servers' clients, by [`ServerIndex`].
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// Every event of every server, as [`Client::events`] gives them.
    pub fn events(&self) -> PoolStream<Result<Event, Lagged>> {
        self.merge(|client| client.events().boxed())
    }

    /// The events of every server that pass `filter`, as
    /// [`Client::subscribe`] gives them.
    pub fn subscribe(&self, filter: Filter) -> PoolStream<Result<Event, Lagged>> {
        self.merge(|client| client.subscribe(filter.clone()).boxed())
    }

    /// Every channel entering the app on any server from now on.
    pub fn calls(&self) -> PoolStream<IncomingCall> {
        self.merge(|client| client.calls().boxed())
    }

    /// Every server's connection changes (opened, closed, backing off).
    pub fn connection_events(&self) -> PoolStream<ConnectionEvent> {
        self.merge(|client| client.connection_events().boxed())
    }

    /// Runs `handler` in its own task for every channel entering the app on
    /// any server, until the pool closes.
    pub fn serve_calls<F, Fut>(&self, handler: F)
    where
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        for client in self.clients.iter() {
            let handler = handler.clone();
            client.serve_calls(move |call| handler(call));
        }
    }

    /// [`Client::serve_broadcast_calls`] over every server under one limit:
    /// `policy`'s `max_calls` counts the calls of all of them.
    pub fn serve_broadcast_calls<F, Fut>(
        &self,
        policy: BroadcastPolicy,
        handler: F,
    ) -> Arc<BroadcastStats>
    where
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        crate::broadcast::serve(&self.clients, policy, handler)
    }

    /// Closes every server's connection.
    pub async fn close(&self) {
        close_all(&self.clients).await;
    }

    fn merge<T>(&self, stream: impl Fn(&Client) -> BoxStream<'static, T>) -> PoolStream<T>
    where
        T: Send + 'static,
    {
        futures_util::stream::select_all(
            self.clients
                .iter()
                .enumerate()
                .map(|(server, client)| stream(client).map(move |item| (server, item)).boxed()),
        )
    }
}

async fn close_all(clients: &[Client]) {
    futures_util::future::join_all(clients.iter().map(Client::close)).await;
}
