//! Arbitrary pull bodies, batch bodies and property strings must decode or fail with a typed
//! error: no panic, no unbounded allocation (compressed bodies included).
#![no_main]

use brokerclient::protocol::message::{decode_batch_body, decode_stored_messages, DecodeOptions};
use brokerclient::protocol::msgid::decode_offset_msg_id;
use brokerclient::protocol::properties::Properties;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let opts = DecodeOptions::default().with_max_body_size(1 << 20);
    let _ = decode_stored_messages(bytes.clone(), &opts);
    let _ = decode_batch_body(bytes);
    let _ = Properties::decode(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = decode_offset_msg_id(s);
    }
});
