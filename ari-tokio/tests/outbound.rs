//! Outbound WebSockets on tokio: a fake Asterisk connects to our server.

#[tokio::test]
async fn calls_on_accepted_connections() {
    testkit::suite::outbound::calls_on_accepted_connections(ari_tokio::TokioRuntime::current())
        .await;
}

#[tokio::test]
async fn strangers_are_refused() {
    testkit::suite::outbound::strangers_are_refused(ari_tokio::TokioRuntime::current()).await;
}

#[tokio::test]
async fn silent_and_surplus_connections_are_closed() {
    testkit::suite::outbound::silent_and_surplus_connections_are_closed(
        ari_tokio::TokioRuntime::current(),
    )
    .await;
}

#[path = "../examples/outbound_websocket.rs"]
#[allow(dead_code)]
mod example;

/// The example's handler against the fake Asterisk playing the recorded
/// call: every request it sends is the recorded one.
#[tokio::test]
async fn the_example_serves_the_recorded_call() {
    let config = ari_tokio::Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
    let server =
        ari_tokio::outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, |call| async {
            example::greet(call).await.expect("the call");
        })
        .unwrap();
    let mut said = Vec::new();
    testkit::demo::play_outbound_call(server.address(), |line| said.push(line))
        .await
        .unwrap();
    assert_eq!(
        said,
        [
            "fake Asterisk: connection ws1 sent 17 frames, the app's 4 requests matched the recording"
        ]
    );
}

/// `wss://`: the server speaks TLS with its certificate, and the fake
/// Asterisk (trusting that certificate) plays one call through it.
#[tokio::test]
async fn a_call_over_tls() {
    use futures_rustls::rustls;
    use std::sync::Arc;
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = generated.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    // (What `ari_tokio::outbound::listen_with_tls` does with the `tls` feature.)
    let server = ari_client::outbound::OutboundServer::start_with_tls(
        ari_tokio::TokioRuntime::current(),
        "127.0.0.1:0".parse().unwrap(),
        testkit::suite::outbound::config(),
        Arc::new(server_tls),
        move |client| {
            let done_tx = done_tx.clone();
            client.serve_calls(move |call| {
                let done_tx = done_tx.clone();
                async move {
                    let answered = call.channel.answer().await.is_ok();
                    let _ = done_tx.send(answered);
                }
            });
        },
    )
    .unwrap();
    let address = server.address();
    let requests = tokio::task::spawn_blocking(move || {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client_tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(Arc::new(client_tls), name).unwrap();
        let tcp = std::net::TcpStream::connect(address).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let tls = rustls::StreamOwned::new(connection, tcp);
        let ws = testkit::suite::outbound::upgrade_as_asterisk(
            tls,
            address,
            "ows",
            "ows-secret",
            Some("ari"),
        )
        .unwrap();
        testkit::suite::outbound::play_one_call(ws, "tls-call")
    })
    .await
    .unwrap();
    assert!(
        requests.contains(&"POST channels/tls-call/answer".to_string()),
        "{requests:?}"
    );
    assert_eq!(
        done.recv_timeout(std::time::Duration::from_secs(20)),
        Ok(true)
    );
}
