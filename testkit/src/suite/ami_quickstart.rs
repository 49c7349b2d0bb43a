//! The AMI quickstart example's own code against the recorded session,
//! through an adapter: each kind of handler sees what it selected, once.

use crate::ami_demo::AmiDemo;
use ari_client::ami::{AmiClient, AmiConnectError, Config, Selector};
use std::error::Error;
use std::future::Future;

/// Runs `quickstart` (the example's function) on a client made by
/// `client`, against the recorded session, and checks what each handler
/// said.
pub async fn handlers_see_what_they_selected<C, Q, Fut>(client: C, quickstart: Q)
where
    C: Fn(Config) -> Result<AmiClient, AmiConnectError>,
    Q: FnOnce(AmiClient, Box<dyn FnMut(String) + Send>) -> Fut,
    Fut: Future<Output = Result<(), Box<dyn Error>>>,
{
    let demo = AmiDemo::replay().unwrap();
    let manager = client(demo.config()).unwrap();
    // A stream dropped at once: the others must not notice.
    drop(manager.subscribe(Selector::all()));
    let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = said.clone();
    quickstart(
        manager.clone(),
        Box::new(move |line| log.lock().unwrap().push(line)),
    )
    .await
    .unwrap();
    manager.close().await;
    demo.finish().unwrap();
    let mut said = said.lock().unwrap().clone();
    assert_eq!(said[0], "ping: Pong");
    said.sort();
    assert_eq!(
        said,
        [
            "by class: Shutdown (Cleanly, restart: True)",
            "by name: FullyBooted",
            "by pattern: SuccessfulAuth (admin)",
            "every event: FullyBooted",
            "every event: Shutdown",
            "every event: SuccessfulAuth",
            "ping: Pong",
        ]
    );
}
