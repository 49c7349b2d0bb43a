//! The runtime's TCP listener: what the servers Asterisk connects to
//! (FastAGI, ARI's outbound WebSocket) stand on.

use ari_client::{Listener, Runtime};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use std::future::poll_fn;

/// Binds a free loopback port, accepts two connections in turn and talks
/// with each both ways.
pub async fn accepts_and_talks<R: Runtime>(runtime: R) {
    let mut listener = runtime.listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    assert_ne!(address.port(), 0, "a port was chosen");
    for n in 0..2u8 {
        let mut client = runtime
            .connect("127.0.0.1".into(), address.port())
            .await
            .unwrap();
        let (mut server, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
        assert!(peer.ip().is_loopback());
        client.write_all(&[b'a', n]).await.unwrap();
        let mut got = [0u8; 2];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [b'a', n]);
        server.write_all(b"ok").await.unwrap();
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ok");
    }
}
