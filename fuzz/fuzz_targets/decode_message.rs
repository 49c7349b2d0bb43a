//! Any bytes, as an events WebSocket frame or a REST answer body: decoding
//! never panics, what decodes encodes back to something that decodes the
//! same, and the fast decoder agrees with the serde one.
#![no_main]

use ari_proto::models::{AsteriskInfo, Channel};
use ari_proto::{ApiError, Binary, Event, ResponseBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ApiError::from_response(500, data);
    let _ = <Vec<Channel>>::decode(data);
    let _ = AsteriskInfo::decode(data);
    let _ = Binary::decode(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fast = Event::from_json(text);
    if let Ok(slow) = serde_json::from_str::<Event>(text) {
        assert_eq!(
            fast.as_ref().ok(),
            Some(&slow),
            "the fast decoder rejects what serde accepts"
        );
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let ours = ari_proto::json::Reader::decode_all::<serde_json::Value>(text);
        assert_eq!(
            ours.ok(),
            Some(value),
            "the reader disagrees with serde_json on plain JSON"
        );
    }
    if let Ok(event) = fast {
        let again = serde_json::to_string(&event).expect("a decoded event encodes");
        let back = Event::from_json(&again).expect("an encoded event decodes");
        assert_eq!(back, event);
        let _ = (event.application(), event.timestamp(), event.asterisk_id());
        event.for_each_object(&mut |_, _| {});
    }
});
