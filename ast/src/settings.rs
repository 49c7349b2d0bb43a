//! Connection settings, from options or the environment. Passwords are
//! kept out of every message: errors name the setting, never its value.

use crate::Failure;
use crate::args::Args;
use std::time::Duration;

/// An environment variable, unless unset or empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The first of an option and environment variables that is set.
fn pick(args: &Args, option: &str, vars: &[&str]) -> Option<String> {
    args.value(option)
        .map(str::to_string)
        .or_else(|| vars.iter().find_map(|v| env(v)))
}

/// Where and as whom to reach ARI.
pub struct Ari {
    /// Base URL, `http://host:8088`.
    pub url: String,
    user: String,
    password: String,
    /// Stasis applications.
    pub apps: Vec<String>,
    /// A PEM file of the certificates to trust for https://, instead of
    /// the webpki roots.
    ca: Option<String>,
    /// The option naming it (`--ca`, `--ari-ca`), for messages.
    ca_option: String,
}

/// The ARI options of a command; `prefix` is `""` (`--url`) or `"ari-"`
/// (`--ari-url`, where AMI options sit beside them).
pub const ARI_OPTIONS: &[&str] = &["url", "user", "password", "app", "ca"];

/// The ARI options with a prefix, for commands that take AMI's too.
pub const ARI_PREFIXED: &[&str] = &["ari-url", "ari-user", "ari-password", "ari-ca"];

impl Ari {
    /// From `--{prefix}url`, `--{prefix}user`, `--{prefix}password`,
    /// `--{prefix}ca`, `--app` and `ARI_URL`, `ARI_USER`, `ARI_PASSWORD`,
    /// `ARI_CA`, `ARI_APP`.
    pub fn from(args: &Args, prefix: &str) -> Result<Ari, Failure> {
        let url = pick(args, &format!("{prefix}url"), &["ARI_URL"])
            .unwrap_or_else(|| "http://localhost:8088".into());
        let user = pick(args, &format!("{prefix}user"), &["ARI_USER"]).ok_or_else(|| {
            Failure::usage(format!("no ARI user: set ARI_USER or give --{prefix}user"))
        })?;
        let password =
            pick(args, &format!("{prefix}password"), &["ARI_PASSWORD"]).ok_or_else(|| {
                Failure::usage(format!(
                    "no ARI password: set ARI_PASSWORD or give --{prefix}password"
                ))
            })?;
        let mut apps = args.list("app");
        if apps.is_empty() {
            apps = env("ARI_APP")
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_else(|| vec!["ast".into()]);
        }
        Ok(Ari {
            url,
            user,
            password,
            apps,
            ca: pick(args, &format!("{prefix}ca"), &["ARI_CA"]),
            ca_option: format!("--{prefix}ca"),
        })
    }

    /// The TLS settings for https://: rustls (ring) trusting the webpki
    /// roots, or only the certificates of the `--ca` file.
    pub fn tls(&self) -> Result<ari_tokio::TlsConfig, Failure> {
        use futures_rustls::rustls::{self, pki_types::CertificateDer, pki_types::pem::PemObject};
        let Some(path) = &self.ca else {
            return ari_tokio::default_tls_config().map_err(Failure::failed);
        };
        let bad = |why: String| Failure::usage(format!("{} {path}: {why}", self.ca_option));
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no PEM certificate in it".into()));
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::failed(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(std::sync::Arc::new(config))
    }

    /// A failure's words, saying how to trust the server when its
    /// certificate was refused.
    pub fn explain(&self, why: impl std::fmt::Display) -> String {
        let why = why.to_string();
        if !why.contains("invalid peer certificate") {
            return why;
        }
        if why.contains("CaUsedAsEndEntity") {
            // `openssl req -x509` marks its self-signed certificates CA:TRUE.
            return format!(
                "{why} (the server's own certificate is a CA's, which rustls refuses: \
                 serve one signed by it, e.g. from Asterisk's contrib/scripts/ast_tls_cert)"
            );
        }
        match &self.ca {
            None => format!(
                "{why} (trust its CA or certificate with {} FILE or ARI_CA)",
                self.ca_option
            ),
            Some(path) => format!("{why} (trusting only {path})"),
        }
    }

    /// Whether ARI settings are in the environment or the options.
    pub fn given(args: &Args, prefix: &str) -> bool {
        pick(args, &format!("{prefix}url"), &["ARI_URL"]).is_some()
    }

    /// The client configuration for `apps`.
    pub fn config(&self, apps: &[String]) -> Result<ari_proto::Config, Failure> {
        let first = apps.first().cloned().unwrap_or_else(|| "ast".into());
        let mut config = ari_proto::Config::new(&self.url, first, &self.user, &self.password)
            .map_err(|e| Failure::usage(e.to_string()))?;
        config.apps = apps.to_vec();
        Ok(config)
    }
}

/// Where and as whom to reach AMI.
pub struct Ami {
    /// `host:port`, `tcp://...` or `tls://...`.
    pub address: String,
    user: String,
    secret: String,
    auth: ami_proto::LoginAuth,
}

/// The AMI options of a command.
pub const AMI_OPTIONS: &[&str] = &["url", "user", "secret", "auth"];

/// The AMI options with a prefix, for commands that take ARI's too.
pub const AMI_PREFIXED: &[&str] = &["ami-url", "ami-user", "ami-secret", "ami-auth"];

impl Ami {
    /// From `--{prefix}url`, `--{prefix}user`, `--{prefix}secret`,
    /// `--{prefix}auth` and `AMI_URL` (or `AMI_ADDR`), `AMI_USER`,
    /// `AMI_SECRET`, `AMI_AUTH`.
    pub fn from(args: &Args, prefix: &str) -> Result<Ami, Failure> {
        let address = pick(args, &format!("{prefix}url"), &["AMI_URL", "AMI_ADDR"])
            .unwrap_or_else(|| "localhost:5038".into());
        let user = pick(args, &format!("{prefix}user"), &["AMI_USER"]).ok_or_else(|| {
            Failure::usage(format!("no AMI user: set AMI_USER or give --{prefix}user"))
        })?;
        let secret = pick(args, &format!("{prefix}secret"), &["AMI_SECRET"]).ok_or_else(|| {
            Failure::usage(format!(
                "no AMI secret: set AMI_SECRET or give --{prefix}secret"
            ))
        })?;
        let auth = match pick(args, &format!("{prefix}auth"), &["AMI_AUTH"]).as_deref() {
            None | Some("md5") => ami_proto::LoginAuth::Challenge,
            Some("plain") => ami_proto::LoginAuth::Plain,
            Some(other) => {
                return Err(Failure::usage(format!(
                    "--{prefix}auth is md5 or plain, not {other:?}"
                )));
            }
        };
        Ok(Ami {
            address,
            user,
            secret,
            auth,
        })
    }

    /// Whether AMI settings are in the environment or the options.
    pub fn given(args: &Args, prefix: &str) -> bool {
        pick(args, &format!("{prefix}url"), &["AMI_URL", "AMI_ADDR"]).is_some()
    }

    /// The client configuration receiving `events`. The session asks
    /// nothing on its own (no `CoreSettings`), so that what it sends is
    /// exactly what the command does.
    pub fn config(
        &self,
        events: ami_proto::EventMask,
        keepalive: bool,
    ) -> Result<ami_proto::Config, Failure> {
        let mut config = ami_proto::Config::new(&self.address, &self.user, &self.secret)
            .map_err(|e| Failure::usage(e.to_string()))?;
        config.auth = self.auth;
        config.events = events;
        config.learn_server_version = false;
        if !keepalive {
            config.ping_interval = None;
        }
        config.request_timeout = Duration::from_secs(30);
        // The ActionID prefix comes from the seed: it must differ between
        // processes (Asterisk sends an OriginateResponse to every session).
        config.seed = process_seed();
        Ok(config)
    }
}

/// A seed of this process's own: std's per-process hash keys, the process
/// id and the time.
fn process_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    RandomState::new().hash_one((std::process::id(), now.as_nanos()))
}

/// An `Events:` value: `on`, `off`, or classes (`call,system`).
pub fn event_mask(value: &str) -> ami_proto::EventMask {
    match value {
        "on" | "all" => ami_proto::EventMask::All,
        "off" | "none" => ami_proto::EventMask::Off,
        classes => ami_proto::EventMask::Classes(classes.split(',').map(str::to_string).collect()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_client_gets_its_own_seed() {
        assert_ne!(super::process_seed(), super::process_seed());
    }
}
