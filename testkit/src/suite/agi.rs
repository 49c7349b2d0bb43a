//! The FastAGI server through an adapter, against every recorded FastAGI
//! connection: conformance's player plays Asterisk's side (the
//! environment, then each recorded reply), a handler plays the recorded
//! script's side through [`Agi`], and what the server wrote must be what
//! the recorded script wrote, byte for byte.

use crate::agi_demo::blocking;
use ari_client::Runtime;
use ari_client::agi::{Agi, CommandError, FastAgiServer, RawCommand, Routes, ServerConfig};
use conformance::agi_check::AgiTrace;
use conformance::agi_serve::{AgiPlayOptions, play_all, recorded_commands};
use std::sync::{Arc, Mutex};

/// Every bundled FastAGI trace (the quickstart's included), each
/// connection in turn. Returns the number of commands matched.
pub async fn every_trace_is_served_as_recorded<R: Runtime>(runtime: R) -> usize {
    let (mut matched, mut too_long) = (0, 0);
    for path in conformance::agi_check::bundled_agi_traces() {
        let Ok(trace) = AgiTrace::read(&path) else {
            continue; // the AsyncAGI trace is AMI's
        };
        let trace = Arc::new(trace);
        let refused = Arc::new(Mutex::new(Vec::new()));
        let script = {
            let (trace, refused) = (trace.clone(), refused.clone());
            move |agi: Agi| play_script(agi, trace.clone(), refused.clone())
        };
        let server = FastAgiServer::start(
            runtime.clone(),
            "127.0.0.1:0".parse().unwrap(),
            ServerConfig::default(),
            Routes::new().fallback(script),
        )
        .unwrap();
        let address = server.address();
        let played = trace.clone();
        let reports =
            blocking(move || play_all(&played, address, &AgiPlayOptions::default())).await;
        let refused = refused.lock().unwrap().clone();
        too_long += refused.iter().filter(|(_, _, dead)| !dead).count();
        for report in &reports {
            matched += report.matched;
            if report.is_clean() {
                continue;
            }
            // Only from a command the session refuses on may the exchange
            // differ: the 9,019-byte line of agi-errors, longer than
            // Asterisk reads as one (it answered it twice, so every recorded
            // reply after it belongs one command later), and commands sent
            // after a hangup that Asterisk refuses on a dead channel (511):
            // the session does not send them.
            let first_refused = refused
                .iter()
                .filter(|(conn, _, _)| *conn == report.conn)
                .map(|(_, n, _)| *n)
                .min();
            let Some(first_refused) = first_refused else {
                panic!("{}: {report}", path.display());
            };
            assert!(
                report.mismatches.iter().all(|m| m.command >= first_refused),
                "{}: {report}",
                path.display()
            );
        }
        drop(server);
    }
    assert_eq!(too_long, 1, "only agi-errors' 9,019-byte line is too long");
    matched
}

/// The recorded script of the connection whose environment this is: each
/// recorded command as written, its reply taken (errors included, as the
/// recorded script did).
async fn play_script(
    agi: Agi,
    trace: Arc<AgiTrace>,
    refused: Arc<Mutex<Vec<(String, usize, bool)>>>,
) -> ari_client::agi::HandlerResult {
    let env = agi.request().encode();
    let conn = trace
        .connections()
        .into_iter()
        .find(|conn| {
            trace.records.iter().any(|r| {
                r.conn == *conn
                    && matches!(&r.kind, conformance::agi_check::AgiKind::Recv(b) if *b == env)
            })
        })
        .ok_or("no recorded connection has this environment")?;
    for (i, line) in recorded_commands(&trace, &conn).into_iter().enumerate() {
        match agi.send_raw_reply(&RawCommand::new(line)).await {
            Ok(_) => {}
            Err(CommandError::Encode(_)) => {
                refused.lock().unwrap().push((conn.clone(), i + 1, false))
            }
            Err(CommandError::DeadChannel { .. }) => {
                assert!(agi.is_hung_up());
                refused.lock().unwrap().push((conn.clone(), i + 1, true));
            }
            // Asterisk closed (AGIEXITONHANGUP): as the recorded script saw.
            Err(_) => break,
        }
    }
    Ok(())
}

/// A handler's error, and a script no route serves, are told to Asterisk
/// (`VERBOSE`, on its console) before the session ends.
pub async fn failures_are_told_to_asterisk<R: Runtime>(runtime: R) {
    let path = conformance::bundled_agi_trace("fastagi-quickstart.jsonl");
    let trace = Arc::new(AgiTrace::read(&path).unwrap());
    let cases = [
        (
            Routes::new().at("test", |_agi| async { Err("boom".into()) }),
            "VERBOSE \"FastAGI handler failed: boom\" 1\n",
        ),
        (
            Routes::new().at("other", |_agi| async { Ok(()) }),
            "VERBOSE \"FastAGI handler failed: no FastAGI script \\\"test\\\" here\" 1\n",
        ),
    ];
    for (routes, told) in cases {
        let server = FastAgiServer::start(
            runtime.clone(),
            "127.0.0.1:0".parse().unwrap(),
            ServerConfig::default(),
            routes,
        )
        .unwrap();
        let (address, played) = (server.address(), trace.clone());
        let reports =
            blocking(move || play_all(&played, address, &AgiPlayOptions::default())).await;
        let first = &reports[0].mismatches[0];
        assert_eq!(first.command, 1);
        assert_eq!(String::from_utf8_lossy(&first.received), told);
        assert!(reports[0].server_closed, "{}", reports[0]);
    }
}
