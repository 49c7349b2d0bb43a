//! An AGI load driver: Asterisk's side of the recorded `agi-load` calls,
//! many at once, against a FastAGI server. Each caller connects, writes
//! the recorded environment, answers each command with the recorded reply
//! (after checking its first word), and ends as Asterisk did.

use conformance::agi_check::{AgiKind, AgiTrace};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one recorded call is: the environment, then for each command the
/// reply bytes (any unprompted lines included).
#[derive(Debug, Clone)]
pub struct RecordedCall {
    environment: Vec<u8>,
    replies: Vec<Vec<u8>>,
}

impl RecordedCall {
    /// The first connection of `agi-load.jsonl`.
    pub fn agi_load() -> io::Result<RecordedCall> {
        let trace = AgiTrace::read(&conformance::bundled_agi_trace("agi-load.jsonl"))
            .map_err(io::Error::other)?;
        let conn = trace
            .connections()
            .into_iter()
            .next()
            .ok_or(io::ErrorKind::InvalidData)?;
        let mut call = RecordedCall {
            environment: Vec::new(),
            replies: Vec::new(),
        };
        for record in trace.records.iter().filter(|r| r.conn == conn) {
            match &record.kind {
                AgiKind::Recv(bytes) if call.environment.is_empty() => {
                    call.environment = bytes.clone();
                }
                AgiKind::Recv(bytes) => match call.replies.last_mut() {
                    Some(reply) => reply.extend_from_slice(bytes),
                    None => return Err(io::ErrorKind::InvalidData.into()),
                },
                AgiKind::Send(_) => call.replies.push(Vec::new()),
                _ => {}
            }
        }
        Ok(call)
    }

    /// The commands the recorded script sent.
    pub fn commands(&self) -> usize {
        self.replies.len()
    }

    /// Plays one call against `server`: `Ok` once the server has sent
    /// every command and closed.
    pub fn play(&self, server: SocketAddr) -> io::Result<()> {
        let stream = TcpStream::connect(server)?;
        stream.set_nodelay(true)?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        writer.write_all(&self.environment)?;
        let mut line = Vec::new();
        for reply in &self.replies {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            writer.write_all(reply)?;
        }
        // The script closes its side; Asterisk then closes too.
        line.clear();
        while reader.read_until(b'\n', &mut line)? > 0 {}
        Ok(())
    }

    /// Connects and writes the environment, then holds the connection
    /// without answering: an open session on the server's side.
    pub fn hold(&self, server: SocketAddr) -> io::Result<TcpStream> {
        let mut stream = TcpStream::connect(server)?;
        stream.write_all(&self.environment)?;
        Ok(stream)
    }
}

/// Plays `calls` calls against `server` from `concurrency` threads; the
/// calls that failed.
pub fn play_calls(
    call: &RecordedCall,
    server: SocketAddr,
    calls: usize,
    concurrency: usize,
) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (call, next, failed) = (call.clone(), next.clone(), failed.clone());
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    if call.play(server).is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    failed.load(Ordering::Relaxed)
}
