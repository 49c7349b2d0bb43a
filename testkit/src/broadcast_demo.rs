//! What the `broadcast_pool` examples need besides their instances: calls
//! to share. With `ARI_URL` set they come from a real Asterisk, dialled
//! into its `bcast` extension (`StasisBroadcast` to every app named
//! `bcast-...`, see `../shared/asterisk`); without, the
//! [`BroadcastServer`] fake offers them on loopback. Either way the
//! instances are Stasis apps `bcast-pool-NAME`, and [`PoolDemo::run`]
//! brings the calls, waits until each was served or went unclaimed, and
//! reports the spread.

use crate::broadcast_server::{BroadcastReport, BroadcastServer, Pace};
use ari_client::{BroadcastStats, Client};
use ari_proto::Config;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shared Asterisk's dialplan gives 3 s to claim; so does the fake.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the calls come from.
pub enum PoolDemo {
    /// A real Asterisk, from `ARI_URL`, `ARI_USER` and `ARI_PASSWORD`.
    Live {
        /// `ARI_URL`.
        url: String,
        /// `ARI_USER`.
        user: String,
        /// `ARI_PASSWORD`.
        password: String,
    },
    /// The broadcast fake on loopback.
    Fake(Arc<BroadcastServer>),
}

/// How the calls of one run went.
#[derive(Debug, Clone, Default)]
pub struct PoolReport {
    /// Calls brought.
    pub calls: usize,
    /// Per instance: its name and what its `BroadcastStats` said at the end
    /// (offered, declined, won, lost, served).
    pub instances: Vec<(String, [u64; 5])>,
    /// With the fake: what it saw.
    pub fake: Option<BroadcastReport>,
    /// With the fake: each won call's caller number and winning app.
    pub winners: Vec<(String, String)>,
}

impl PoolReport {
    /// Calls the instances served, together.
    pub fn served(&self) -> u64 {
        self.instances.iter().map(|(_, s)| s[4]).sum()
    }
}

impl fmt::Display for PoolReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, [offered, declined, won, lost, served]) in &self.instances {
            writeln!(
                f,
                "{name}: offered {offered}, declined {declined}, won {won}, lost {lost}, served {served}"
            )?;
        }
        let spread: Vec<String> = self
            .instances
            .iter()
            .map(|(name, s)| format!("{name} {}", s[4]))
            .collect();
        write!(
            f,
            "{} calls, {} served: {}",
            self.calls,
            self.served(),
            spread.join(", ")
        )?;
        if let Some(fake) = &self.fake {
            write!(
                f,
                "\nfake Asterisk: {} offered, {} won, {} unclaimed, {} hung up, {} claims answered",
                fake.offered,
                fake.won(),
                fake.unclaimed,
                fake.hung_up,
                fake.claims()
            )?;
        }
        Ok(())
    }
}

impl PoolDemo {
    /// A real Asterisk if `ARI_URL` is set, else the fake.
    pub fn from_env() -> Result<PoolDemo, Box<dyn Error>> {
        if let Ok(url) = std::env::var("ARI_URL") {
            let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
            let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
            println!("sharing the calls into `bcast` of the Asterisk at {url}");
            return Ok(PoolDemo::Live {
                url,
                user,
                password,
            });
        }
        PoolDemo::fake()
    }

    /// The fake, whatever the environment says.
    pub fn fake() -> Result<PoolDemo, Box<dyn Error>> {
        let server = BroadcastServer::start("bcast-", CLAIM_TIMEOUT)?;
        println!(
            "No ARI_URL: calls offered by a fake Asterisk at {}",
            server.base_url()
        );
        Ok(PoolDemo::Fake(Arc::new(server)))
    }

    /// The configuration of instance `name`: Stasis app `bcast-pool-NAME`.
    pub fn config(&self, name: &str) -> Result<Config, Box<dyn Error>> {
        let app = format!("bcast-pool-{name}");
        Ok(match self {
            PoolDemo::Live {
                url,
                user,
                password,
            } => Config::new(url, &app, user, password)?,
            PoolDemo::Fake(server) => Config::new(&server.base_url(), &app, "demo", "demo")?,
        })
    }

    /// Brings `calls` calls, `per_second` of them a second, with caller
    /// numbers 5550000, 5550001, ...: the fake offers them; a real Asterisk
    /// gets them dialled into `bcast` through `caller` (any connected
    /// client). Then waits until every call was served by `pool` (each
    /// instance's name and stats) or could no longer be, and reports.
    pub async fn run(
        &self,
        caller: &Client,
        pool: &[(&str, Arc<BroadcastStats>)],
        calls: usize,
        per_second: f64,
    ) -> Result<PoolReport, String> {
        let served = || pool.iter().map(|(_, s)| s.served()).sum::<u64>() as usize;
        let mut report = PoolReport {
            calls,
            ..PoolReport::default()
        };
        match self {
            PoolDemo::Fake(server) => {
                server.offer_calls(calls, Pace::PerSecond(per_second), pool.len());
                let waiting = server.clone();
                let limit = Duration::from_secs_f64(calls as f64 / per_second) + 2 * CLAIM_TIMEOUT;
                let fake =
                    crate::agi_demo::blocking(move || waiting.wait_settled(calls, limit)).await?;
                // A handler counts as served once it has returned, just
                // after its hangup was answered.
                let give_up = Instant::now() + Duration::from_secs(5);
                while served() < fake.hung_up && Instant::now() < give_up {
                    pause(Duration::from_millis(5)).await;
                }
                report.winners = server.winners();
                report.fake = Some(server.report());
            }
            PoolDemo::Live { .. } => {
                for i in 0..calls {
                    dial(caller, &format!("{}", 5_550_000 + i)).await?;
                    pause(Duration::from_secs_f64(1.0 / per_second)).await;
                }
                // A call nobody claims fails after the claim timeout.
                let give_up = Instant::now() + CLAIM_TIMEOUT + Duration::from_secs(30);
                while served() < calls && Instant::now() < give_up {
                    pause(Duration::from_millis(50)).await;
                }
            }
        }
        report.instances = pool
            .iter()
            .map(|(name, s)| {
                let counts = [s.offered(), s.declined(), s.won(), s.lost(), s.served()];
                (name.to_string(), counts)
            })
            .collect();
        Ok(report)
    }
}

/// Dials `PJSIP/bcast@loop` with caller number `number`; the other leg
/// waits in the `wait` extension.
async fn dial(caller: &Client, number: &str) -> Result<(), String> {
    caller
        .channels()
        .originate("PJSIP/bcast@loop")
        .with(|o| {
            o.extension("wait")
                .context("default")
                .priority(1)
                .caller_id(format!("Pool <{number}>"))
        })
        .await
        .map(drop)
        .map_err(|e| format!("originate: {e}"))
}

/// Sleeps `d` on a thread of its own, whatever the runtime.
async fn pause(d: Duration) {
    crate::agi_demo::blocking(move || std::thread::sleep(d)).await
}

/// What the examples' tests require of a run against the fake (panics
/// otherwise): `calls` calls offered, each won once and served once, none
/// unclaimed, and none from an odd caller number won by `b` (whose policy
/// declines those).
pub fn check_shared_once(report: &PoolReport, calls: usize) {
    let fake = report.fake.as_ref().expect("a run against the fake");
    assert_eq!(
        (fake.offered, fake.won(), fake.unclaimed, fake.hung_up),
        (calls, calls as u64, 0, calls),
        "{report}"
    );
    assert_eq!(report.served(), calls as u64, "{report}");
    let won: u64 = report.instances.iter().map(|(_, s)| s[2]).sum();
    assert_eq!(won, calls as u64, "{report}");
    let mut numbers: Vec<&str> = report.winners.iter().map(|(n, _)| n.as_str()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), calls, "each call won once: {report:?}");
    for (number, app) in &report.winners {
        let odd = number.ends_with(['1', '3', '5', '7', '9']);
        assert!(!(odd && app == "bcast-pool-b"), "b took {number}");
    }
}
