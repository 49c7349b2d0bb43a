//! DTMF collection as a state machine: which digits count, when collection
//! ends and when it times out, decided from the events and times it is
//! given. A driver feeds it a call's events and wakes it at `poll_timeout`.

use crate::Event;
use std::time::{Duration, Instant};

/// How to collect DTMF: up to `max` digits, ended early by `terminator`
/// (not included), within per-digit and total time limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    /// Most digits to collect.
    pub max: usize,
    /// A key that ends collection, e.g. `#`.
    pub terminator: Option<String>,
    /// How long to wait for the first digit.
    pub first_digit: Duration,
    /// How long to wait for each further digit.
    pub between_digits: Duration,
    /// How long the whole collection may take.
    pub total: Duration,
}

impl Digits {
    /// Up to `max` digits, `#` ends early, 10 s for the first, 5 s between, 30 s in all.
    pub fn up_to(max: usize) -> Digits {
        Digits {
            max,
            terminator: Some("#".into()),
            first_digit: Duration::from_secs(10),
            between_digits: Duration::from_secs(5),
            total: Duration::from_secs(30),
        }
    }
}

/// Why collection stopped short, with the digits collected so far.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigitsStop {
    /// A time limit passed.
    Timeout(String),
    /// The call ended.
    Hangup(String),
}

/// One DTMF collection on one channel.
///
/// Feed it the channel's events with [`handle_event`](Self::handle_event)
/// and call [`handle_timeout`](Self::handle_timeout) once
/// [`poll_timeout`](Self::poll_timeout) is reached; either returns the
/// outcome once collection is over.
#[derive(Debug, Clone)]
pub struct DigitCollector {
    spec: Digits,
    channel: String,
    started: Instant,
    last_digit: Option<Instant>,
    digits: String,
    done: bool,
}

impl DigitCollector {
    /// Starts collecting on `channel` at `now`.
    pub fn new(spec: Digits, channel: impl Into<String>, now: Instant) -> DigitCollector {
        DigitCollector {
            spec,
            channel: channel.into(),
            started: now,
            last_digit: None,
            digits: String::new(),
            done: false,
        }
    }

    /// The digits collected so far.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// When collection times out if no digit comes; `None` once it is over.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let per_digit = match self.last_digit {
            None => self.started + self.spec.first_digit,
            Some(at) => at + self.spec.between_digits,
        };
        Some(per_digit.min(self.started + self.spec.total))
    }

    /// An event about the call arrived at `now`: a digit of this channel,
    /// or its end. Other events change nothing.
    pub fn handle_event(
        &mut self,
        event: &Event,
        now: Instant,
    ) -> Option<Result<String, DigitsStop>> {
        if self.done {
            return None;
        }
        // A digit pressed after a limit passed does not count.
        if self.poll_timeout().is_some_and(|t| t <= now) {
            return self.handle_timeout(now);
        }
        match event {
            Event::ChannelDtmfReceived(d) if d.channel.id == self.channel.as_str() => {
                if self.spec.terminator.as_deref() == Some(d.digit.as_str()) {
                    return self.finish(Ok(()));
                }
                self.digits.push_str(&d.digit);
                self.last_digit = Some(now);
                if self.digits.chars().count() >= self.spec.max {
                    return self.finish(Ok(()));
                }
                None
            }
            Event::StasisEnd(e) if e.channel.id == self.channel.as_str() => {
                self.finish(Err(DigitsStop::Hangup))
            }
            Event::ChannelDestroyed(e) if e.channel.id == self.channel.as_str() => {
                self.finish(Err(DigitsStop::Hangup))
            }
            _ => None,
        }
    }

    /// Time passed: ends collection if a limit was reached.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Result<String, DigitsStop>> {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            return self.finish(Err(DigitsStop::Timeout));
        }
        None
    }

    /// The call's event stream ended (the client closed): collection is over.
    pub fn handle_end(&mut self) -> Option<Result<String, DigitsStop>> {
        if self.done {
            return None;
        }
        self.finish(Err(DigitsStop::Hangup))
    }

    fn finish(
        &mut self,
        outcome: Result<(), fn(String) -> DigitsStop>,
    ) -> Option<Result<String, DigitsStop>> {
        self.done = true;
        let digits = std::mem::take(&mut self.digits);
        Some(match outcome {
            Ok(()) => Ok(digits),
            Err(stop) => Err(stop(digits)),
        })
    }
}
