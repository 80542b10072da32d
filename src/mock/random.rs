//! `Behavior::RandomFrames`: answers drawn from a seeded generator, to drive a client with
//! everything a broken or hostile broker could send — plausible answers with damaged headers
//! and bodies, answers to the wrong request, requests of its own, garbage and cut frames.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, BytesMut};

use super::broker::reply;
use crate::protocol::codes::{response, SerializeType};
use crate::protocol::RemotingCommand;

/// Numbers each random answer, so every answer of a run gets its own stream from the seed.
static DRAWS: AtomicU64 = AtomicU64::new(0);

/// splitmix64: small, seedable, good enough to pick fault shapes.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn for_next_answer(seed: u64) -> Rng {
        Rng(seed
            ^ DRAWS
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// A header value: sometimes sensible, often not (negative, huge, not a number, empty).
    fn value(&mut self) -> String {
        match self.below(6) {
            0 => String::new(),
            1 => (self.next() as i64).to_string(),
            2 => "-1".into(),
            3 => "not a number".into(),
            4 => String::from_utf8_lossy(&self.bytes(8)).into_owned(),
            _ => self.below(100).to_string(),
        }
    }
}

/// What to write for `req` (whose normal answer is `normal`); `true` to close afterwards.
pub(super) fn answer(
    rng: &mut Rng,
    req: &RemotingCommand,
    normal: Option<RemotingCommand>,
    out: &mut BytesMut,
) -> bool {
    let plausible = || {
        normal
            .clone()
            .unwrap_or_else(|| reply(req, response::SUCCESS, None))
    };
    match rng.below(10) {
        // The normal answer with damaged header fields.
        0..=2 => {
            let mut resp = plausible();
            let keys: Vec<String> = resp.ext_fields.iter().map(|(k, _)| k.to_owned()).collect();
            for k in keys {
                if rng.below(2) == 0 {
                    resp.ext_fields.insert(k, rng.value());
                } else if rng.below(3) == 0 {
                    resp.ext_fields.remove(&k);
                }
            }
            encode(&resp, out);
        }
        // The normal answer with a random code or a random, truncated or empty body.
        3 => {
            let mut resp = plausible();
            resp.code = rng.below(300) as i32 - 10;
            resp.remark = Some(String::from_utf8_lossy(&rng.bytes(12)).into_owned());
            encode(&resp, out);
        }
        4 => {
            let mut resp = plausible();
            let n = rng.below(200) as usize;
            resp.body = rng.bytes(n).into();
            encode(&resp, out);
        }
        // An answer to some other request.
        5 => {
            let mut resp = plausible();
            resp.opaque = rng.next() as i32;
            encode(&resp, out);
        }
        // A request of the broker's own (random code, maybe oneway).
        6 => {
            let mut cmd = reply(req, rng.below(400) as i32, None);
            cmd.flag = (rng.below(2) as i32) << 1; // not a response; oneway half the time
            cmd.opaque = rng.next() as i32;
            encode(&cmd, out);
        }
        // Nothing: the caller's deadline ends it.
        7 => {}
        // Garbage: random bytes behind a length prefix that may or may not fit.
        8 => {
            let n = rng.below(64) as usize;
            out.put_i32(rng.below(128) as i32 - 8);
            out.extend_from_slice(&rng.bytes(n));
            return rng.below(2) == 0;
        }
        // Half of the normal answer, then close.
        _ => {
            let mut frame = BytesMut::new();
            encode(&plausible(), &mut frame);
            out.extend_from_slice(&frame[..frame.len() / 2]);
            return true;
        }
    }
    false
}

fn encode(cmd: &RemotingCommand, out: &mut BytesMut) {
    let _ = cmd.encode(out, SerializeType::Json);
}
