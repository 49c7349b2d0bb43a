//! Process AGI: a script Asterisk starts itself (`AGI(script.agi)`) and
//! talks to over its standard input and output, with the same typed
//! commands as FastAGI, blocking: such a script does one call, in order.
//!
//! Asterisk sends the process `SIGHUP` when the caller hangs up (unless
//! the channel sets `AGISIGHUP=no`), and a signal's default action ends
//! the process: a script that must go on after a hangup (to log, or to
//! run dead-channel commands) sets `AGISIGHUP=no` in the dialplan and
//! learns of the hangup from Asterisk's `HANGUP` line, as FastAGI does.

use crate::agi::AgiError;
use agi_proto::{Command, CommandError, Config, Output, Reply, Request, Session, Transmit};
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

/// One process AGI session over a reader (Asterisk's output) and a writer
/// (its input): usually [`ProcessAgi::from_stdio`].
pub struct ProcessAgi<R: Read, W: Write> {
    session: Session,
    reader: R,
    writer: W,
    request: Arc<Request>,
    buf: Vec<u8>,
}

impl ProcessAgi<io::Stdin, io::Stdout> {
    /// The session of this process: reads the environment Asterisk wrote
    /// on standard input.
    pub fn from_stdio() -> Result<Self, AgiError> {
        ProcessAgi::new(io::stdin(), io::stdout(), Config::default())
    }
}

/// The caller's audio of an `EAGI(...)` script: file descriptor 3, read as
/// a stream of bytes (signed linear 16-bit mono, 8 kHz unless the channel
/// says otherwise).
pub fn eagi_audio() -> io::Result<File> {
    File::open("/dev/fd/3")
}

impl<R: Read, W: Write> ProcessAgi<R, W> {
    /// A session over `reader` and `writer`; reads the environment first.
    pub fn new(reader: R, writer: W, config: Config) -> Result<Self, AgiError> {
        let mut agi = ProcessAgi {
            session: Session::new(config, Instant::now()),
            reader,
            writer,
            request: Arc::default(),
            buf: vec![0; 8192],
        };
        loop {
            match agi.session.poll_output() {
                Some(Output::Request(request)) => {
                    agi.request = request;
                    return Ok(agi);
                }
                Some(Output::Closed(_)) => return Err(CommandError::ConnectionLost.into()),
                Some(_) => continue,
                None => agi.read()?,
            }
        }
    }

    /// The environment Asterisk sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Whether Asterisk said the channel hung up (a `HANGUP` line).
    pub fn is_hung_up(&self) -> bool {
        self.session.is_hung_up()
    }

    /// Sends `command`, waits for Asterisk's reply and reads it as the
    /// command's typed result.
    pub fn send<C: Command>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        let reply = self.send_raw_reply(command)?;
        Ok(command.parse_reply(&reply)?)
    }

    /// Sends `command` and gives Asterisk's reply as it is.
    pub fn send_raw_reply<C: Command>(&mut self, command: &C) -> Result<Reply, CommandError> {
        let id = self.session.send(command, Instant::now())?;
        self.write()?;
        loop {
            while let Some(output) = self.session.poll_output() {
                match output {
                    Output::Reply { id: got, result } if got == id => return result,
                    Output::Closed(_) => return Err(CommandError::ConnectionLost),
                    _ => {}
                }
            }
            self.read()?;
        }
    }

    /// Ends the session: Asterisk goes on with the dialplan.
    pub fn close(mut self) {
        self.session.close(Instant::now());
        let _ = self.write();
    }

    fn write(&mut self) -> Result<(), CommandError> {
        while let Some(transmit) = self.session.poll_transmit() {
            if let Transmit::Send(bytes) = transmit {
                self.writer
                    .write_all(&bytes)
                    .and_then(|()| self.writer.flush())
                    .map_err(|_| CommandError::ConnectionLost)?;
            }
        }
        Ok(())
    }

    fn read(&mut self) -> Result<(), CommandError> {
        let now = Instant::now();
        match self.reader.read(&mut self.buf) {
            Ok(0) => self.session.handle_eof(now),
            Ok(n) => self.session.handle_bytes(&self.buf[..n], now),
            Err(e) => self.session.handle_error(&e.to_string(), now),
        }
        Ok(())
    }
}
