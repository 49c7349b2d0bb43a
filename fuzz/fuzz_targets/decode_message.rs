//! Any bytes, as an events WebSocket frame or a REST answer body: decoding
//! never panics, and what decodes encodes back to something that decodes the same.
#![no_main]

use ari_proto::models::{AsteriskInfo, Channel};
use ari_proto::{ApiError, Binary, Event, ResponseBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ApiError::from_response(500, data);
    let _ = <Vec<Channel>>::decode(data);
    let _ = AsteriskInfo::decode(data);
    let _ = Binary::decode(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(event) = Event::from_json(text) {
        let again = serde_json::to_string(&event).expect("a decoded event encodes");
        let back = Event::from_json(&again).expect("an encoded event decodes");
        assert_eq!(back, event);
        let _ = (event.application(), event.timestamp(), event.asterisk_id());
        event.for_each_object(&mut |_, _| {});
    }
});
