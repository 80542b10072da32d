//! One accepted connection: a single task that reads requests, applies the behaviour in force
//! to each as it arrives, and writes whatever that produces. Everything the task owns (read
//! buffer, delayed responses) goes away with it, so nothing outlives a closed connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use super::broker::reply;
use super::{random, Behavior, Inner};
use crate::protocol::codes::{response, SerializeType};
use crate::protocol::frame::DEFAULT_MAX_FRAME_LEN;
use crate::protocol::{FrameDecoder, RemotingCommand};

/// Responses held back by [`Behavior::Delay`] per connection; at the bound the connection stops
/// reading until some are due, as a real server's backlog pushes back on the client.
const MAX_DELAYED: usize = 4096;

/// Responses are written once this many bytes are pending, so a burst of requests read at
/// once does not pile up its answers (pulls can be megabytes each) before the first write.
const FLUSH_AT: usize = 1024 * 1024;

/// A frame whose header word names serialize type 5, which does not exist: decoding it must
/// fail however lenient the reader is ([`Behavior::Garbage`]).
const GARBAGE: &[u8] = &[0, 0, 0, 6, 5, 0, 0, 2, b'{', b'}'];

/// The length prefix of a 64 MiB frame, four times the broker's maximum ([`Behavior::Oversize`]).
const OVERSIZE_PREFIX: &[u8] = &(64u32 * 1024 * 1024).to_be_bytes();

/// What the connection does after a frame.
enum Flow {
    Continue,
    Close,
}

/// Serves one connection until the peer closes it, a fault behaviour closes it, or the mock
/// shuts down. `from_mock` carries frames the mock sends on its own (broker→client requests).
pub(super) async fn serve(
    inner: Arc<Inner>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut from_mock: mpsc::Receiver<Bytes>,
) {
    let mut stop = inner.stop.subscribe();
    let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut out = BytesMut::new();
    // Delayed responses by due time; the sequence number keeps equal times in arrival order.
    let mut delayed: BinaryHeap<Reverse<(Instant, u64, Bytes)>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let mut close = false;
        // Frames still to decode in `rbuf` after a flush cut the batch short.
        let mut more = false;
        loop {
            if out.len() >= FLUSH_AT {
                more = true;
                break;
            }
            match decoder.decode(&mut rbuf) {
                Ok(Some(cmd)) => {
                    if let Flow::Close =
                        on_frame(&inner, cmd, peer, &mut out, &mut delayed, &mut seq)
                    {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // As Netty's decoder does: a stream that does not decode is closed.
                    debug!(%peer, error = %e, "mock broker: undecodable frame, closing");
                    close = true;
                    break;
                }
            }
        }
        if !out.is_empty() {
            tokio::select! {
                r = stream.write_all(&out) => if r.is_err() { return },
                _ = stop.wait_for(|s| *s) => return,
            }
            out.clear();
        }
        if close {
            return; // dropping the stream closes the socket
        }
        if more {
            continue;
        }
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(64 * 1024);
        }
        let next_due = delayed.peek().map(|Reverse((at, _, _))| *at);
        tokio::select! {
            r = stream.read_buf(&mut rbuf), if delayed.len() < MAX_DELAYED => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            frame = from_mock.recv() => match frame {
                Some(f) => out.extend_from_slice(&f),
                None => return, // the mock is gone
            },
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                let now = Instant::now();
                while delayed.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
                    let Reverse((_, _, frame)) = delayed.pop().expect("peeked");
                    out.extend_from_slice(&frame);
                }
            },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Handles one decoded frame: a response completes a broker→client request; a request is
/// counted, then answered as the behaviour in force says.
fn on_frame(
    inner: &Inner,
    cmd: RemotingCommand,
    peer: SocketAddr,
    out: &mut BytesMut,
    delayed: &mut BinaryHeap<Reverse<(Instant, u64, Bytes)>>,
    seq: &mut u64,
) -> Flow {
    if cmd.is_response() {
        inner.complete_client_request(cmd);
        return Flow::Continue;
    }
    let behavior = inner.record(&cmd);
    let flow = apply(inner, behavior, &cmd, peer, out, delayed, seq);
    inner.counted(cmd.code);
    flow
}

/// Applies `behavior` to the request `cmd`.
fn apply(
    inner: &Inner,
    behavior: Behavior,
    cmd: &RemotingCommand,
    peer: SocketAddr,
    out: &mut BytesMut,
    delayed: &mut BinaryHeap<Reverse<(Instant, u64, Bytes)>>,
    seq: &mut u64,
) -> Flow {
    match behavior {
        Behavior::Normal => {
            if let Some(resp) = inner.answer(cmd, peer) {
                encode(&resp, out);
            }
        }
        Behavior::NeverRespond => {}
        Behavior::RespondWith(code, remark) => {
            if !cmd.is_oneway() {
                encode(&reply(cmd, code, Some(remark)), out);
            }
        }
        Behavior::Delay(d) => {
            if let Some(resp) = inner.answer(cmd, peer) {
                let mut frame = BytesMut::new();
                encode(&resp, &mut frame);
                *seq += 1;
                delayed.push(Reverse((Instant::now() + d, *seq, frame.freeze())));
            }
        }
        Behavior::WrongOpaque => {
            if let Some(mut resp) = inner.answer(cmd, peer) {
                resp.opaque = resp.opaque.wrapping_add(1000);
                encode(&resp, out);
            }
        }
        Behavior::ResetMidFrame => {
            // The answer the broker would have sent (a plain SUCCESS when it sends none), cut
            // in half: the peer has a length prefix and part of a frame when the socket closes.
            let resp = inner
                .answer(cmd, peer)
                .unwrap_or_else(|| reply(cmd, response::SUCCESS, None));
            let mut frame = BytesMut::new();
            encode(&resp, &mut frame);
            out.extend_from_slice(&frame[..frame.len() / 2]);
            return Flow::Close;
        }
        Behavior::RandomFrames(seed) => {
            let mut rng = random::Rng::for_next_answer(seed);
            if random::answer(&mut rng, cmd, inner.answer(cmd, peer), out) {
                return Flow::Close;
            }
        }
        Behavior::Garbage => out.extend_from_slice(GARBAGE),
        Behavior::Oversize => out.extend_from_slice(OVERSIZE_PREFIX),
    }
    Flow::Continue
}

/// Appends `resp` as a frame with a JSON header, as a default-configured broker answers.
fn encode(resp: &RemotingCommand, out: &mut BytesMut) {
    if let Err(e) = resp.encode(out, SerializeType::Json) {
        debug!(error = %e, "mock broker: cannot encode response");
    }
}
