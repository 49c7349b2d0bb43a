//! For the fuzz targets (`fuzz/fuzz_targets/ws_frames.rs`) only: not part
//! of the API, and may change or go at any time.
//!
//! [`read_frames`] drives the events WebSocket's frame reader as the driver
//! does, over bytes given in reads of given sizes.

use crate::ws_read::{self, FrameReader};
use futures_io::AsyncRead;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A frame as the reader gave it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole text message (fragments joined).
    Text(String),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong, or a binary message.
    Other,
    /// A close frame's code and reason (the reader stops there).
    Close(Option<(u16, String)>),
}

/// What [`read_frames`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Every frame, in order.
    pub frames: Vec<Frame>,
    /// `Ok` after a close frame, else the error that ended the connection
    /// (`"end of stream"` when the bytes ran out).
    pub end: Result<(), String>,
    /// The largest the read buffer got, in bytes.
    pub buffer: usize,
}

/// Reads `bytes` as the driver does: the first `already` of them as read
/// past the upgrade, the rest in reads of `reads` bytes in turn (at most
/// what the buffer has room for; 0 is a read interrupted), then whatever
/// is left in reads as long as the buffer allows. `masked`: as the server
/// of an outbound WebSocket (frames come masked), else as a client.
pub fn read_frames(bytes: &[u8], already: usize, reads: &[usize], masked: bool) -> Reading {
    let already = already.min(bytes.len());
    let io = Reads {
        data: &bytes[already..],
        reads: reads.iter(),
    };
    let mut r = FrameReader::new(io, &bytes[..already], masked);
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut frames = Vec::new();
    let mut buffer = r.buffer_len();
    let end = loop {
        // As the driver: read until a frame is whole, then take it.
        while !r.has_frame() {
            let filled = r.poll_fill(&mut cx);
            buffer = buffer.max(r.buffer_len());
            match filled {
                Poll::Ready(Ok(())) | Poll::Pending => {}
                Poll::Ready(Err(e)) => {
                    return Reading {
                        frames,
                        end: Err(e),
                        buffer,
                    };
                }
            }
        }
        match r.next_frame() {
            Ok(None) => {}
            Ok(Some(ws_read::Frame::Text(t))) => frames.push(Frame::Text(t.to_owned())),
            Ok(Some(ws_read::Frame::Ping(p))) => frames.push(Frame::Ping(p.to_vec())),
            Ok(Some(ws_read::Frame::Other)) => frames.push(Frame::Other),
            Ok(Some(ws_read::Frame::Close(c))) => {
                frames.push(Frame::Close(c.map(|(code, r)| (code, r.to_owned()))));
                break Ok(());
            }
            Err(e) => break Err(e),
        }
    };
    Reading {
        frames,
        end,
        buffer,
    }
}

/// Gives `data` in reads of the sizes in `reads`, then in reads as large as
/// asked.
struct Reads<'a> {
    data: &'a [u8],
    reads: std::slice::Iter<'a, usize>,
}

impl AsyncRead for Reads<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = match self.reads.next() {
            Some(0) => return Poll::Ready(Err(io::ErrorKind::Interrupted.into())),
            Some(&n) => n,
            None => usize::MAX,
        };
        let n = n.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(n))
    }
}
