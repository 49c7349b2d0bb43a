//! An AMI flood with the application on smol's one executor thread, beside
//! the client's driver: the driver must give the application turns, or its
//! stream overflows and events are lost.

use testkit::ami_blast::AmiBlast;

#[test]
fn a_flood_on_one_executor_thread_loses_nothing() {
    // More than a stream's queue holds (65,536): had the application no
    // turn until the flood ends, some would be lost.
    let events = 150_000;
    let trace = conformance::bundled_ami_trace("ami-load.jsonl");
    let blast = AmiBlast::start(&trace, events).unwrap();
    let measured = smol::block_on(smol::spawn(async move {
        testkit::bench::ami_ingest_from(ari_smol::SmolRuntime, &blast.address(), events).await
    }))
    .unwrap();
    assert_eq!(measured.lost, 0);
    assert_eq!(measured.count, events as u64);
}
