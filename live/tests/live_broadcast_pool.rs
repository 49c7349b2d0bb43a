//! Several instances sharing the calls of one Asterisk through
//! `StasisBroadcast`, with `Client::serve_broadcast_calls`: calls into the
//! `bcast` extension are offered to every app named `bcast-...`; each
//! instance claims while it has room, and each call is served once.

use ari_client::{BroadcastPolicy, BroadcastStats, Client, IncomingCall};
use futures_channel::mpsc;
use futures_util::StreamExt;
use live::{Live, live};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Every `bcast-...` app hears every offer: one test at a time.
static BROADCAST: Mutex<()> = Mutex::new(());

/// The caller number of the call, as the application sees it.
fn caller_number(call: &IncomingCall) -> String {
    call.start.channel.caller.number.to_string()
}

/// Connects on one adapter or the other.
type Connect = fn(ari_proto::Config) -> ari_client::BoxFuture<Client>;

fn on_tokio(config: ari_proto::Config) -> ari_client::BoxFuture<Client> {
    Box::pin(async move { ari_tokio::connect(config).await.expect("connect") })
}

fn on_smol(config: ari_proto::Config) -> ari_client::BoxFuture<Client> {
    Box::pin(async move { ari_smol::connect(config).await.expect("connect") })
}

/// An instance: its client and what its handler saw (instance, caller).
async fn instance(
    live: &Live,
    connect: Connect,
    name: &'static str,
    policy: BroadcastPolicy,
    served: mpsc::UnboundedSender<(&'static str, String)>,
    hold: Option<mpsc::UnboundedReceiver<()>>,
) -> (Client, Arc<BroadcastStats>) {
    let client = connect(live.config(&live.app("bcast"))).await;
    let hold = Arc::new(futures_util::lock::Mutex::new(hold));
    let stats = client.serve_broadcast_calls(policy, move |call| {
        let (served, hold) = (served.clone(), hold.clone());
        async move {
            let _ = call.channel.answer().await;
            let _ = served.unbounded_send((name, caller_number(&call)));
            // Held calls stay up until the test lets them go.
            if let Some(release) = hold.lock().await.as_mut() {
                let _ = release.next().await;
            }
            let _ = call.channel.hangup().await;
        }
    });
    (client, stats)
}

/// Dials `PJSIP/bcast@loop` with caller number `number`.
async fn dial(caller: &Client, number: &str) {
    let app = caller.config().apps[0].clone();
    caller
        .channels()
        .originate("PJSIP/bcast@loop")
        .with(|o| {
            o.extension("wait")
                .context("default")
                .priority(1)
                .caller_id(format!("Pool <{number}>"))
                .app_args(&app)
        })
        .await
        .expect("originate");
}

async fn wait_served(
    served: &mut mpsc::UnboundedReceiver<(&'static str, String)>,
    calls: usize,
) -> Vec<(&'static str, String)> {
    let mut seen = Vec::new();
    while seen.len() < calls {
        seen.push(served.next().await.expect("the instances report"));
    }
    seen
}

/// Three instances, six calls: each call served exactly once; then one
/// instance stops, and three more calls are all served by the other two.
async fn every_call_is_served_once(live: Live, connect: Connect) {
    let (tx, mut served) = mpsc::unbounded();
    let mut pool = Vec::new();
    for name in ["a", "b", "c"] {
        pool.push(
            instance(
                &live,
                connect,
                name,
                BroadcastPolicy::up_to(10),
                tx.clone(),
                None,
            )
            .await,
        );
    }
    let caller = connect(live.config(&live.app("poolcaller"))).await;
    for i in 0..6 {
        dial(&caller, &format!("55502{i:02}")).await;
    }
    let mut seen = wait_served(&mut served, 6).await;

    let (stopped, _) = pool.pop().unwrap();
    stopped.close().await;
    for i in 6..9 {
        dial(&caller, &format!("55502{i:02}")).await;
    }
    let after_stop = wait_served(&mut served, 3).await;
    assert!(
        after_stop.iter().all(|(name, _)| *name != "c"),
        "the stopped instance served a call: {after_stop:?}"
    );
    seen.extend(after_stop);

    let mut per_number: BTreeMap<&str, usize> = BTreeMap::new();
    let mut spread: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, number) in &seen {
        *per_number.entry(number.as_str()).or_default() += 1;
        *spread.entry(name).or_default() += 1;
    }
    eprintln!("calls per instance: {spread:?}");
    assert_eq!(per_number.len(), 9, "every call served: {seen:?}");
    assert!(
        per_number.values().all(|n| *n == 1),
        "served twice: {seen:?}"
    );
    let won: u64 = pool.iter().map(|(_, s)| s.won()).sum();
    assert!(
        won >= 3,
        "the two remaining instances won the last three calls at least"
    );
    for (client, stats) in &pool {
        assert_eq!(stats.failed(), 0);
        client.close().await;
    }
    caller.close().await;
}

#[test]
fn every_call_is_served_once_on_tokio() {
    let live = live!();
    let _one = BROADCAST.lock().unwrap_or_else(|e| e.into_inner());
    tokio_runtime().block_on(every_call_is_served_once(live, on_tokio));
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_call_is_served_once_on_smol() {
    let live = live!();
    let _one = BROADCAST.lock().unwrap_or_else(|e| e.into_inner());
    smol::block_on(every_call_is_served_once(live, on_smol));
}

/// An instance at its limit declines, and another takes the call: `a`
/// (room for one) holds the first call, which `b` was told to decline;
/// the second call finds `a` full and goes to `b`.
#[test]
fn an_instance_at_its_limit_declines() {
    let live = live!();
    let _one = BROADCAST.lock().unwrap_or_else(|e| e.into_inner());
    tokio_runtime().block_on(at_the_limit(live));
}

async fn at_the_limit(live: Live) {
    let (tx, mut served) = mpsc::unbounded();
    let (release, held) = mpsc::unbounded::<()>();
    let (a, a_stats) = instance(
        &live,
        on_tokio,
        "a",
        BroadcastPolicy::up_to(1),
        tx.clone(),
        Some(held),
    )
    .await;
    let b_policy = BroadcastPolicy::up_to(10)
        .deciding(|offer| offer.channel.caller.number.as_str() != "5550300");
    let (b, b_stats) = instance(&live, on_tokio, "b", b_policy, tx.clone(), None).await;
    let caller = ari_tokio::connect(live.config(&live.app("poolcaller")))
        .await
        .unwrap();
    dial(&caller, "5550300").await;
    assert_eq!(
        wait_served(&mut served, 1).await,
        [("a", "5550300".to_string())]
    );
    assert_eq!(b_stats.declined(), 1, "b's policy declined the first call");
    dial(&caller, "5550301").await;
    assert_eq!(
        wait_served(&mut served, 1).await,
        [("b", "5550301".to_string())]
    );
    assert_eq!(a_stats.declined(), 1, "a was full");
    assert_eq!(a_stats.active(), 1);
    let _ = release.unbounded_send(());
    for client in [a, b, caller] {
        client.close().await;
    }
}

/// One instance taking calls from two servers (a `Pool`; here two apps on
/// the same Asterisk stand for them) under one limit of one call: while
/// it holds a call both its clients decline the next offer, and another
/// instance takes that call.
#[test]
fn a_pool_of_servers_shares_one_limit() {
    let live = live!();
    let _one = BROADCAST.lock().unwrap_or_else(|e| e.into_inner());
    smol::block_on(async {
        let (tx, mut served) = mpsc::unbounded();
        let (release, held) = mpsc::unbounded::<()>();
        let configs = [(); 2].map(|_| live.config(&live.app("bcast")));
        let servers = ari_smol::connect_pool(configs).await.unwrap();
        let pool_tx = tx.clone();
        let held = Arc::new(futures_util::lock::Mutex::new(held));
        let pool = servers.serve_broadcast_calls(BroadcastPolicy::up_to(1), move |call| {
            let (served, held) = (pool_tx.clone(), held.clone());
            async move {
                let _ = call.channel.answer().await;
                let _ = served.unbounded_send(("pool", caller_number(&call)));
                let _ = held.lock().await.next().await;
                let _ = call.channel.hangup().await;
            }
        });
        let other_policy = BroadcastPolicy::up_to(10)
            .deciding(|offer| offer.channel.caller.number.as_str() != "5550400");
        let (other, _) = instance(&live, on_smol, "other", other_policy, tx.clone(), None).await;
        let caller = on_smol(live.config(&live.app("poolcaller"))).await;
        dial(&caller, "5550400").await;
        assert_eq!(
            wait_served(&mut served, 1).await,
            [("pool", "5550400".to_string())]
        );
        dial(&caller, "5550401").await;
        assert_eq!(
            wait_served(&mut served, 1).await,
            [("other", "5550401".to_string())]
        );
        // Each offer reaches both of the pool's clients: the first is won
        // once (its twin declines, or loses the race), the second declined
        // by both.
        assert_eq!(pool.won(), 1);
        assert_eq!(pool.declined() + pool.lost(), 3, "{pool:?}");
        assert_eq!(pool.active(), 1);
        let _ = release.unbounded_send(());
        servers.close().await;
        for client in [other, caller] {
            client.close().await;
        }
    });
}
