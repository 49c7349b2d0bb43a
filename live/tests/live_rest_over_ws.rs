//! REST over the events WebSocket (`RESTRequest` / `RESTResponse` frames)
//! against the real server, on smol: answers, typed errors and a call.

use ari_proto::{ApiErrorKind, Event, RequestError, RestTransport};
use live::{Strict, live, strict, wait_for};

#[test]
fn requests_travel_over_the_events_websocket() {
    let live = live!();
    smol::block_on(async {
        let app = live.app("restws");
        let mut config = live.config(&app);
        config.rest_transport = RestTransport::WebSocket;
        let client = ari_smol::connect(config).await.expect("connect");
        let mut events = Strict(client.events());

        let info = strict("info", client.asterisk().get_info().await.expect("info"));
        assert!(info.system.is_some());
        match client.channel(format!("{app}-nope")).get().await {
            Err(RequestError::Api(e)) => assert_eq!(e.kind(), ApiErrorKind::NotFound, "{e}"),
            other => panic!("expected a typed 404, got {other:?}"),
        }

        let id = format!("{app}-call");
        let channel = client
            .channels()
            .originate("PJSIP/wait@loop")
            .with(|o| o.app(&app).channel_id(&id))
            .await
            .expect("originate over the WebSocket");
        assert_eq!(channel.id, id.as_str());
        wait_for(
            &mut events,
            "StasisStart",
            |e| matches!(e, Event::StasisStart(s) if s.channel.id == id.as_str()),
        )
        .await;
        client.channel(&id).answer().await.expect("answer");
        let listed = client.channels().list().await.expect("list");
        assert!(listed.iter().any(|c| c.id == id.as_str()));
        client.channel(&id).hangup().await.expect("hang up");
        wait_for(
            &mut events,
            "StasisEnd",
            |e| matches!(e, Event::StasisEnd(s) if s.channel.id == id.as_str()),
        )
        .await;
        client.close().await;
    });
}
