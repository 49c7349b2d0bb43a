//! A two-party call: each call entering Stasis app `bridge-demo` is
//! answered, a second call is placed to `DIAL_TO` (default
//! `PJSIP/echo@loop`), and once it answers the two are joined in a mixing
//! bridge. When either side hangs up, so does the other.
//!
//! Needs a PBX: `ARI_URL`, `ARI_USER`, `ARI_PASSWORD` (`live/pbx/start`
//! runs one on this machine). The live tests run this very code.

use ari_tokio::{Client, Config, Event, IncomingCall, RequestError};
use futures_util::future::{Either, select};
use std::pin::pin;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("ARI_URL") else {
        eprintln!("this example needs a PBX: set ARI_URL, ARI_USER and ARI_PASSWORD");
        return Ok(());
    };
    let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
    let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
    let to = std::env::var("DIAL_TO").unwrap_or_else(|_| "PJSIP/echo@loop".into());
    let client = ari_tokio::connect(Config::new(&url, "bridge-demo", user, password)?).await?;
    println!("calls into Stasis app `bridge-demo` are joined with {to}");
    client.serve_calls(move |call| {
        let to = to.clone();
        async move {
            match join(call, &to).await {
                Ok(Some(bridge)) => println!("{bridge}: both sides hung up"),
                Ok(None) => {}
                Err(e) => eprintln!("the call failed: {e}"),
            }
        }
    });
    serve_until_closed(&client).await;
    Ok(())
}

/// Joins `call` with a new call to `to`; returns the bridge's id once both
/// sides are gone (`None` for the leg this app dialed itself).
pub async fn join(mut call: IncomingCall, to: &str) -> Result<Option<String>, RequestError> {
    // The leg we dial enters the app too, marked by its arguments.
    if !call.args().is_empty() {
        return Ok(None);
    }
    let client = call.channel.client().clone();
    call.channel.answer().await?;
    let app = client.config().apps[0].clone();
    let mut callee = client
        .channels()
        .originate(to)
        .with(|o| o.app(app).app_args("dialed"))
        .start()
        .await?;
    // The far end answers: its leg enters the app.
    callee
        .events
        .wait_for(|e| matches!(e, Event::StasisStart(_)))
        .await;
    let bridge = client
        .bridges()
        .create()
        .with(|b| b.r#type("mixing"))
        .start()
        .await?;
    let both = [call.channel.channel_id(), callee.handle.channel_id()];
    bridge.handle.add_channel(both).await?;

    // Whoever hangs up first takes the other along.
    let caller = call.channel.clone();
    let caller_left = pin!(async { while call.next().await.is_some() {} });
    let callee_left = pin!(
        callee
            .events
            .wait_for(|e| { matches!(e, Event::StasisEnd(_) | Event::ChannelDestroyed(_)) })
    );
    let other = match select(caller_left, callee_left).await {
        Either::Left(_) => &callee.handle,
        Either::Right(_) => &caller,
    };
    // It may be gone already: a 404 is fine.
    let _ = other.hangup().await;
    bridge.handle.destroy().await?;
    Ok(Some(bridge.handle.bridge_id().to_string()))
}

/// Serves until the connection stops for good.
async fn serve_until_closed(client: &Client) {
    use futures_util::StreamExt;
    let mut connection = client.connection_events();
    while let Some(event) = connection.next().await {
        if event == ari_tokio::ConnectionEvent::Stopped {
            break;
        }
    }
}
