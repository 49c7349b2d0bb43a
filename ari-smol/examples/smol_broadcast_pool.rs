//! Sharing calls across instances with `StasisBroadcast`, on smol: three
//! instances of one application (here in one process; normally on
//! separate machines) hear every call offered as a `CallBroadcast`, and
//! each claims the calls it has room for. `a` takes up to 2 calls at once,
//! `b` up to 4 but only from even caller numbers (its policy hook
//! declines the others), `c` one at a time. Each call is answered, held
//! briefly, and hung up; the spread is printed at the end.
//!
//! `cargo run -p ari-smol --example smol_broadcast_pool` needs no PBX: a fake
//! Asterisk offers the calls. With `ARI_URL` (and `ARI_USER`,
//! `ARI_PASSWORD`) set, the instances are Stasis apps `bcast-pool-a`, `-b`,
//! `-c` of a real Asterisk, and the calls are dialled into its `bcast`
//! extension (`StasisBroadcast(3000,^bcast-.*)`).

use ari_smol::{BroadcastPolicy, IncomingCall, RequestError};
use std::error::Error;
use std::time::Duration;
use testkit::broadcast_demo::{PoolDemo, PoolReport};

fn main() -> Result<(), Box<dyn Error>> {
    smol::block_on(async {
        let demo = PoolDemo::from_env()?;
        let report = share_calls(&demo, 20, Duration::from_millis(250)).await?;
        println!("{report}");
        Ok(())
    })
}

/// The three instances, and `calls` calls (8 a second) shared among them,
/// each held for `hold`. (Public so that the tests run this very code.)
pub async fn share_calls(
    demo: &PoolDemo,
    calls: usize,
    hold: Duration,
) -> Result<PoolReport, Box<dyn Error>> {
    let instances = [
        ("a", BroadcastPolicy::up_to(2)),
        (
            "b",
            BroadcastPolicy::up_to(4).deciding(|offer| {
                let number = offer.channel.caller.number.as_str();
                number.ends_with(['0', '2', '4', '6', '8'])
            }),
        ),
        ("c", BroadcastPolicy::up_to(1)),
    ];
    let (mut clients, mut pool) = (Vec::new(), Vec::new());
    for (name, policy) in instances {
        let client = ari_smol::connect(demo.config(name)?).await?;
        let stats = client.serve_broadcast_calls(policy, move |call| async move {
            if let Err(e) = take(name, call, hold).await {
                eprintln!("{name}: the call failed: {e}");
            }
        });
        clients.push(client);
        pool.push((name, stats));
    }
    let report = demo.run(&clients[0], &pool, calls, 8.0).await?;
    for client in clients {
        client.close().await;
    }
    Ok(report)
}

/// One call won by instance `name`: answer, hold, hang up.
pub async fn take(name: &str, call: IncomingCall, hold: Duration) -> Result<(), RequestError> {
    call.channel.answer().await?;
    println!("{name}: call from {}", call.start.channel.caller.number);
    smol::Timer::after(hold).await;
    call.channel.hangup().await
}
