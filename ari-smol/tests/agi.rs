//! FastAGI on smol: every recorded FastAGI connection served, and the
//! quickstart example against its recorded call.

#[path = "../examples/smol_fastagi_quickstart.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn every_recorded_connection_is_served_as_recorded() {
    let matched = smol::block_on(testkit::suite::agi::every_trace_is_served_as_recorded(
        ari_smol::SmolRuntime,
    ));
    assert!(matched > 200, "{matched}");
}

#[test]
fn the_fastagi_quickstart_plays_its_recorded_call() {
    smol::block_on(quickstart_plays());
}

async fn quickstart_plays() {
    let demo = testkit::agi_demo::AgiDemo::replay().unwrap();
    let (said_tx, said) = std::sync::mpsc::channel();
    let routes = ari_smol::agi::Routes::new().fallback(move |agi| {
        let said_tx = said_tx.clone();
        example::quickstart(agi, move |line| {
            let _ = said_tx.send(line);
        })
    });
    let server = ari_smol::agi::serve(demo.listen_address(), routes).unwrap();
    demo.run(server.address()).await.unwrap();
    let lines: Vec<String> = said.try_iter().collect();
    assert!(lines.contains(&"digits: 1234".to_string()), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("done"));
}

#[test]
fn failures_are_told_to_asterisk() {
    smol::block_on(testkit::suite::agi::failures_are_told_to_asterisk(
        ari_smol::SmolRuntime,
    ));
}

#[test]
fn async_agi_plays_the_recorded_session() {
    smol::block_on(testkit::suite::async_agi::async_agi_as_recorded(
        ari_smol::SmolRuntime,
    ));
}
