//! Waiting on real Asterisk, bounded: the next event a test expects, an
//! event stream's end, audio flowing or not on a channel (read from its RTP
//! statistics, since audio has no event), a typed error.

use ari_client::{ChannelHandle, EventStream};
use ari_proto::{ApiError, ApiErrorKind, Event, RequestError};
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt};
use std::fmt::Debug;
use std::pin::pin;
use std::time::{Duration, Instant};

use crate::{Strict, strict};

/// How long any one expected event or effect may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Events gathered until `done` says the wanted ones are there, within
/// [`WAIT`]; panics naming `what`.
pub async fn gather<S, E>(
    events: &mut S,
    what: &str,
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event>
where
    S: Stream<Item = Result<Event, E>> + Unpin,
    E: Debug,
{
    let mut seen = Vec::new();
    let wait = async {
        while let Some(item) = events.next().await {
            match item {
                Ok(event) => {
                    seen.push(event);
                    if done(&seen) {
                        return true;
                    }
                }
                Err(lag) => panic!("waiting for {what}: the stream lagged: {lag:?}"),
            }
        }
        false
    };
    match select(pin!(wait), pin!(smol::Timer::after(WAIT))).await {
        Either::Left((true, _)) => {}
        Either::Left((false, _)) => panic!("the event stream ended before {what}"),
        Either::Right(_) => panic!("no {what} within {WAIT:?}"),
    }
    seen
}

/// The next event `pred` accepts, within [`WAIT`].
pub async fn next_event<S, E>(
    events: &mut S,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event
where
    S: Stream<Item = Result<Event, E>> + Unpin,
    E: Debug,
{
    let seen = gather(events, what, |seen| pred(seen.last().expect("one event"))).await;
    seen.last().expect("the matching event").clone()
}

/// Checks that `events` ends (its object is gone) within [`WAIT`].
pub async fn assert_ends<S, E>(events: &mut S, what: &str)
where
    S: Stream<Item = Result<Event, E>> + Unpin,
    E: Debug,
{
    let rest = async { while events.next().await.is_some() {} };
    if let Either::Right(_) = select(pin!(rest), pin!(smol::Timer::after(WAIT))).await {
        panic!("{what}: the stream did not end within {WAIT:?}");
    }
}

/// The next event of type `$variant` (optionally also matching the
/// condition on `$e`), as its typed body (the `Arc` the event holds), within [`WAIT`].
#[macro_export]
macro_rules! expect_event {
    ($events:expr, $variant:ident, $what:expr) => {
        $crate::expect_event!($events, $variant, $what, |_e| true)
    };
    ($events:expr, $variant:ident, $what:expr, |$e:ident| $cond:expr) => {{
        let event = $crate::next_event(
            $events,
            $what,
            |ev| matches!(ev, ::ari_proto::Event::$variant($e) if $cond),
        )
        .await;
        match event {
            ::ari_proto::Event::$variant(inner) => inner,
            _ => unreachable!(),
        }
    }};
}

/// The API error of `result`, which must be of `kind`.
#[track_caller]
pub fn api_error<T: Debug>(
    result: Result<T, RequestError>,
    kind: ApiErrorKind,
    what: &str,
) -> ApiError {
    match result {
        Err(RequestError::Api(e)) if e.kind() == kind => e,
        other => panic!("{what}: expected the typed {kind:?} error, got {other:?}"),
    }
}

/// Hangs up and waits until Asterisk says the channel is gone.
pub async fn hang_up(channel: &ChannelHandle, events: &mut Strict<EventStream>) {
    channel.hangup().await.expect("hang up");
    next_event(events, "ChannelDestroyed after hangup", |e| {
        matches!(e, Event::ChannelDestroyed(_))
    })
    .await;
}

/// RTP packets Asterisk has sent on the channel so far.
pub async fn tx_count(channel: &ChannelHandle) -> i64 {
    let stats = channel.rtpstatistics().await.expect("rtp_statistics");
    strict("rtp_statistics", stats).txcount
}

/// Waits until Asterisk sends audio on the channel (the far end hears
/// something): at least 10 more RTP packets (200 ms of audio).
pub async fn assert_audio_flows(channel: &ChannelHandle, what: &str) {
    let from = tx_count(channel).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let now = tx_count(channel).await;
        if now >= from + 10 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no audio sent within {WAIT:?} ({from} -> {now} RTP packets)"
        );
        smol::Timer::after(Duration::from_millis(50)).await;
    }
}

/// Checks that Asterisk sends no audio on the channel: after 150 ms for
/// frames in flight, at most 2 RTP packets in 400 ms (20 while audio flows).
/// Silence has no event, so this one measures over a window.
pub async fn assert_quiet(channel: &ChannelHandle, what: &str) {
    smol::Timer::after(Duration::from_millis(150)).await;
    let from = tx_count(channel).await;
    smol::Timer::after(Duration::from_millis(400)).await;
    let to = tx_count(channel).await;
    assert!(
        to - from <= 2,
        "{what}: {} RTP packets sent in 400 ms, expected none",
        to - from
    );
}
