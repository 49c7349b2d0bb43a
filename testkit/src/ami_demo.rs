//! What the AMI quickstart examples need besides their handlers: an
//! Asterisk. With `AMI_URL` set (and `AMI_USER`, `AMI_SECRET`) that is a
//! real one; without, a fake AMI server on loopback replays the recorded
//! `ami-reconnect` session: a login, `FullyBooted` and `SuccessfulAuth`, a
//! `Ping`, then Asterisk shutting down for a restart.

use ari_client::ami::{Config, LoginAuth};
use conformance::FakeAmi;
use std::error::Error;

/// Where the AMI quickstart runs.
pub enum AmiDemo {
    /// A real Asterisk.
    Live(Config),
    /// The recorded session, served on loopback.
    Replay(FakeAmi, Config),
}

impl AmiDemo {
    /// A real Asterisk if `AMI_URL` is set, else the recorded session.
    pub fn from_env() -> Result<AmiDemo, Box<dyn Error>> {
        if let Ok(url) = std::env::var("AMI_URL") {
            let user = std::env::var("AMI_USER").unwrap_or_else(|_| "admin".into());
            let secret = std::env::var("AMI_SECRET").unwrap_or_default();
            println!("managing the Asterisk at {url} as {user}");
            return Ok(AmiDemo::Live(Config::new(&url, user, secret)?));
        }
        AmiDemo::replay()
    }

    /// The recorded session, whatever the environment says.
    pub fn replay() -> Result<AmiDemo, Box<dyn Error>> {
        let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-reconnect.jsonl"))?;
        println!(
            "No AMI_URL: replaying a recorded session from a fake Asterisk at {}",
            fake.address()
        );
        // The recorded client logged in in plain text and asked for nothing
        // else; the secret is the shared test Asterisk's.
        let mut config = Config::new(&fake.address(), "admin", "amp111")?;
        config.auth = LoginAuth::Plain;
        config.learn_server_version = false;
        config.ping_interval = None;
        Ok(AmiDemo::Replay(fake, config))
    }

    /// The configuration to connect with.
    pub fn config(&self) -> Config {
        match self {
            AmiDemo::Live(config) | AmiDemo::Replay(_, config) => config.clone(),
        }
    }

    /// Stops the fake server, if any, and says whether the client sent
    /// what the recorded one did up to the shutdown.
    pub fn finish(self) -> Result<(), Box<dyn Error>> {
        let AmiDemo::Replay(fake, _) = self else {
            return Ok(());
        };
        let report = fake.finish();
        println!(
            "fake Asterisk: {} of {} recorded actions matched",
            report.matched, report.expected
        );
        // The recorded login and ping come before the shutdown; what the
        // client does after (log in again, or stop) is its own business.
        if report.matched < 2 {
            return Err(format!("the replay did not match: {:?}", report.mismatches).into());
        }
        Ok(())
    }
}
