//! Any bytes as the events WebSocket's frames, read by ari-client's frame
//! reader as a client or as the server of an outbound WebSocket (frames
//! masked), in reads of any size. Checked: no panic; the same frames and
//! the same end whether the bytes come in the input's reads, in one read or
//! byte by byte; the same frames and end as a plain reference decoder
//! (RFC 6455 with the reader's limits), so among others a masked frame to a
//! client and an unmasked one to a server end the connection, and text is
//! UTF-8; the read buffer never larger than 16 KiB, the bytes read past the
//! upgrade or the largest frame announced; and frames written by a
//! reference encoder from the same bytes (a script) read back exactly, and
//! are refused at once when masked for the other role.
//!
//! Input: a flags byte (bit 0: as the server), how many bytes come as read
//! past the upgrade, a count `n` (mod 8), `n` read sizes (0: a read
//! interrupted, 1-191 bytes, 192-255: (v - 191) * 256 bytes), then the
//! bytes, which are also the encoder's script (see `script`).
#![no_main]

use ari_client::fuzzing::{Frame, Reading, read_frames};
use libfuzzer_sys::fuzz_target;

/// The reader's limits and first buffer size.
const READ_BUFFER: usize = 16 * 1024;
const MAX_FRAME: u64 = 16 << 20;
const MAX_MESSAGE: usize = 64 << 20;
/// The most the encoder writes.
const MAX_WIRE: usize = 256 * 1024;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Closed,
    EndOfStream,
    Reserved,
    Masked,
    Unmasked,
    FrameTooLong,
    MessageTooLong,
    Control,
    Opcode,
    Continuation,
    Interleaved,
    Utf8,
    HalfCode,
}

/// The reader's error message, classified.
fn class(end: &Result<(), String>) -> End {
    let e = match end {
        Ok(()) => return End::Closed,
        Err(e) => e,
    };
    let table = [
        ("end of stream", End::EndOfStream),
        ("reserved bits", End::Reserved),
        ("a masked frame", End::Masked),
        ("an unmasked frame", End::Unmasked),
        ("a frame of", End::FrameTooLong),
        ("a message over the limit", End::MessageTooLong),
        ("control frame", End::Control),
        ("opcode", End::Opcode),
        ("nothing to continue", End::Continuation),
        ("before the last one", End::Interleaved),
        ("not UTF-8", End::Utf8),
        ("half a code", End::HalfCode),
    ];
    table
        .iter()
        .find(|(text, _)| e.contains(text))
        .map(|&(_, end)| end)
        .unwrap_or_else(|| panic!("an unexpected error: {e}"))
}

/// The first `n` bytes of `rest`, taken, or the end of the stream.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], End> {
    if rest.len() < n {
        return Err(End::EndOfStream);
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// A message's frame: text (UTF-8) or binary.
fn message(text: bool, bytes: Vec<u8>) -> Result<Frame, End> {
    if !text {
        return Ok(Frame::Other);
    }
    String::from_utf8(bytes)
        .map(Frame::Text)
        .map_err(|_| End::Utf8)
}

/// The reference decoder: the frames in `b`, read whole, and why it ended;
/// `largest` gets the largest frame announced (header and payload).
fn reference(b: &[u8], masked: bool, frames: &mut Vec<Frame>, largest: &mut usize) -> End {
    let mut rest = b;
    let mut partial: Option<(bool, Vec<u8>)> = None;
    let mut one = || -> Result<bool, End> {
        let head = take(&mut rest, 2)?;
        let (b0, b1) = (head[0], head[1]);
        if b0 & 0x70 != 0 {
            return Err(End::Reserved);
        }
        match (b1 & 0x80 != 0, masked) {
            (true, false) => return Err(End::Masked),
            (false, true) => return Err(End::Unmasked),
            _ => {}
        }
        let (len, width) = match b1 & 0x7f {
            126 => {
                let n = take(&mut rest, 2)?;
                (u64::from(u16::from_be_bytes([n[0], n[1]])), 2)
            }
            127 => {
                let n = take(&mut rest, 8)?;
                (u64::from_be_bytes(n.try_into().unwrap()), 8)
            }
            n => (u64::from(n), 0),
        };
        if len > MAX_FRAME {
            return Err(End::FrameTooLong);
        }
        let len = len as usize;
        let key = if masked {
            Some(take(&mut rest, 4)?)
        } else {
            None
        };
        *largest = (*largest).max(2 + width + if masked { 4 } else { 0 } + len);
        let mut payload = take(&mut rest, len)?.to_vec();
        if let Some(key) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        let (fin, op) = (b0 & 0x80 != 0, b0 & 0x0f);
        if op >= 8 {
            if !fin || len > 125 {
                return Err(End::Control);
            }
            match op {
                8 => {
                    let close = match &payload[..] {
                        [] => None,
                        [_] => return Err(End::HalfCode),
                        [hi, lo, reason @ ..] => {
                            let reason = std::str::from_utf8(reason).map_err(|_| End::Utf8)?;
                            Some((u16::from_be_bytes([*hi, *lo]), reason.to_owned()))
                        }
                    };
                    frames.push(Frame::Close(close));
                    return Ok(true);
                }
                9 => frames.push(Frame::Ping(payload)),
                10 => frames.push(Frame::Other),
                _ => return Err(End::Opcode),
            }
            return Ok(false);
        }
        match (op, &mut partial) {
            (0, None) => return Err(End::Continuation),
            (0, Some((_, bytes))) => {
                if bytes.len() + len > MAX_MESSAGE {
                    return Err(End::MessageTooLong);
                }
                bytes.extend_from_slice(&payload);
                if fin {
                    let (text, bytes) = partial.take().unwrap();
                    frames.push(message(text, bytes)?);
                }
            }
            (1 | 2, Some(_)) => return Err(End::Interleaved),
            (1 | 2, None) if fin => frames.push(message(op == 1, payload)?),
            (1 | 2, None) => partial = Some((op == 1, payload)),
            _ => return Err(End::Opcode),
        }
        Ok(false)
    };
    loop {
        match one() {
            Ok(true) => return End::Closed,
            Ok(false) => {}
            Err(end) => return end,
        }
    }
}

/// One frame on the wire: the first byte, the payload length in the
/// shortest form (`width` 0 or 3), in 16 bits (1, if it fits) or in 64 (2),
/// masked with `key` if `masked`.
fn encode(wire: &mut Vec<u8>, first: u8, payload: &[u8], width: u8, masked: Option<[u8; 4]>) {
    wire.push(first);
    let bit = if masked.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    match width {
        1 if len <= 0xffff => {
            wire.push(bit | 126);
            wire.extend_from_slice(&(len as u16).to_be_bytes());
        }
        2 => {
            wire.push(bit | 127);
            wire.extend_from_slice(&(len as u64).to_be_bytes());
        }
        _ if len <= 125 => wire.push(bit | len as u8),
        _ if len <= 0xffff => {
            wire.push(bit | 126);
            wire.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            wire.push(bit | 127);
            wire.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match masked {
        Some(key) => {
            wire.extend_from_slice(&key);
            wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => wire.extend_from_slice(payload),
    }
}

/// Takes up to `n` bytes of the script.
fn bytes<'a>(s: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = s.split_at(n.min(s.len()));
    *s = tail;
    head
}

fn byte(s: &mut &[u8]) -> u8 {
    bytes(s, 1).first().copied().unwrap_or(0)
}

/// `s` cut to at most `n` bytes, at a character's boundary.
fn cut(mut s: String, n: usize) -> String {
    let mut at = n.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    s
}

/// The wire the script `s` describes, masked with its keys if `mask`, and
/// the frames and end it must read as. Each frame starts with a byte `op`:
/// `op & 7` the kind (0 text, 1 binary, 2 ping, 3 pong, 4 close, 5 long
/// text, 6 long binary, 7 text with a ping between its fragments),
/// `op >> 3 & 3` the length's width ([`encode`]), `op >> 5` the number of
/// fragments less one; as the server, a masking key (4 bytes); then a
/// length byte and that many payload bytes (text made UTF-8, control
/// payloads cut to fit), or for long messages two length bytes and a
/// pattern (4 bytes) repeated.
fn script(mut s: &[u8], server: bool, mask: bool) -> (Vec<u8>, Vec<Frame>, End) {
    let mut wire = Vec::new();
    let mut frames = Vec::new();
    while !s.is_empty() && wire.len() < MAX_WIRE {
        let op = byte(&mut s);
        let width = (op >> 3) & 3;
        let key = server.then(|| {
            let mut key = [0; 4];
            let k = bytes(&mut s, 4);
            key[..k.len()].copy_from_slice(k);
            key
        });
        let key = if mask { key.or(Some([0x5a; 4])) } else { None };
        let (text, payload, parts, ping) = match op & 7 {
            kind @ (0 | 1 | 7) => {
                let n = usize::from(byte(&mut s));
                let raw = bytes(&mut s, n);
                let payload = if kind == 1 {
                    raw.to_vec()
                } else {
                    String::from_utf8_lossy(raw).into_owned().into_bytes()
                };
                (kind != 1, payload, usize::from(op >> 5) + 1, kind == 7)
            }
            kind @ (5 | 6) => {
                let n = bytes(&mut s, 2);
                let n = usize::from(n.first().copied().unwrap_or(0)) << 8
                    | usize::from(n.get(1).copied().unwrap_or(0));
                let n = n * (1 + usize::from((op >> 5) & 1));
                let pattern = bytes(&mut s, 4);
                let mut pattern = if kind == 5 {
                    String::from_utf8_lossy(pattern).into_owned().into_bytes()
                } else {
                    pattern.to_vec()
                };
                if pattern.is_empty() {
                    pattern.push(b'x');
                }
                let payload = pattern.repeat(n / pattern.len());
                (kind == 5, payload, usize::from(op >> 7) + 1, false)
            }
            kind @ (2 | 3) => {
                let n = usize::from(byte(&mut s)) % 126;
                let payload = bytes(&mut s, n);
                encode(&mut wire, 0x87 + kind, payload, width, key);
                frames.push(if kind == 2 {
                    Frame::Ping(payload.to_vec())
                } else {
                    Frame::Other
                });
                continue;
            }
            _ => {
                let n = usize::from(byte(&mut s)) % 124;
                let (payload, close) = if n == 0 {
                    (Vec::new(), None)
                } else {
                    let code = bytes(&mut s, 2);
                    let code = u16::from(code.first().copied().unwrap_or(0)) << 8
                        | u16::from(code.get(1).copied().unwrap_or(0));
                    let reason = String::from_utf8_lossy(bytes(&mut s, n - 1)).into_owned();
                    let reason = cut(reason, 123);
                    let payload = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
                    (payload, Some((code, reason)))
                };
                encode(&mut wire, 0x88, &payload, width, key);
                frames.push(Frame::Close(close));
                return (wire, frames, End::Closed);
            }
        };
        // A message in `parts` fragments (some may be empty, and text is
        // cut anywhere, inside a character too).
        let len = payload.len();
        for i in 0..parts {
            let piece = &payload[i * len / parts..(i + 1) * len / parts];
            let fin = if i + 1 == parts { 0x80 } else { 0 };
            let opcode = match (i, text) {
                (0, true) => 1,
                (0, false) => 2,
                _ => 0,
            };
            encode(&mut wire, fin | opcode, piece, width, key);
            if ping && fin == 0 {
                encode(&mut wire, 0x89, &[i as u8], width, key);
                frames.push(Frame::Ping(vec![i as u8]));
            }
        }
        frames.push(if text {
            Frame::Text(String::from_utf8(payload).unwrap())
        } else {
            Frame::Other
        });
    }
    (wire, frames, End::EndOfStream)
}

/// Read sizes: `sizes` in turn until they cover `total` bytes.
fn reads(sizes: &[usize], total: usize) -> Vec<usize> {
    if sizes.iter().all(|&n| n == 0) {
        return sizes.to_vec();
    }
    let mut out = Vec::new();
    let mut sum = 0;
    for &n in sizes.iter().cycle() {
        if sum >= total {
            break;
        }
        out.push(n);
        sum += n;
    }
    out
}

/// The buffer stays within the first size, the bytes read past the upgrade
/// and the largest frame announced.
fn check_buffer(r: &Reading, already: usize, largest: usize) {
    let bound = READ_BUFFER.max(already).max(largest);
    assert!(
        r.buffer <= bound,
        "a buffer of {} bytes, over {bound}",
        r.buffer
    );
}

fuzz_target!(|data: &[u8]| {
    let [flags, already, n, rest @ ..] = data else {
        return;
    };
    let server = flags & 1 == 1;
    let n = usize::from(n % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    let sizes: Vec<usize> = sizes
        .iter()
        .map(|&v| match v {
            0..=191 => usize::from(v),
            _ => usize::from(v - 191) * 256,
        })
        .collect();
    let already = usize::from(*already).min(stream.len());

    // The bytes as they are: the same however they are read, and as the
    // reference decoder reads them.
    let mut frames = Vec::new();
    let mut largest = 0;
    let end = reference(stream, server, &mut frames, &mut largest);
    let whole = read_frames(stream, 0, &[], server);
    assert_eq!(
        whole.frames, frames,
        "the reference decoder reads otherwise"
    );
    assert_eq!(class(&whole.end), end, "{:?}", whole.end);
    check_buffer(&whole, 0, largest);
    let chunked = read_frames(stream, already, &reads(&sizes, stream.len()), server);
    assert_eq!(chunked.frames, whole.frames, "frames depend on the reads");
    assert_eq!(chunked.end, whole.end, "the end depends on the reads");
    check_buffer(&chunked, already, largest);
    if stream.len() <= 4096 {
        let bytewise = read_frames(stream, 0, &vec![1; stream.len()], server);
        assert_eq!(bytewise.frames, whole.frames, "frames read byte by byte");
        assert_eq!(bytewise.end, whole.end, "the end read byte by byte");
        check_buffer(&bytewise, 0, largest);
    }

    // The encoder's frames read back, in the input's reads and whole.
    let (wire, expected, end) = script(stream, server, server);
    let already = already.min(wire.len());
    for r in [
        read_frames(&wire, already, &reads(&sizes, wire.len()), server),
        read_frames(&wire, 0, &[], server),
    ] {
        assert_eq!(
            r.frames, expected,
            "the encoder's frames read back otherwise"
        );
        assert_eq!(class(&r.end), end, "{:?}", r.end);
        check_buffer(&r, already, wire.len());
    }
    // Masked for the other role, they are refused at once.
    let (wrong, _, _) = script(stream, server, !server);
    let r = read_frames(&wrong, 0, &[], server);
    assert!(r.frames.is_empty(), "{:?}", r.frames);
    let refused = match (wrong.is_empty(), server) {
        (true, _) => End::EndOfStream,
        (false, true) => End::Unmasked,
        (false, false) => End::Masked,
    };
    assert_eq!(class(&r.end), refused, "{:?}", r.end);
});
