//! The outbound WebSocket server through an adapter, against a fake
//! Asterisk that connects to it as Asterisk does (Basic credentials,
//! subprotocol `ari`), sends `ApplicationRegistered` and a call's
//! `StasisStart`, answers each `RESTRequest` frame, and ends the call.

use crate::agi_demo::blocking;
use ari_client::Runtime;
use ari_client::outbound::OutboundServer;
use ari_proto::Config;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::{self, Message};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

const APP: &str = "ows-app";

/// The outbound app's configuration: app `ows-app`, user `ows`, password
/// `ows-secret`.
pub fn config() -> Config {
    Config::new("http://unused", APP, "ows", "ows-secret").unwrap()
}

type FakeSocket = tungstenite::WebSocket<TcpStream>;

/// Opens an outbound WebSocket to `server` as Asterisk would, with these
/// credentials and subprotocol; the refusal's status if refused.
fn connect_as_asterisk(
    server: SocketAddr,
    user: &str,
    password: &str,
    subprotocol: Option<&str>,
) -> Result<FakeSocket, u16> {
    let tcp = TcpStream::connect(server).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    upgrade_as_asterisk(tcp, server, user, password, subprotocol)
}

/// The upgrade Asterisk sends, over `stream` (plain, or TLS the caller set
/// up); the refusal's status if refused.
pub fn upgrade_as_asterisk<S: Read + Write>(
    stream: S,
    server: SocketAddr,
    user: &str,
    password: &str,
    subprotocol: Option<&str>,
) -> Result<tungstenite::WebSocket<S>, u16> {
    let tcp = stream;
    let mut request = format!("ws://{server}/ari").into_client_request().unwrap();
    let credentials = conformance::test_client::basic((user, password));
    let headers = request.headers_mut();
    headers.insert("Authorization", credentials.parse().unwrap());
    if let Some(p) = subprotocol {
        headers.insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    match tungstenite::client(request, tcp) {
        Ok((ws, response)) => {
            let chosen = response.headers().get("Sec-WebSocket-Protocol");
            assert_eq!(chosen.and_then(|v| v.to_str().ok()), Some("ari"));
            Ok(ws)
        }
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Err(r.status().as_u16())
        }
        Err(e) => panic!("handshake: {e}"),
    }
}

/// A recorded `StasisStart`, for channel `id` in the outbound app.
fn stasis_start(id: &str) -> String {
    let text = include_str!("../../../conformance/traces/hello-world.jsonl");
    let mut start: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "ws_recv")
        .map(|r| serde_json::from_str::<Value>(r["text"].as_str().unwrap()).unwrap())
        .find(|e| e["type"] == "StasisStart")
        .unwrap();
    start["channel"]["id"] = json!(id);
    start["application"] = json!(APP);
    start.to_string()
}

fn event(kind: &str, channel: &str) -> String {
    let mut e: Value = serde_json::from_str(&stasis_start(channel)).unwrap();
    e["type"] = json!(kind);
    e.as_object_mut().unwrap().remove("args");
    e.to_string()
}

/// Plays Asterisk's side of one call on `ws`: registers the app, starts
/// the call, answers every request (`POST channels/ID/answer` with 204,
/// `GET asterisk/info` with a 22.10.1 system), ends the call once it was
/// answered, and closes. Returns the requests' method and URI, in order.
pub fn play_one_call<S: Read + Write>(
    mut ws: tungstenite::WebSocket<S>,
    channel: &str,
) -> Vec<String> {
    let registered = json!({"type": "ApplicationRegistered", "application": APP,
        "timestamp": "2026-12-05T12:00:00.000+0000", "asterisk_id": "02:00:00:00:00:01"});
    ws.send(Message::text(registered.to_string())).unwrap();
    ws.send(Message::text(stasis_start(channel))).unwrap();
    let mut requests = Vec::new();
    loop {
        let text = match ws.read() {
            Ok(Message::Text(t)) => t.to_string(),
            Ok(_) => continue,
            // The close handshake completed: the server answered our close.
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("the connection ended without a close handshake: {e}"),
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(frame["type"], "RESTRequest", "{frame}");
        let (method, uri) = (
            frame["method"].as_str().unwrap(),
            frame["uri"].as_str().unwrap(),
        );
        requests.push(format!("{method} {uri}"));
        let (status, body) = match uri {
            "asterisk/info" => (
                200,
                json!({"system": {"version": "22.10.1", "entity_id": "x"}}).to_string(),
            ),
            u if u == format!("channels/{channel}/answer") => (204, String::new()),
            _ => (404, json!({"message": "Not found"}).to_string()),
        };
        let reply = json!({"type": "RESTResponse", "transaction_id": frame["transaction_id"],
            "request_id": frame["request_id"], "status_code": status, "reason_phrase": "",
            "uri": uri, "content_type": "application/json", "message_body": body,
            "application": APP, "timestamp": "2026-12-05T12:00:00.000+0000"});
        ws.send(Message::text(reply.to_string())).unwrap();
        if status == 204 {
            ws.send(Message::text(event("StasisEnd", channel))).unwrap();
            let _ = ws.close(None);
        }
    }
    requests
}

/// Three calls, each on its own connection as in per-call mode, two at
/// once: each handler answers its channel and sees the call end; every
/// connection is closed afterwards.
pub async fn calls_on_accepted_connections<R: Runtime>(runtime: R) {
    let (done_tx, done) = mpsc::channel::<(String, bool)>();
    let server = OutboundServer::serve_calls(
        runtime.clone(),
        "127.0.0.1:0".parse().unwrap(),
        config(),
        move |mut call| {
            let done_tx = done_tx.clone();
            async move {
                let answered = call.channel.answer().await.is_ok();
                while call.next().await.is_some() {}
                let _ = done_tx.send((call.channel.channel_id().to_string(), answered));
            }
        },
    )
    .unwrap();
    let address = server.address();
    let played = blocking(move || {
        let calls: Vec<_> = ["call-1", "call-2", "call-3"]
            .into_iter()
            .map(|id| {
                std::thread::spawn(move || {
                    let ws =
                        connect_as_asterisk(address, "ows", "ows-secret", Some("ari")).unwrap();
                    play_one_call(ws, id)
                })
            })
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect::<Vec<_>>()
    })
    .await;
    for (requests, id) in played.iter().zip(["call-1", "call-2", "call-3"]) {
        assert!(
            requests.contains(&format!("POST channels/{id}/answer")),
            "{requests:?}"
        );
        assert!(
            requests.contains(&"GET asterisk/info".to_string()),
            "{requests:?}"
        );
    }
    let mut ended: Vec<_> = blocking(move || {
        (0..3)
            .map(|_| {
                done.recv_timeout(Duration::from_secs(20))
                    .expect("a call ended")
            })
            .collect::<Vec<_>>()
    })
    .await;
    ended.sort();
    assert_eq!(
        ended,
        [
            ("call-1".into(), true),
            ("call-2".into(), true),
            ("call-3".into(), true)
        ]
    );
    crate::bench::wait_until(&runtime, "every connection closed", || {
        server.open_connections() == 0
    })
    .await
    .unwrap();
}

/// Wrong or missing credentials get 401 and a missing `ari` subprotocol
/// 400; neither reaches the application.
pub async fn strangers_are_refused<R: Runtime>(runtime: R) {
    let (seen_tx, seen) = mpsc::channel::<()>();
    let server = OutboundServer::start(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        config(),
        move |_client| {
            let _ = seen_tx.send(());
        },
    )
    .unwrap();
    let address = server.address();
    let refusals = blocking(move || {
        [
            connect_as_asterisk(address, "ows", "wrong", Some("ari")).err(),
            connect_as_asterisk(address, "someone", "ows-secret", Some("ari")).err(),
            connect_as_asterisk(address, "", "", Some("ari")).err(),
            connect_as_asterisk(address, "ows", "ows-secret", None).err(),
            connect_as_asterisk(address, "ows", "ows-secret", Some("chat")).err(),
        ]
    })
    .await;
    assert_eq!(
        refusals,
        [Some(401), Some(401), Some(401), Some(400), Some(400)]
    );
    assert!(
        seen.try_recv().is_err(),
        "a refused connection reached the app"
    );
}

/// Peers that connect and say nothing are closed once the connect timeout
/// passes (on the virtual clock), and a peer beyond the connection limit is
/// closed as soon as it is accepted; neither reaches the application, and
/// Asterisk is served again once room is back.
pub async fn silent_and_surplus_connections_are_closed<R: Runtime>(runtime: R) {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let time = crate::clock::VirtualTime::new(runtime);
    let real = time.runtime().clone();
    let mut config = config();
    config.connect_timeout = TIMEOUT;
    let (seen_tx, seen) = mpsc::channel::<()>();
    let server = OutboundServer::start(
        time.clone(),
        "127.0.0.1:0".parse().unwrap(),
        config,
        move |_client| {
            let _ = seen_tx.send(());
        },
    )
    .unwrap();
    server.set_max_connections(2);
    let address = server.address();
    let started = ari_client::Executor::now(&time);
    let silent = blocking(move || {
        [(); 2].map(|_| {
            let tcp = TcpStream::connect(address).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            tcp
        })
    })
    .await;
    crate::bench::wait_until(&real, "both silent peers held", || {
        server.held_connections() == 2
    })
    .await
    .unwrap();
    crate::bench::wait_until(&real, "both upgrades timed", || time.sleepers() == 2)
        .await
        .unwrap();
    assert_eq!(time.next_deadline(), Some(started + TIMEOUT));
    let surplus_closed =
        blocking(move || closed_by_server(TcpStream::connect(address).unwrap())).await;
    assert!(surplus_closed, "a connection beyond the limit was kept");
    assert_eq!(server.held_connections(), 2);

    time.advance(TIMEOUT);
    let silent_closed = blocking(move || silent.map(closed_by_server)).await;
    assert_eq!(
        silent_closed,
        [true, true],
        "silent peers outlived the timeout"
    );
    crate::bench::wait_until(&real, "no connection held", || {
        server.held_connections() == 0
    })
    .await
    .unwrap();
    assert!(seen.try_recv().is_err(), "a silent peer reached the app");

    let asterisk =
        blocking(move || connect_as_asterisk(address, "ows", "ows-secret", Some("ari")).is_ok())
            .await;
    assert!(asterisk, "Asterisk was refused once room was back");
    assert!(
        blocking(move || seen.recv_timeout(Duration::from_secs(20)).is_ok()).await,
        "Asterisk's connection did not reach the app"
    );
}

/// Whether the server closed `tcp` (end of stream or reset) rather than
/// leaving it open until the read timeout.
fn closed_by_server(mut tcp: TcpStream) -> bool {
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut byte = [0u8; 1];
    match tcp.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}
