//! Strict decoding: every event and answer a live test receives must fit the
//! typed model whole. A field Asterisk sends that the types lack, an enum
//! value they do not name, or an event type decoded as unknown fails the test
//! with the JSON path, so the live suite finds what the traces did not show.

use ari_proto::{Event, Inspect};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Returns `value` after checking that it holds nothing the types do not
/// name; panics naming each such JSON path under `what`.
#[track_caller]
pub fn strict<T: Inspect>(what: &str, value: T) -> T {
    let mut unknown = Vec::new();
    value.unknown_fields(what, &mut unknown);
    assert!(
        unknown.is_empty(),
        "not in the typed model: {}",
        unknown.join(", ")
    );
    value
}

/// Checks one event as [`strict`] does, and that a known type decoded typed.
#[track_caller]
pub fn check_event(event: &Event) {
    let name = event.type_name().to_string();
    if let Event::Unknown(_) = event {
        panic!("event type {name} is not in the typed model");
    }
    let mut unknown = Vec::new();
    event.unknown_fields(&name, &mut unknown);
    assert!(
        unknown.is_empty(),
        "not in the typed model: {}",
        unknown.join(", ")
    );
}

/// An event stream whose every event is checked with [`check_event`] as it
/// passes: `let mut events = Strict(client.events());`.
pub struct Strict<S>(pub S);

impl<S, E> Stream for Strict<S>
where
    S: Stream<Item = Result<Event, E>> + Unpin,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let item = Pin::new(&mut self.0).poll_next(cx);
        if let Poll::Ready(Some(Ok(event))) = &item {
            check_event(event);
        }
        item
    }
}

/// Reads `events` to its end, checking each event: run it beside a test's
/// own logic (`select`) to hold every event of a connection to the types.
pub async fn check_all<S, E>(events: S)
where
    S: Stream<Item = Result<Event, E>> + Unpin,
{
    use futures_util::StreamExt;
    let mut events = Strict(events);
    while events.next().await.is_some() {}
}
