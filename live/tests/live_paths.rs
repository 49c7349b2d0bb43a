//! Ids as Asterisk reads request paths: it splits the path at `/`, then
//! percent-decodes each segment with `+` as a space. Names holding every
//! awkward character reach Asterisk whole and come back the same.

use ari_proto::ops::device_states::UpdateDeviceState;
use ari_proto::{ApiErrorKind, RequestError};
use live::{live, strict};

#[tokio::test]
async fn device_state_names_round_trip_through_the_path() {
    let live = live!();
    let app = live.app("paths");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let names = [
        format!("Stasis:{app}-colon:at@sub!$&'()*,;="),
        format!("Stasis:{app}-space plus+percent%25"),
        format!("Stasis:{app}-slash/inside"),
        format!("Stasis:{app}-ünïcødé☎"),
        format!("Stasis:{app}-query?hash#"),
    ];
    for name in &names {
        let device = client.device_state(name);
        device
            .update(UpdateDeviceState::Inuse)
            .await
            .unwrap_or_else(|e| panic!("update {name:?}: {e}"));
        let state = strict(
            "deviceState",
            device
                .get()
                .await
                .unwrap_or_else(|e| panic!("get {name:?}: {e}")),
        );
        assert_eq!(state.name, name.as_str(), "the name Asterisk stored");
        assert_eq!(state.state.as_str(), "INUSE");
        device
            .delete()
            .await
            .unwrap_or_else(|e| panic!("delete {name:?}: {e}"));
        if name.contains('/') {
            // Asterisk's device-state layer treats a `/` in a name on its
            // own (its list shows only what follows it), and such a device
            // keeps a state after delete: the path was right, the semantics
            // are Asterisk's.
            continue;
        }
        match device.get().await {
            Ok(s) => assert_eq!(s.state.as_str(), "UNKNOWN", "{name:?} after delete"),
            Err(RequestError::Api(e)) => assert_eq!(e.kind(), ApiErrorKind::NotFound),
            Err(e) => panic!("get {name:?} after delete: {e}"),
        }
    }
    client.close().await;
}
