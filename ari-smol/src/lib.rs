//! An ARI client on smol. It also runs under async-std's executor.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ari_smol::{Config, ops::channels::Answer};
//! let client = ari_smol::connect(Config::new("http://localhost:8088", "hello", "asterisk", "secret")?).await?;
//! client.request(Answer::new("1795361410.9")).await?;
//! # Ok(()) }
//! ```
//!
//! `ari-tokio` has the same API: switching runtime is changing the crate name.

#![forbid(unsafe_code)]

use ari_client::{BoxFuture, Runtime};
use std::io;
use std::time::Instant;

ari_client::adapter_api!(SmolRuntime, SmolRuntime);

/// smol's global executor and reactor, as the client needs them.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

impl Runtime for SmolRuntime {
    type Tcp = smol::net::TcpStream;

    fn spawn(&self, future: BoxFuture<()>) {
        smol::spawn(future).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(async move {
            smol::Timer::at(deadline).await;
        })
    }

    fn connect(&self, host: String, port: u16) -> BoxFuture<io::Result<smol::net::TcpStream>> {
        Box::pin(async move {
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }
}
