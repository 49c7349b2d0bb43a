//! The read side of the events WebSocket, done here instead of by
//! tungstenite: frames are taken straight from one read buffer, a text
//! frame reaches the session as a `&str` inside that buffer, and the buffer
//! is zeroed once when it is made, not before every read. (tungstenite does
//! the upgrade and writes our frames; it never reads after the upgrade.)
//!
//! Checked as tungstenite checks a client's input (RFC 6455): no masked
//! frames from the server, no reserved bits or opcodes, control frames short
//! and whole, fragments in order, text valid UTF-8, the same size limits.

use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bytes read from the socket at a time (the buffer grows for a longer frame).
const READ_BUFFER: usize = 16 * 1024;
/// tungstenite's default limits.
const MAX_FRAME: usize = 16 << 20;
const MAX_MESSAGE: usize = 64 << 20;

/// A frame for the driver. Binary messages and pongs carry nothing it uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole text message (fragments joined).
    Text(&'a str),
    /// A ping, to be answered with a pong carrying the same payload.
    Ping(&'a [u8]),
    /// A pong, or a binary message (ignored but for liveness).
    Other,
    /// The server closes: its code and reason, if it gave them.
    Close(Option<(u16, &'a str)>),
}

/// Reads frames from `io`.
pub(crate) struct FrameReader<R> {
    io: R,
    /// Always initialised; `buf[start..end]` is read and not yet taken.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The fragments of a message in progress: whether it is text, its bytes.
    partial: Option<(bool, Vec<u8>)>,
    /// The last message joined from fragments, lent out by `next_frame`.
    joined: Vec<u8>,
    /// The header of the frame at `start`, once read whole.
    known: Option<Header>,
    /// Frames come masked: this side is the server (an outbound WebSocket
    /// Asterisk opened to the application).
    masked: bool,
}

/// A frame's header: FIN, opcode, where the payload starts, its length.
#[derive(Clone, Copy)]
struct Header {
    fin: bool,
    opcode: u8,
    at: usize,
    len: usize,
    /// The masking key of a frame from a client.
    mask: Option<[u8; 4]>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Reads from `io`, starting with `already` (bytes read past the
    /// upgrade). `masked`: this side is the server, every frame comes
    /// masked (a client's must not be).
    pub(crate) fn new(io: R, already: &[u8], masked: bool) -> Self {
        let mut buf = vec![0; READ_BUFFER.max(already.len())];
        buf[..already.len()].copy_from_slice(already);
        FrameReader {
            io,
            buf,
            start: 0,
            end: already.len(),
            partial: None,
            joined: Vec::new(),
            known: None,
            masked,
        }
    }

    /// The read buffer's size (for the fuzz target's memory checks).
    pub(crate) fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// The header of the frame at `start`, if all of it was read.
    #[inline]
    fn header(&mut self) -> Result<Option<Header>, String> {
        if self.known.is_none() {
            self.known = self.read_header()?;
        }
        Ok(self.known)
    }

    fn read_header(&self) -> Result<Option<Header>, String> {
        let b = &self.buf[self.start..self.end];
        let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err("reserved bits are set in a frame".into());
        }
        match (b1 & 0x80 != 0, self.masked) {
            (true, false) => return Err("a masked frame from the server".into()),
            (false, true) => return Err("an unmasked frame from the client".into()),
            _ => {}
        }
        let (len, at) = match b1 & 0x7f {
            126 => match b.get(2..4) {
                Some(n) => (u64::from(u16::from_be_bytes([n[0], n[1]])), 4),
                None => return Ok(None),
            },
            127 => match b.get(2..10) {
                Some(n) => {
                    let mut word = [0; 8];
                    word.copy_from_slice(n);
                    (u64::from_be_bytes(word), 10)
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_FRAME)
            .ok_or_else(|| format!("a frame of {len} bytes, over the limit of {MAX_FRAME}"))?;
        let (at, mask) = if self.masked {
            let Some(key) = b.get(at..at + 4) else {
                return Ok(None);
            };
            (at + 4, Some([key[0], key[1], key[2], key[3]]))
        } else {
            (at, None)
        };
        Ok(Some(Header {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0f,
            at,
            len,
            mask,
        }))
    }

    /// Whether a whole frame is waiting in the buffer.
    pub(crate) fn has_frame(&mut self) -> bool {
        match self.header() {
            Ok(Some(h)) => self.end - self.start >= h.at + h.len,
            Ok(None) => false,
            // The error is for `next_frame` to report.
            Err(_) => true,
        }
    }

    /// The next frame already read, or `None` when more must be read first
    /// ([`FrameReader::poll_fill`]). An error ends the connection.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame<'_>>, String> {
        loop {
            let Some(h) = self.header()? else {
                return Ok(None);
            };
            if self.end - self.start < h.at + h.len {
                return Ok(None);
            }
            let from = self.start + h.at;
            let to = from + h.len;
            self.start = to;
            self.known = None;
            if let Some(key) = h.mask {
                for (i, b) in self.buf[from..to].iter_mut().enumerate() {
                    *b ^= key[i % 4];
                }
            }
            if h.opcode >= 8 {
                if !h.fin || h.len > 125 {
                    return Err("a fragmented or long control frame".into());
                }
                let payload = &self.buf[from..to];
                return match h.opcode {
                    0x8 => close(payload).map(|c| Some(Frame::Close(c))),
                    0x9 => Ok(Some(Frame::Ping(payload))),
                    0xa => Ok(Some(Frame::Other)),
                    op => Err(format!("unknown control opcode {op}")),
                };
            }
            let text = match (h.opcode, &mut self.partial) {
                (0x0, None) => return Err("a continuation frame with nothing to continue".into()),
                (0x0, Some((text, bytes))) => {
                    if bytes.len() + h.len > MAX_MESSAGE {
                        return Err(format!("a message over the limit of {MAX_MESSAGE} bytes"));
                    }
                    bytes.extend_from_slice(&self.buf[from..to]);
                    if !h.fin {
                        continue;
                    }
                    let text = *text;
                    self.joined = self.partial.take().map(|(_, b)| b).unwrap_or_default();
                    if !text {
                        return Ok(Some(Frame::Other));
                    }
                    return utf8(&self.joined).map(|t| Some(Frame::Text(t)));
                }
                (0x1 | 0x2, Some(_)) => {
                    return Err("a new message before the last one's final fragment".into());
                }
                (0x1, None) => true,
                (0x2, None) => false,
                (op, _) => return Err(format!("unknown data opcode {op}")),
            };
            if !h.fin {
                self.partial = Some((text, self.buf[from..to].to_vec()));
                continue;
            }
            if !text {
                return Ok(Some(Frame::Other));
            }
            return utf8(&self.buf[from..to]).map(|t| Some(Frame::Text(t)));
        }
    }

    /// Reads more from the socket: `Ready(Ok)` when some bytes came, an
    /// error at the end of the stream.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        // Room for the whole frame being read, or at least a header.
        let needed = match self.header() {
            Ok(Some(h)) => h.at + h.len,
            _ => 14,
        };
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
            // A long frame is over: a connection does not keep its buffer.
            if self.buf.len() > READ_BUFFER {
                self.buf = vec![0; READ_BUFFER];
            }
        } else if self.start + needed > self.buf.len() || self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            // `at` and `len` are relative to `start`: the known header still holds.
        }
        if needed > self.buf.len() || self.end == self.buf.len() {
            // Grown as bytes come, doubling up to what the frame needs, not
            // to what its header announces: a few bytes claiming 16 MiB
            // must not cost 16 MiB. (Never a zero-length read either.)
            let grown = (self.buf.len() * 2).min(needed).max(self.end + 1);
            self.buf.resize(grown, 0);
        }
        match Pin::new(&mut self.io).poll_read(cx, &mut self.buf[self.end..]) {
            Poll::Ready(Ok(0)) => Poll::Ready(Err("end of stream".into())),
            Poll::Ready(Ok(n)) => {
                self.end += n;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.to_string())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A close frame's code and reason.
/// A text message's payload as text. Every event passes through here, so the
/// check is the vectorised one; the standard one, only on failure, says where.
fn utf8(payload: &[u8]) -> Result<&str, String> {
    simdutf8::basic::from_utf8(payload).or_else(|_| {
        std::str::from_utf8(payload).map_err(|e| format!("a text message that is not UTF-8: {e}"))
    })
}

fn close(payload: &[u8]) -> Result<Option<(u16, &str)>, String> {
    match payload {
        [] => Ok(None),
        [_] => Err("a close frame with half a code".into()),
        [hi, lo, reason @ ..] => std::str::from_utf8(reason)
            .map(|r| Some((u16::from_be_bytes([*hi, *lo]), r)))
            .map_err(|e| format!("a close reason that is not UTF-8: {e}")),
    }
}

/// A stream that keeps a copy of what is read from it, so that the bytes
/// tungstenite read past the upgrade's response can be had back.
pub(crate) struct Recording<S> {
    pub(crate) inner: S,
    pub(crate) seen: Vec<u8>,
}

impl<S> Recording<S> {
    /// What was read after the end of the HTTP response's headers.
    pub(crate) fn after_headers(&self) -> &[u8] {
        let end = memchr::memmem::find(&self.seen, b"\r\n\r\n").map_or(self.seen.len(), |i| i + 4);
        &self.seen[end..]
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.seen.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// The write half of the socket as tungstenite's stream: tungstenite only
/// writes to it (reading is [`FrameReader`]'s), so a read never ends.
pub(crate) struct WriteOnly<W>(pub(crate) W);

impl<W: Unpin> AsyncRead for WriteOnly<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Pending
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for WriteOnly<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    /// Gives its bytes `step` at a time.
    struct Chunks {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            let at = self.at;
            buf[..n].copy_from_slice(&self.data[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(n))
        }
    }

    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(n as u8),
            n @ 126..=65535 => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// Every frame in `data` read `step` bytes at a time, owned, or the error.
    fn read_all(already: &[u8], data: Vec<u8>, step: usize) -> Vec<Result<String, String>> {
        read_all_as(false, already, data, step)
    }

    /// As [`read_all`], as the server (`masked`) or the client.
    fn read_all_as(
        masked: bool,
        already: &[u8],
        data: Vec<u8>,
        step: usize,
    ) -> Vec<Result<String, String>> {
        let mut r = FrameReader::new(Chunks { data, at: 0, step }, already, masked);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        loop {
            match r.next_frame() {
                Ok(Some(f)) => out.push(Ok(format!("{f:?}"))),
                Ok(None) => match r.poll_fill(&mut cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => {
                        out.push(Err(e));
                        return out;
                    }
                    Poll::Pending => unreachable!(),
                },
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    #[test]
    fn frames_of_every_kind_at_any_read_size() {
        let long = "x".repeat(70_000);
        let mut data = frame(0x81, br#"{"type":"A"}"#);
        data.extend(frame(0x89, b"ping"));
        data.extend(frame(0x01, b"frag"));
        data.extend(frame(0x8a, b"pong in between"));
        data.extend(frame(0x00, "ment\u{e9}".as_bytes()));
        data.extend(frame(0x80, b"ed"));
        data.extend(frame(0x81, long.as_bytes()));
        data.extend(frame(0x82, &[0, 1, 2]));
        data.extend(frame(0x81, b""));
        data.extend(frame(0x88, b"\x03\xe8bye"));
        for step in [1, 2, 3, 7, 100, 1 << 20] {
            let got = read_all(&data[..5], data[5..].to_vec(), step);
            assert_eq!(got.len(), 9, "{step}");
            assert_eq!(got[0], Ok(r#"Text("{\"type\":\"A\"}")"#.into()));
            assert_eq!(got[1], Ok(r#"Ping([112, 105, 110, 103])"#.into()));
            assert_eq!(got[2], Ok("Other".into()));
            assert_eq!(got[3], Ok("Text(\"fragment\u{e9}ed\")".into()), "{step}");
            assert_eq!(got[4], Ok(format!("Text({long:?})")));
            assert_eq!(got[5], Ok("Other".into()));
            assert_eq!(got[6], Ok(r#"Text("")"#.into()));
            assert_eq!(got[7], Ok(r#"Close(Some((1000, "bye")))"#.into()));
            assert_eq!(got[8], Err("end of stream".into()));
        }
    }

    /// A client's frame: masked with `key`.
    fn masked(first: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let plain = frame(first, payload);
        let at = plain.len() - payload.len();
        let mut out = plain[..at].to_vec();
        out[1] |= 0x80;
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        out
    }

    #[test]
    fn a_server_reads_masked_frames_and_refuses_unmasked_ones() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let long = "y".repeat(300);
        let mut data = masked(0x81, br#"{"type":"RESTRequest"}"#, key);
        data.extend(masked(0x89, b"ping", key));
        data.extend(masked(0x01, b"frag", [1, 2, 3, 4]));
        data.extend(masked(0x80, b"ment", [5, 6, 7, 8]));
        data.extend(masked(0x81, long.as_bytes(), key));
        data.extend(masked(0x88, b"\x03\xe8", key));
        for step in [1, 3, 13, 1 << 20] {
            let got = read_all_as(true, &[], data.clone(), step);
            assert_eq!(
                got[0],
                Ok(r#"Text("{\"type\":\"RESTRequest\"}")"#.into()),
                "{step}"
            );
            assert_eq!(got[1], Ok(r#"Ping([112, 105, 110, 103])"#.into()));
            assert_eq!(got[2], Ok(r#"Text("fragment")"#.into()));
            assert_eq!(got[3], Ok(format!("Text({long:?})")));
            assert_eq!(got[4], Ok(r#"Close(Some((1000, "")))"#.into()));
        }
        let got = read_all_as(true, &[], frame(0x81, b"plain"), 1 << 20);
        let last = got.last().unwrap().as_ref().unwrap_err();
        assert!(last.contains("unmasked"), "{last}");
    }

    #[test]
    fn the_buffer_grows_with_the_bytes_not_with_the_announced_length() {
        // A header announcing 16 MiB, then 40 KiB of it, then nothing.
        let mut data = vec![0x81, 127];
        data.extend_from_slice(&(16u64 << 20).to_be_bytes());
        data.extend(std::iter::repeat_n(b'x', 40 << 10));
        let mut r = FrameReader::new(
            Chunks {
                data,
                at: 0,
                step: 1 << 20,
            },
            &[],
            false,
        );
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Ok(())) = r.poll_fill(&mut cx) {
            assert!(r.buffer_len() <= 128 << 10, "{}", r.buffer_len());
        }
        // After a long frame, the buffer goes back to its usual size.
        let mut long = frame(0x81, &[b'y'; 100_000]);
        long.extend(frame(0x81, b"short"));
        let mut r = FrameReader::new(
            Chunks {
                data: long,
                at: 0,
                step: 1 << 20,
            },
            &[],
            false,
        );
        let mut sizes = Vec::new();
        loop {
            match r.next_frame() {
                Ok(Some(_)) => sizes.push(r.buffer_len()),
                Ok(None) => {
                    if !matches!(r.poll_fill(&mut cx), Poll::Ready(Ok(()))) {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(sizes[0] >= 100_000);
        assert_eq!(r.buffer_len(), READ_BUFFER);
    }

    #[test]
    fn protocol_errors_end_the_connection() {
        for (bytes, error) in [
            (frame(0xc1, b"x"), "reserved bits"),
            (vec![0x81, 0x81, 1, 2, 3, 4, b'x'], "masked"),
            (frame(0x09, b"x"), "control frame"),
            (frame(0x89, &[0; 126]), "control frame"),
            (frame(0x80, b"x"), "nothing to continue"),
            (frame(0x83, b"x"), "opcode 3"),
            (frame(0x8b, b"x"), "opcode 11"),
            (frame(0x81, b"\xff"), "UTF-8"),
            (frame(0x88, b"\x03"), "half a code"),
            (
                [frame(0x01, b"a"), frame(0x81, b"b")].concat(),
                "before the last one",
            ),
            (
                vec![0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "over the limit",
            ),
        ] {
            let got = read_all(&[], bytes, 1 << 20);
            let last = got.last().unwrap().as_ref().unwrap_err();
            assert!(last.contains(error), "{last} / {error}");
        }
    }

    #[test]
    fn text_is_checked_to_its_last_byte() {
        let text = "é€".repeat(100);
        assert_eq!(utf8(text.as_bytes()), Ok(text.as_str()));
        for at in [0, 63, 64, 199, 499] {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = 0xff;
            let error = utf8(&bytes).unwrap_err();
            assert!(error.contains("not UTF-8: invalid utf-8"), "{error}");
        }
        let mut cut = text.into_bytes();
        cut.pop();
        assert!(utf8(&cut).unwrap_err().contains("incomplete utf-8"));
    }

    #[test]
    fn the_bytes_after_the_upgrade_response_are_kept() {
        let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
        let mut rec = Recording {
            inner: Chunks {
                data: response.to_vec(),
                at: 0,
                step: 1 << 20,
            },
            seen: Vec::new(),
        };
        let mut buf = [0u8; 256];
        let n = futures_util::AsyncReadExt::read(&mut rec, &mut buf)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(n, response.len());
        assert_eq!(rec.after_headers(), b"\x81\x02hi");
    }
}
