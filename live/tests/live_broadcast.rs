//! Competing consumers: a call into the `bcast` extension runs
//! `StasisBroadcast` to every connected app whose name starts with `bcast-`;
//! each gets `CallBroadcast`, all claim the channel with `POST /events/claim`,
//! exactly one wins (the others get 409), and only the winner gets the
//! channel's `StasisStart`.

use ari_proto::{ApiErrorKind, Event, RequestError};
use futures_util::future::join_all;
use live::{Strict, live, wait_for};

const CONSUMERS: usize = 3;

#[tokio::test]
async fn one_of_the_competing_apps_wins_the_claim() {
    let live = live!();
    let mut clients = Vec::new();
    for _ in 0..CONSUMERS {
        // `bcast-PID-N`: the dialplan broadcasts to `^bcast-.*`.
        let app = live.app("bcast");
        let client = ari_tokio::connect(live.config(&app))
            .await
            .expect("connect");
        let events = Strict(client.events());
        clients.push((app, client, events));
    }
    let caller = format!("{}-caller", clients[0].0);
    clients[0]
        .1
        .channels()
        .originate("PJSIP/bcast@loop")
        .with(|o| {
            o.extension("wait")
                .context("default")
                .priority(1)
                .channel_id(&caller)
        })
        .await
        .expect("originate");

    // Every app hears the broadcast of the same (inbound) channel and claims it.
    let claims = clients.iter_mut().map(|(app, client, events)| async move {
        let offer = wait_for(events, "CallBroadcast", |e| {
            matches!(e, Event::CallBroadcast(_))
        })
        .await;
        let Event::CallBroadcast(offer) = &offer else {
            unreachable!()
        };
        assert_eq!(offer.application, app.as_str(), "addressed to this app");
        let channel = offer.channel.id.to_string();
        let claim = client
            .events_api()
            .claim_channel(&channel, app.as_str())
            .await;
        (channel, claim)
    });
    let outcomes = join_all(claims).await;
    let channel = outcomes[0].0.clone();
    assert!(
        outcomes.iter().all(|(c, _)| *c == channel),
        "one channel is offered to all: {outcomes:?}"
    );
    let winners: Vec<usize> = (0..CONSUMERS).filter(|i| outcomes[*i].1.is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins: {outcomes:?}");
    for (i, (_, claim)) in outcomes.iter().enumerate() {
        if let Err(e) = claim {
            match e {
                RequestError::Api(api) => {
                    assert_eq!(api.kind(), ApiErrorKind::Conflict, "loser {i}: {api}")
                }
                other => panic!("loser {i}: {other}"),
            }
        }
    }

    // The winner gets the channel in Stasis; the others do not.
    let (app, winner, events) = &mut clients[winners[0]];
    let start = wait_for(
        events,
        "the winner's StasisStart",
        |e| matches!(e, Event::StasisStart(s) if s.channel.id == channel.as_str()),
    )
    .await;
    let Event::StasisStart(start) = &start else {
        unreachable!()
    };
    assert_eq!(start.application, app.as_str());
    winner.channel(&channel).hangup().await.expect("hang up");
    for (i, (_, client, events)) in clients.iter_mut().enumerate() {
        client.close().await;
        if i == winners[0] {
            continue;
        }
        // What a loser received after the claims, up to the close.
        use futures_util::StreamExt;
        while let Some(Ok(event)) = events.next().await {
            assert!(
                !matches!(&event, Event::StasisStart(s) if s.channel.id == channel.as_str()),
                "a losing app {i} got the channel"
            );
        }
    }
}
