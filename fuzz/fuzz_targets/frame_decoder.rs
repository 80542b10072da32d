//! Arbitrary bytes from a peer, fed in arbitrary chunks, must give frames or typed errors:
//! no panic, no allocation beyond the maximum frame length.
#![no_main]

use brokerclient::protocol::bodies::{from_json, ClusterInfo, TopicRouteData};
use brokerclient::protocol::headers::{PullMessageResponseHeader, SendMessageResponseHeader};
use brokerclient::protocol::FrameDecoder;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut decoder = FrameDecoder::new(64 * 1024);
    let mut buf = BytesMut::new();
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(cmd)) => {
                    let _ = cmd.decode_header::<SendMessageResponseHeader>();
                    let _ = cmd.decode_header::<PullMessageResponseHeader>();
                    let _ = from_json::<TopicRouteData>(&cmd.body, "route");
                    let _ = from_json::<ClusterInfo>(&cmd.body, "cluster");
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
