//! hyper's I/O traits over a `futures-io` stream.

use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// A `futures-io` stream that hyper can use.
pub struct HyperIo<T> {
    io: T,
    /// Where reads land before being copied into hyper's buffer: safe code
    /// cannot hand that uninitialised buffer to the reader, and zeroing a
    /// fresh one on every read costs more than the copy.
    scratch: Box<[u8]>,
}

impl<T> HyperIo<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> Self {
        HyperIo {
            io,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let want = buf.remaining().min(this.scratch.len());
        let n = ready!(Pin::new(&mut this.io).poll_read(cx, &mut this.scratch[..want]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }
}
