//! Competing consumers: `StasisBroadcast(timeout, app_regex)` offers a call
//! to every connected application whose name matches as a `CallBroadcast`;
//! the first `POST /events/claim` wins (204), the others get 409 (or 404
//! once the offer expired), and only the winner gets the call's
//! `StasisStart`. [`Client::serve_broadcast_calls`] claims offers while
//! this instance has room and its policy agrees, and runs each call it won
//! through a handler, as [`Client::serve_calls`] does.

use crate::calls::IncomingCall;
use crate::client::Client;
use ari_proto::events::CallBroadcast;
use ari_proto::{ApiErrorKind, Event, Filter, RequestError};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How long a won claim waits for its call's `StasisStart`.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type Decide = Arc<dyn Fn(&CallBroadcast) -> bool + Send + Sync>;

/// When an instance claims an offered call.
#[derive(Clone)]
pub struct BroadcastPolicy {
    max_calls: usize,
    decide: Option<Decide>,
}

impl BroadcastPolicy {
    /// Claims while fewer than `max_calls` calls are claimed or in
    /// progress here; at the limit offers are declined (another instance
    /// takes them).
    pub fn up_to(max_calls: usize) -> BroadcastPolicy {
        BroadcastPolicy {
            max_calls,
            decide: None,
        }
    }

    /// Also asks `decide` about each offer (caller, called number, channel)
    /// before claiming it; `false` declines.
    pub fn deciding(
        mut self,
        decide: impl Fn(&CallBroadcast) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.decide = Some(Arc::new(decide));
        self
    }
}

impl std::fmt::Debug for BroadcastPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastPolicy")
            .field("max_calls", &self.max_calls)
            .field("decide", &self.decide.is_some())
            .finish()
    }
}

/// What happened to the offers so far, readable while calls are served.
#[derive(Debug, Default)]
pub struct BroadcastStats {
    offered: AtomicU64,
    declined: AtomicU64,
    won: AtomicU64,
    lost: AtomicU64,
    failed: AtomicU64,
    served: AtomicU64,
    active: AtomicUsize,
}

impl BroadcastStats {
    /// Offers heard (`CallBroadcast`).
    pub fn offered(&self) -> u64 {
        self.offered.load(Ordering::Relaxed)
    }
    /// Offers not claimed: at the limit, or the policy said no.
    pub fn declined(&self) -> u64 {
        self.declined.load(Ordering::Relaxed)
    }
    /// Claims that won (204).
    pub fn won(&self) -> u64 {
        self.won.load(Ordering::Relaxed)
    }
    /// Claims another instance won (409) or made after the offer expired
    /// (404): the normal outcome of competing.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
    /// Claims that failed otherwise (connection lost, timeout, 5xx).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
    /// Calls whose handler ran to its end.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
    /// Calls claimed or in a handler now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }
}

impl Client {
    /// Claims the calls `StasisBroadcast` offers to this client's
    /// applications while `policy` allows, and runs `handler` in its own
    /// task for each call entering the application (the won ones, and any
    /// that enter by plain `Stasis`), until the client closes. Losing a
    /// claim is normal and only counted.
    pub fn serve_broadcast_calls<F, Fut>(
        &self,
        policy: BroadcastPolicy,
        handler: F,
    ) -> Arc<BroadcastStats>
    where
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        serve(std::slice::from_ref(self), policy, handler)
    }
}

/// Claims and serves offers of every client in `clients` under one limit
/// (one client: [`Client::serve_broadcast_calls`]; several servers:
/// [`Pool::serve_broadcast_calls`](crate::Pool::serve_broadcast_calls)).
pub(crate) fn serve<F, Fut>(
    clients: &[Client],
    policy: BroadcastPolicy,
    handler: F,
) -> Arc<BroadcastStats>
where
    F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let shared = Shared {
        stats: Arc::default(),
        claimed: Arc::default(),
        policy: Arc::new(policy),
    };
    let handler: Handler = Arc::new(move |call| Box::pin(handler(call)));
    for client in clients {
        claim_offers(client, shared.clone());
        serve_won_calls(client, shared.clone(), handler.clone());
    }
    shared.stats
}

type Handler = Arc<dyn Fn(IncomingCall) -> crate::BoxFuture<()> + Send + Sync>;

/// What the clients of one pool share.
#[derive(Clone)]
struct Shared {
    stats: Arc<BroadcastStats>,
    /// Calls claimed (server and channel) whose StasisStart has not come.
    claimed: Arc<Mutex<HashSet<(String, String)>>>,
    policy: Arc<BroadcastPolicy>,
}

fn claim_offers(client: &Client, shared: Shared) {
    let mut offers = client.subscribe(Filter::Type("CallBroadcast".into()));
    let client = client.clone();
    client.executor().clone().spawn(Box::pin(async move {
        let stats = &shared.stats;
        while let Some(Ok(event)) = offers.next().await {
            let Event::CallBroadcast(offer) = &event else {
                continue;
            };
            stats.offered.fetch_add(1, Ordering::Relaxed);
            let policy = &shared.policy;
            let room = stats.active.load(Ordering::Relaxed) < policy.max_calls;
            if !room || policy.decide.as_ref().is_some_and(|d| !d(offer)) {
                stats.declined.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            stats.active.fetch_add(1, Ordering::Relaxed);
            let key = (
                client.config().base_url.clone(),
                offer.channel.id.to_string(),
            );
            if let Ok(mut c) = shared.claimed.lock() {
                c.insert(key.clone());
            }
            let (client, shared) = (client.clone(), shared.clone());
            let app = offer.application.to_string();
            client.executor().clone().spawn(Box::pin(async move {
                let outcome = client.events_api().claim_channel(&key.1, app).await;
                let stats = &shared.stats;
                let counter = match &outcome {
                    Ok(()) => &stats.won,
                    Err(RequestError::Api(e))
                        if matches!(e.kind(), ApiErrorKind::Conflict | ApiErrorKind::NotFound) =>
                    {
                        &stats.lost
                    }
                    Err(_) => &stats.failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                // A won claim keeps its room for the call (which may be
                // running already); one whose StasisStart never comes
                // (the caller hung up first) gives it back later.
                if outcome.is_ok() {
                    let give_up = client.executor().now() + START_TIMEOUT;
                    client.executor().sleep_until(give_up).await;
                }
                let still_waiting = shared.claimed.lock().is_ok_and(|mut c| c.remove(&key));
                if still_waiting {
                    stats.active.fetch_sub(1, Ordering::Relaxed);
                }
            }));
        }
    }));
}

fn serve_won_calls(client: &Client, shared: Shared, handler: Handler) {
    let mut calls = client.calls();
    let (server, runtime) = (client.config().base_url.clone(), client.executor().clone());
    client.executor().spawn(Box::pin(async move {
        while let Some(call) = calls.next().await {
            let key = (server.clone(), call.channel.channel_id().to_string());
            let was_claimed = shared.claimed.lock().is_ok_and(|mut c| c.remove(&key));
            if !was_claimed {
                shared.stats.active.fetch_add(1, Ordering::Relaxed);
            }
            let (handler, stats) = (handler.clone(), shared.stats.clone());
            runtime.spawn(Box::pin(async move {
                handler(call).await;
                stats.served.fetch_add(1, Ordering::Relaxed);
                stats.active.fetch_sub(1, Ordering::Relaxed);
            }));
        }
    }));
}
