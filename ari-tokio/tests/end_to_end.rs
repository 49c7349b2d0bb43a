//! The adapter over real loopback sockets against the fake Asterisk.

/// The example itself, run against the recorded call.
#[path = "../examples/hello_world.rs"]
#[allow(dead_code)]
mod example;

use testkit::suite::{faults, framework, hello_world, scenarios};

use ari_client::rustls;
use ari_tokio::TokioRuntime;
use conformance::{FakeAsterisk, ServeOptions};
use futures_util::io::AsyncReadExt;
use std::net::SocketAddr;
use std::sync::Arc;

#[tokio::test(flavor = "current_thread")]
async fn hello_world_call_completes_the_trace() {
    hello_world::against_recorded_call(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_credentials_fail_to_connect() {
    let trace = conformance::bundled_trace("hello-world.jsonl").unwrap();
    let fake = FakeAsterisk::start(trace, ServeOptions::default()).unwrap();
    let config = ari_tokio::Config::new(&fake.base_url(), "hello", "asterisk", "nope").unwrap();
    let err = ari_tokio::connect(config).await.expect_err("refused");
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_demo_replays_the_recorded_call() {
    let demo = testkit::demo::Demo::replay("hello").unwrap();
    let client = ari_tokio::connect(demo.config()).await.unwrap();
    client.serve_calls(|c| async move { example::hello(c).await.unwrap() });
    demo.run(&client).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn reconnects_after_a_close_frame() {
    faults::reconnects(TokioRuntime::current(), true, 0).await;
}

#[tokio::test(flavor = "current_thread")]
async fn reconnects_after_a_drop_and_refusals() {
    faults::reconnects(TokioRuntime::current(), false, 2).await;
}

#[tokio::test(flavor = "current_thread")]
async fn server_errors_are_typed() {
    faults::server_errors_are_typed(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn slow_answers_time_out() {
    faults::slow_answers_time_out(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn bad_frames_do_not_stop_events() {
    faults::bad_frames_do_not_stop_events(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn requests_are_answered_during_a_flood() {
    faults::requests_are_answered_during_a_flood(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_stopped_consumer_is_told_it_lagged() {
    faults::a_stopped_consumer_is_told_it_lagged(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_call_framework_serves_the_recorded_call() {
    framework::against_recorded_call(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn every_scenario_completes_its_trace() {
    let failed = scenarios::run_all(ari_tokio::connect).await;
    assert!(failed.is_empty(), "{failed:#?}");
}

// https and wss through rustls: the recorded call through a TLS proxy in
// front of the fake Asterisk, trusting the proxy's own certificate.

/// A TLS-terminating proxy to `backend`; returns its address and certificate.
async fn tls_proxy(
    backend: SocketAddr,
) -> (SocketAddr, rustls::pki_types::CertificateDer<'static>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = generated.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(ari_tokio::Compat::from(tcp)).await else {
                    return;
                };
                let Ok(back) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let (tls_r, mut tls_w) = tls.split();
                let (back_r, mut back_w) = ari_tokio::Compat::from(back).split();
                let up = futures_util::io::copy(tls_r, &mut back_w);
                let down = futures_util::io::copy(back_r, &mut tls_w);
                let _ = futures_util::future::join(up, down).await;
            });
        }
    });
    (addr, cert)
}

/// Client TLS settings that trust `cert` alone.
fn trusting(cert: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(tls)
}

#[tokio::test(flavor = "current_thread")]
async fn the_call_over_https_and_wss() {
    let (fake, _) = hello_world::serve_recorded_call(Default::default());
    let (proxy, cert) = tls_proxy(fake.addr()).await;
    let config = ari_proto::Config::new(
        &format!("https://localhost:{}", proxy.port()),
        "hello",
        "asterisk",
        "asterisk",
    )
    .unwrap();
    let runtime = ari_tokio::TokioRuntime(tokio::runtime::Handle::current());
    let client = ari_client::Client::connect_with_tls(runtime, config, trusting(cert))
        .await
        .unwrap();
    let log = hello_world::hello_world(&client).await.unwrap();
    client.close().await;
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?} {log:?}"
    );

    // The default roots do not trust a self-signed certificate.
    let (fake, _) = hello_world::serve_recorded_call(Default::default());
    let (proxy, _) = tls_proxy(fake.addr()).await;
    let config = ari_proto::Config::new(
        &format!("https://localhost:{}", proxy.port()),
        "hello",
        "asterisk",
        "asterisk",
    )
    .unwrap();
    let err = ari_tokio::connect(config)
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn pings_are_answered() {
    faults::pings_are_answered(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_upgrade_times_out() {
    faults::a_stalled_upgrade_times_out(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_silent_socket_is_replaced() {
    faults::a_silent_socket_is_replaced(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn given_up_requests_close_their_connections() {
    faults::given_up_requests_close_their_connections(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_logins_as_recorded() {
    testkit::suite::ami::logins_as_recorded(ari_tokio::ami::connect).await;
}

/// The recorded logins again over AMI's TLS listener: each connection
/// through a TLS proxy in front of the fake, trusted by its certificate.
#[tokio::test(flavor = "current_thread")]
async fn ami_logins_over_tls() {
    testkit::suite::ami::logins_as_recorded(|mut config: ari_tokio::ami::Config| async move {
        let backend = format!("{}:{}", config.host, config.port).parse().unwrap();
        let (proxy, cert) = tls_proxy(backend).await;
        config.host = "localhost".into();
        config.port = proxy.port();
        config.tls = true;
        let runtime = TokioRuntime::current();
        ari_tokio::ami::AmiClient::connect_with_tls(runtime, config, trusting(cert)).await
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_event_lists_as_recorded() {
    testkit::suite::ami::event_lists_as_recorded(ari_tokio::ami::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_every_trace_plays_as_recorded() {
    testkit::suite::ami::every_trace_plays_as_recorded(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_slow_delivery_changes_nothing() {
    testkit::suite::ami::slow_delivery_changes_nothing(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_garbage_is_survived() {
    use conformance::Garbage;
    for garbage in [Garbage::NotAField, Garbage::NotUtf8, Garbage::TooLong(8192)] {
        testkit::suite::ami::garbage_is_survived(TokioRuntime::current(), garbage).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn ami_a_close_mid_message_fails_the_pending_action_and_reconnects() {
    testkit::suite::ami::a_close_mid_message_fails_the_pending_action_and_reconnects(
        TokioRuntime::current(),
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_a_refused_first_connection_fails_connect() {
    testkit::suite::ami::a_refused_first_connection_fails_connect(ari_tokio::ami::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_later_refusals_are_retried_with_backoff() {
    testkit::suite::ami::later_refusals_are_retried_with_backoff(TokioRuntime::current()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn ami_a_stalled_connection_is_found_by_the_ping() {
    testkit::suite::ami::a_stalled_connection_is_found_by_the_ping(TokioRuntime::current()).await;
}
