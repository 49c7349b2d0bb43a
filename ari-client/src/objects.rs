//! Requests that create an object, answered with the object's handle and
//! its event stream; and waits on channel streams.

use crate::{
    BridgeHandle, ChannelHandle, Client, EventStream, LiveRecordingHandle, Pending, PlaybackHandle,
};
use ari_proto::{Event, Operation, RequestError, models};

/// A model that names an object with a handle.
pub trait HasHandle {
    /// The handle type.
    type Handle;
    /// The handle on this object.
    fn handle(&self, client: &Client) -> Self::Handle;
}

impl HasHandle for models::Channel {
    type Handle = ChannelHandle;
    fn handle(&self, client: &Client) -> ChannelHandle {
        client.channel(self.id.as_str())
    }
}

impl HasHandle for models::Bridge {
    type Handle = BridgeHandle;
    fn handle(&self, client: &Client) -> BridgeHandle {
        client.bridge(self.id.as_str())
    }
}

impl HasHandle for models::Playback {
    type Handle = PlaybackHandle;
    fn handle(&self, client: &Client) -> PlaybackHandle {
        client.playback(self.id.as_str())
    }
}

impl HasHandle for models::LiveRecording {
    type Handle = LiveRecordingHandle;
    fn handle(&self, client: &Client) -> LiveRecordingHandle {
        client.live_recording(self.name.as_str())
    }
}

/// A created object: its handle, what Asterisk answered, and its events
/// from before the answer on.
pub struct Started<M, H> {
    /// The handle, for further operations.
    pub handle: H,
    /// The object as Asterisk described it.
    pub object: M,
    /// Every event about it, including those that beat the answer.
    pub events: EventStream,
}

impl<O> Pending<O>
where
    O: Operation + Send + 'static,
    O::Response: HasHandle + Send + 'static,
{
    /// Sends a request that creates an object (originate, create, play,
    /// record, snoop) and gives its handle with its event stream:
    /// `channel.play(["sound:hello-world"]).start().await?.events.finished().await`.
    pub async fn start(
        self,
    ) -> Result<Started<O::Response, <O::Response as HasHandle>::Handle>, RequestError> {
        let client = self.client().clone();
        let (object, events) = self.tracked().await?;
        let events = events
            .ok_or_else(|| RequestError::Invalid("this operation creates no object".into()))?;
        Ok(Started {
            handle: object.handle(&client),
            object,
            events,
        })
    }
}

impl EventStream {
    /// Waits until the channel this stream follows is answered (state `Up`).
    pub async fn answered(&mut self) -> Option<Event> {
        self.wait_for(|e| match e {
            Event::ChannelStateChange(c) => c.channel.state == models::ChannelState::Up,
            _ => false,
        })
        .await
    }

    /// Waits until the channel this stream follows is destroyed (the stream
    /// then ends).
    pub async fn destroyed(&mut self) -> Option<Event> {
        self.wait_for(|e| matches!(e, Event::ChannelDestroyed(_)))
            .await
    }
}
