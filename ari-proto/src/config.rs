//! Everything a session is set up with.

use crate::error::ConfigError;
use crate::{BackoffConfig, Secret};
use std::time::Duration;

/// How credentials reach Asterisk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthMode {
    /// HTTP Basic in the `Authorization` header, on REST and on the WebSocket
    /// upgrade. The default.
    #[default]
    Basic,
    /// `api_key=user:password` in every query string. Only for setups that
    /// cannot pass headers: the secret then travels in URLs.
    ApiKeyQuery,
}

/// Which transport REST requests take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RestTransport {
    /// Plain HTTP requests. The default.
    #[default]
    Http,
    /// `RESTRequest` frames on the events WebSocket (Asterisk 20.14, 21.9, 22.4 and later).
    WebSocket,
}

/// The parts of the base URL the session builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    pub tls: bool,
    pub authority: String,
    /// Path prefix before `/ari`, without a trailing `/` (often empty).
    pub prefix: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<BaseUrl, ConfigError> {
        let bad = |reason: &str| ConfigError::BaseUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.as_str();
        if authority.contains('@') {
            return Err(bad("put credentials in the config, not in the URL"));
        }
        if uri.query().is_some() {
            return Err(bad("a base URL has no query"));
        }
        let path = uri.path().trim_end_matches('/');
        let prefix = path.strip_suffix("/ari").unwrap_or(path).to_string();
        Ok(BaseUrl {
            tls,
            authority: authority.to_string(),
            prefix,
        })
    }
}

/// Settings of a [`Session`](crate::Session).
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) base: BaseUrl,
    /// The base URL as given, e.g. `http://localhost:8088`.
    pub base_url: String,
    /// ARI user name.
    pub username: String,
    /// ARI password.
    pub password: Secret,
    /// How credentials are sent.
    pub auth: AuthMode,
    /// Stasis applications this session registers (at least one).
    ///
    /// Asterisk unregisters a connection's names when it ends, and a name
    /// another connection registers while the first is still ending can be
    /// lost with it: the newer connection stays up with no calls and no
    /// event saying so. So an instance restarted under the same name should
    /// start once the old connection is gone; instances running side by
    /// side use names of their own and share calls with `StasisBroadcast`
    /// and `/events/claim`.
    pub apps: Vec<String>,
    /// Receive every event of the system, not only those of the apps' objects.
    pub subscribe_all: bool,
    /// Transport for REST requests.
    pub rest_transport: RestTransport,
    /// How long a request may wait for its answer, queueing included.
    pub request_timeout: Duration,
    /// Most requests on the wire at once; more wait in order.
    pub max_in_flight: usize,
    /// Reconnect schedule of the events WebSocket.
    pub backoff: BackoffConfig,
    /// How long the TCP connection, TLS and WebSocket upgrade together may
    /// take before the attempt is abandoned and the next one scheduled.
    pub connect_timeout: Duration,
    /// How often an idle events WebSocket is pinged (`None`: never).
    pub ping_interval: Option<Duration>,
    /// How long an open events WebSocket may bring nothing (no event, ping
    /// or pong) before it is taken for dead and replaced.
    pub idle_timeout: Duration,
    /// Seed of the random source (jitter, generated ids). Set it to replay a run.
    pub seed: u64,
    /// Ask `GET /asterisk/info` each time the events WebSocket opens, and
    /// report the connection open once the answer came, so that operations
    /// the server's release lacks fail locally from the first request on.
    /// On by default; a user who may not read it still connects.
    pub learn_server_version: bool,
}

impl Config {
    /// A configuration for `base_url` (`http://host:8088`, optionally with a
    /// path prefix), one application and Basic credentials; the rest default.
    pub fn new(
        base_url: &str,
        app: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Config, ConfigError> {
        let base = BaseUrl::parse(base_url)?;
        Ok(Config {
            base,
            base_url: base_url.to_string(),
            username: username.into(),
            password: Secret::new(password),
            auth: AuthMode::Basic,
            apps: vec![app.into()],
            subscribe_all: false,
            rest_transport: RestTransport::Http,
            request_timeout: Duration::from_secs(10),
            max_in_flight: 64,
            backoff: BackoffConfig::default(),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(15)),
            idle_timeout: Duration::from_secs(40),
            seed: proto_common::random_seed(),
            learn_server_version: true,
        })
    }

    /// Whether an `Authorization` header Asterisk sent when it opened an
    /// outbound WebSocket to the application carries this configuration's
    /// user name and password (HTTP Basic). Compared in constant time.
    pub fn accepts_credentials(&self, authorization: Option<&[u8]>) -> bool {
        let expected = basic_auth_value(&self.username, self.password.expose());
        let Some(given) = authorization else {
            return false;
        };
        let given = given.trim_ascii();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected.as_bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.apps.is_empty() || self.apps.iter().any(|a| a.is_empty()) {
            return Err(ConfigError::NoApplication);
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::Setting("max_in_flight must be at least 1"));
        }
        if !(self.backoff.multiplier >= 1.0 && self.backoff.multiplier.is_finite()) {
            return Err(ConfigError::Setting(
                "backoff.multiplier must be a finite number >= 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.backoff.jitter) {
            return Err(ConfigError::Setting("backoff.jitter must be within 0..=1"));
        }
        // Larger values would overflow `Instant` arithmetic and mean nothing.
        const DAY: Duration = Duration::from_secs(86_400);
        let durations = [
            Some(self.request_timeout),
            Some(self.backoff.max),
            Some(self.connect_timeout),
            Some(self.idle_timeout),
            self.ping_interval,
        ];
        if durations.into_iter().flatten().any(|d| d > DAY) {
            return Err(ConfigError::Setting(
                "timeouts, intervals and backoff.max must be at most a day",
            ));
        }
        if self.connect_timeout.is_zero() || self.idle_timeout.is_zero() {
            return Err(ConfigError::Setting(
                "connect_timeout and idle_timeout must be above zero",
            ));
        }
        if self
            .ping_interval
            .is_some_and(|p| p.is_zero() || p >= self.idle_timeout)
        {
            return Err(ConfigError::Setting(
                "ping_interval must be above zero and below idle_timeout",
            ));
        }
        if self.backoff.initial > self.backoff.max {
            return Err(ConfigError::Setting(
                "backoff.initial must not exceed backoff.max",
            ));
        }
        Ok(())
    }
}

/// `base64` of `user:password` for HTTP Basic.
pub(crate) fn basic_auth_value(user: &str, password: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let bytes = input.as_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_matches_rfc_7617_example() {
        assert_eq!(
            basic_auth_value("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_auth_value("a", "b"), "Basic YTpi");
        assert_eq!(basic_auth_value("ab", "c"), "Basic YWI6Yw==");
    }

    #[test]
    fn outbound_credentials_must_match_exactly() {
        let config = Config::new("http://localhost:8088", "ows-app", "ows", "ows-secret").unwrap();
        let right = basic_auth_value("ows", "ows-secret");
        assert!(config.accepts_credentials(Some(right.as_bytes())));
        assert!(!config.accepts_credentials(None));
        for wrong in [
            basic_auth_value("ows", "ows-secreT"),
            basic_auth_value("ows", "ows-secret2"),
            basic_auth_value("other", "ows-secret"),
            "Basic".into(),
            String::new(),
        ] {
            assert!(
                !config.accepts_credentials(Some(wrong.as_bytes())),
                "{wrong}"
            );
        }
    }

    #[test]
    fn base_urls() {
        let b = BaseUrl::parse("http://localhost:8088").unwrap();
        assert_eq!(
            (b.tls, b.authority.as_str(), b.prefix.as_str()),
            (false, "localhost:8088", "")
        );
        let b = BaseUrl::parse("https://pbx.example/asterisk/ari/").unwrap();
        assert_eq!((b.tls, b.prefix.as_str()), (true, "/asterisk"));
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("http://u:p@x").is_err());
        assert!(BaseUrl::parse("not a url").is_err());
    }

    #[test]
    fn absurd_durations_are_refused() {
        let mut c = Config::new("http://localhost:8088", "app", "u", "p").unwrap();
        c.request_timeout = Duration::MAX;
        assert!(c.validate().is_err());
        let mut c = Config::new("http://localhost:8088", "app", "u", "p").unwrap();
        c.backoff.max = Duration::from_secs(200_000);
        assert!(c.validate().is_err());
        let mut c = Config::new("http://localhost:8088", "app", "u", "p").unwrap();
        c.max_in_flight = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Config::new("http://localhost:8088", "app", "user", "hunter2").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user"));
    }
}
