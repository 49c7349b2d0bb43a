//! Everything an AMI session is set up with.

use proto_common::{BackoffConfig, Secret, Version};
use std::time::Duration;

/// How the session logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoginAuth {
    /// `Challenge`, then `Login` with the MD5 of challenge and secret: the
    /// secret never crosses the wire. The default.
    #[default]
    Challenge,
    /// `Login` with the secret in plain text.
    Plain,
}

/// Which events Asterisk sends the session (`Events:` of `Login`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EventMask {
    /// Every class the user may read. The default.
    #[default]
    All,
    /// None: a session for actions only.
    Off,
    /// These classes (`call`, `system`, `dtmf`, ...), as manager.conf names them.
    Classes(Vec<String>),
}

impl EventMask {
    /// The value of the `Events` header.
    pub fn header_value(&self) -> String {
        match self {
            EventMask::All => "on".into(),
            EventMask::Off => "off".into(),
            EventMask::Classes(classes) => classes.join(","),
        }
    }
}

/// An event filter the session applies after each login (the `Filter`
/// action with `Operation: Add`).
///
/// Once a session has an include filter, Asterisk sends it only the events
/// some include filter matches, and an asynchronous `Originate`'s
/// `OriginateResponse` is an event like the others: let it through, or the
/// session's own originates end in a timeout.
///
/// ```
/// use ami_proto::EventFilter;
///
/// let filters = vec![
///     EventFilter::criteria("name(Hangup),header(Channel),method(starts_with)", "PJSIP/"),
///     EventFilter::criteria("name(OriginateResponse),method(none)", ""),
/// ];
/// # let _ = filters;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// `Filter`: a regular expression Asterisk matches against the whole
    /// event text (a leading `!` excludes what matches), or with
    /// [`match_criteria`](Self::match_criteria) the value compared.
    pub filter: String,
    /// `MatchCriteria`, e.g. `name(Hangup),header(Channel),method(starts_with)`:
    /// which event and header to compare, and how (`regex`, `exact`,
    /// `starts_with`, `ends_with`, `contains`, `none`; Asterisk refuses the
    /// `startsWith` spelling its XML shows). Releases before
    /// [`MATCH_CRITERIA_SINCE`](Self::MATCH_CRITERIA_SINCE) ignore it
    /// without a word and apply `filter` as a plain regex, so the session
    /// refuses such a filter for them instead of sending it.
    pub match_criteria: Option<String>,
}

impl EventFilter {
    /// The first release of each release line that reads `MatchCriteria`.
    pub const MATCH_CRITERIA_SINCE: &'static [Version] = &[
        Version::new(18, 26, 0),
        Version::new(20, 11, 0),
        Version::new(21, 6, 0),
        Version::new(22, 1, 0),
        Version::new(23, 0, 0),
    ];

    /// A legacy filter: a regular expression over the whole event text.
    pub fn regex(filter: impl Into<String>) -> EventFilter {
        EventFilter {
            filter: filter.into(),
            match_criteria: None,
        }
    }

    /// A filter comparing `value` as `criteria` says.
    pub fn criteria(criteria: impl Into<String>, value: impl Into<String>) -> EventFilter {
        EventFilter {
            filter: value.into(),
            match_criteria: Some(criteria.into()),
        }
    }

    /// Whether Asterisk `version` applies this filter as written.
    pub fn supported_by(&self, version: Version) -> bool {
        self.match_criteria.is_none() || version.has(Self::MATCH_CRITERIA_SINCE)
    }
}

impl From<&str> for EventFilter {
    fn from(filter: &str) -> EventFilter {
        EventFilter::regex(filter)
    }
}

impl From<String> for EventFilter {
    fn from(filter: String) -> EventFilter {
        EventFilter::regex(filter)
    }
}

/// A configuration Asterisk cannot be reached with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The address is not `host`, `host:port`, `[v6]:port`, or one of those
    /// after `tcp://` or `tls://`.
    #[error("invalid AMI address {0:?}")]
    Address(String),
    /// The user name, secret or a filter cannot go into an action (a line
    /// break, or a line longer than Asterisk reads).
    #[error("the login or a filter cannot be sent: {0}")]
    Unsendable(#[from] crate::EncodeError),
}

/// Where and how an AMI session connects, logs in and stays alive.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Host name or IP address.
    pub host: String,
    /// TCP port: 5038 by default, 5039 for TLS.
    pub port: u16,
    /// AMI over TLS (a listener of its own; TLS from the first byte).
    pub tls: bool,
    /// The manager.conf user.
    pub username: String,
    /// Its secret.
    pub secret: Secret,
    /// How the secret is proven.
    pub auth: LoginAuth,
    /// Which events to receive.
    pub events: EventMask,
    /// Filters applied after each login. Asterisk cannot take one off:
    /// [`Session::set_filters`](crate::Session::set_filters) changes them
    /// on a live session, logging in again when it must. A filter with
    /// `MatchCriteria` waits for the server's release to be known (see
    /// [`learn_server_version`](Self::learn_server_version)). With filters,
    /// the login asks for no events and an `Events` action turns
    /// [`events`](Self::events) on once the filters are in place, so no
    /// event reaches the session unfiltered (not even `FullyBooted`).
    pub filters: Vec<EventFilter>,
    /// How long an action may wait for its answer (its whole event list
    /// included), queueing before login included. An asynchronous
    /// `Originate` also gets its own `Timeout`.
    pub request_timeout: Duration,
    /// How long connecting, the banner and the login together may take.
    pub connect_timeout: Duration,
    /// How long the connection may be quiet before a `Ping` goes out
    /// (`None`: never).
    pub ping_interval: Option<Duration>,
    /// How long the connection may bring nothing (not even a ping's answer)
    /// before it is taken for dead and replaced.
    pub idle_timeout: Duration,
    /// Reconnect schedule.
    pub backoff: BackoffConfig,
    /// Seed of the random source (jitter and the ActionID prefix, which
    /// must differ between clients: Asterisk sends `OriginateResponse` to
    /// every session). Random by default; set it to replay a run.
    pub seed: u64,
    /// Longest message accepted; a longer one is skipped with an error.
    pub max_message: usize,
    /// Ask `CoreSettings` after each login, so that the Asterisk release is
    /// known ([`Session::server_version`](crate::Session::server_version)).
    pub learn_server_version: bool,
}

impl Config {
    /// A configuration for `address` (`host`, `host:port`, `tcp://...` or
    /// `tls://...`), logging in as `username`; the rest defaults.
    pub fn new(
        address: &str,
        username: impl Into<String>,
        secret: impl Into<String>,
    ) -> Result<Config, ConfigError> {
        let (tls, rest) = match address.split_once("://") {
            Some(("tcp", rest)) => (false, rest),
            Some(("tls", rest)) => (true, rest),
            Some(_) => return Err(ConfigError::Address(address.into())),
            None => (false, address),
        };
        let (host, port) =
            split_host_port(rest).ok_or_else(|| ConfigError::Address(address.into()))?;
        Ok(Config {
            host,
            port: port.unwrap_or(if tls { 5039 } else { 5038 }),
            tls,
            username: username.into(),
            secret: Secret::new(secret),
            auth: LoginAuth::default(),
            events: EventMask::default(),
            filters: Vec::new(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Duration::from_secs(60),
            backoff: BackoffConfig::default(),
            seed: proto_common::random_seed(),
            max_message: crate::DEFAULT_MAX_MESSAGE,
            learn_server_version: true,
        })
    }
}

fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim_end_matches('/');
    let (host, port) = match s.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            match rest {
                "" => (host, None),
                _ => (host, Some(rest.strip_prefix(':')?)),
            }
        }
        None => match s.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return None,
            None => (s, None),
        },
    };
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse().ok().filter(|&p| p != 0)?),
        None => None,
    };
    Some((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let c = Config::new("pbx.example", "u", "s").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.tls),
            ("pbx.example", 5038, false)
        );
        let c = Config::new("tls://10.0.0.1", "u", "s").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.tls), ("10.0.0.1", 5039, true));
        let c = Config::new("tcp://[::1]:6000", "u", "s").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 6000));
        for bad in ["", "http://x", "x:0", "x:notaport", "::1", "a/b:1", "[::1"] {
            assert!(Config::new(bad, "u", "s").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_stays_out_of_debug() {
        let c = Config::new("pbx", "admin", "hunter2").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
