//! The adapter over real loopback sockets against the fake Asterisk, on
//! smol and on async-std's executor.

/// The example itself, run against the recorded call.
#[path = "../examples/smol_hello_world.rs"]
#[allow(dead_code)]
mod example;

use ari_smol::SmolRuntime;
use testkit::suite::{faults, framework, hello_world, scenarios};

#[test]
fn hello_world_on_smol() {
    smol::block_on(hello_world::against_recorded_call(ari_smol::connect));
}

#[test]
fn hello_world_on_async_std() {
    async_std::task::block_on(hello_world::against_recorded_call(ari_smol::connect));
}

#[test]
fn the_demo_replays_the_recorded_call() {
    smol::block_on(async {
        let demo = testkit::demo::Demo::replay("hello").unwrap();
        let client = ari_smol::connect(demo.config()).await.unwrap();
        client.serve_calls(|c| async move { example::hello(c).await.unwrap() });
        demo.run(&client).await.unwrap();
    });
}

#[test]
fn reconnects_after_a_close_frame() {
    smol::block_on(faults::reconnects(SmolRuntime, true, 0));
}

#[test]
fn reconnects_after_a_drop_and_refusals() {
    smol::block_on(faults::reconnects(SmolRuntime, false, 2));
}

#[test]
fn server_errors_are_typed() {
    smol::block_on(faults::server_errors_are_typed(ari_smol::connect));
}

#[test]
fn slow_answers_time_out() {
    smol::block_on(faults::slow_answers_time_out(SmolRuntime));
}

#[test]
fn bad_frames_do_not_stop_events() {
    smol::block_on(faults::bad_frames_do_not_stop_events(ari_smol::connect));
}

#[test]
fn a_stopped_consumer_is_told_it_lagged() {
    smol::block_on(faults::a_stopped_consumer_is_told_it_lagged(
        ari_smol::connect,
    ));
}

#[test]
fn the_call_framework_serves_the_recorded_call() {
    smol::block_on(framework::against_recorded_call(ari_smol::connect));
}

#[test]
fn every_scenario_completes_its_trace() {
    let failed = smol::block_on(scenarios::run_all(ari_smol::connect));
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn requests_are_answered_during_a_flood() {
    smol::block_on(faults::requests_are_answered_during_a_flood(
        ari_smol::connect,
    ));
}

#[test]
fn pings_are_answered() {
    smol::block_on(faults::pings_are_answered(ari_smol::connect));
}

#[test]
fn a_stalled_upgrade_times_out() {
    smol::block_on(faults::a_stalled_upgrade_times_out(SmolRuntime));
}

#[test]
fn a_silent_socket_is_replaced() {
    smol::block_on(faults::a_silent_socket_is_replaced(SmolRuntime));
}

#[test]
fn given_up_requests_close_their_connections() {
    smol::block_on(faults::given_up_requests_close_their_connections(
        SmolRuntime,
    ));
}

#[test]
fn ami_logins_as_recorded() {
    smol::block_on(testkit::suite::ami::logins_as_recorded(
        ari_smol::ami::connect,
    ));
}

#[test]
fn ami_event_lists_as_recorded() {
    smol::block_on(testkit::suite::ami::event_lists_as_recorded(
        ari_smol::ami::connect,
    ));
}

#[test]
fn ami_every_trace_plays_as_recorded() {
    smol::block_on(testkit::suite::ami::every_trace_plays_as_recorded(
        SmolRuntime,
    ));
}

#[test]
fn ami_slow_delivery_changes_nothing() {
    smol::block_on(testkit::suite::ami::slow_delivery_changes_nothing(
        SmolRuntime,
    ));
}

#[test]
fn ami_garbage_is_survived() {
    use conformance::Garbage;
    for garbage in [Garbage::NotAField, Garbage::NotUtf8, Garbage::TooLong(8192)] {
        smol::block_on(testkit::suite::ami::garbage_is_survived(
            SmolRuntime,
            garbage,
        ));
    }
}

#[test]
fn ami_a_close_mid_message_fails_the_pending_action_and_reconnects() {
    smol::block_on(
        testkit::suite::ami::a_close_mid_message_fails_the_pending_action_and_reconnects(
            SmolRuntime,
        ),
    );
}

#[test]
fn ami_a_refused_first_connection_fails_connect() {
    smol::block_on(
        testkit::suite::ami::a_refused_first_connection_fails_connect(ari_smol::ami::connect),
    );
}

#[test]
fn ami_later_refusals_are_retried_with_backoff() {
    smol::block_on(testkit::suite::ami::later_refusals_are_retried_with_backoff(SmolRuntime));
}

#[test]
fn ami_a_stalled_connection_is_found_by_the_ping() {
    smol::block_on(testkit::suite::ami::a_stalled_connection_is_found_by_the_ping(SmolRuntime));
}
