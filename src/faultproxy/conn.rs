//! One proxied connection: a reader per direction that splits frames and applies the mode,
//! and a writer per direction that applies delays, bandwidth and resets.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::frames::{self, Splitter, Unit};
use super::{FaultMode, Shared};
use crate::transport::socket::NoSigPipe;

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                shared
                    .connections
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(serve(client, shared.clone()));
            }
            // Out of descriptors or similar: back off instead of spinning on the error.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// What a writer does next, in order.
enum Out {
    /// Writes `bytes` once `due`; `fault` marks the damaged bytes (timestamped when sent).
    Data {
        due: Instant,
        bytes: Bytes,
        fault: bool,
    },
    /// Resets this side (RST) and ends the connection.
    Reset { fault: bool },
    /// Closes this side (FIN) after what is queued, and ends the connection.
    Close,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Client to broker.
    Up,
    /// Broker to client.
    Down,
}

fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    if shared.mode() == FaultMode::DropConnections {
        shared.fault_now();
        reset(&client);
        return;
    }
    let upstream = match TcpStream::connect(&shared.upstream).await {
        Ok(s) => s,
        Err(_) => {
            // The broker is down: the client sees its connection refused, as it would directly.
            reset(&client);
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (up_r, up_w) = upstream.into_split();
    let (to_client, to_client_rx) = mpsc::unbounded_channel();
    let (to_up, to_up_rx) = mpsc::unbounded_channel();
    // Whichever part ends first ends the connection: dropping the halves closes both sockets.
    tokio::select! {
        _ = read_side(client_r, Dir::Up, &shared, to_up.clone(), to_client.clone()) => {}
        _ = read_side(up_r, Dir::Down, &shared, to_client.clone(), to_up.clone()) => {}
        _ = write_side(client_w, to_client_rx, &shared) => {}
        _ = write_side(up_w, to_up_rx, &shared) => {}
        _ = drop_when_told(&shared, to_client.clone(), to_up.clone()) => {}
    }
}

/// Resets an open connection when the mode becomes `DropConnections`.
async fn drop_when_told(
    shared: &Shared,
    to_client: mpsc::UnboundedSender<Out>,
    to_up: mpsc::UnboundedSender<Out>,
) {
    let mut mode = shared.mode.subscribe();
    while mode.changed().await.is_ok() {
        if *mode.borrow_and_update() == FaultMode::DropConnections {
            // Recorded now: the upstream reset may end this connection (and drop the client
            // side's writer) before the client-side reset below is written.
            shared.fault_now();
            let _ = to_client.send(Out::Reset { fault: true });
            let _ = to_up.send(Out::Reset { fault: false });
        }
    }
    std::future::pending::<()>().await
}

/// Reads one direction, unit by unit, and queues what the mode says to `forward` (the other
/// side's writer) or `back` (this side's writer: SYSTEM_BUSY answers, resets).
async fn read_side(
    mut reader: OwnedReadHalf,
    dir: Dir,
    shared: &Shared,
    forward: mpsc::UnboundedSender<Out>,
    back: mpsc::UnboundedSender<Out>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut splitter = Splitter::default();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = forward.send(Out::Close);
                return;
            }
            Ok(_) => {}
        }
        while let Some(unit) = splitter.next(&mut buf) {
            for out in apply(shared, dir, unit, &back) {
                let _ = forward.send(out);
            }
        }
    }
}

/// What to send onward for `unit` in the current mode (answers go to `back` directly).
fn apply(shared: &Shared, dir: Dir, unit: Unit, back: &mpsc::UnboundedSender<Out>) -> Vec<Out> {
    let now = Instant::now();
    let data = |bytes: Bytes, fault: bool| Out::Data {
        due: now,
        bytes,
        fault,
    };
    let (frame, raw) = match unit {
        Unit::Frame(f) => (Some(f.clone()), f),
        Unit::Raw(r) => (None, r),
    };
    match shared.mode() {
        FaultMode::Pass | FaultMode::Bandwidth(_) => vec![data(raw, false)],
        FaultMode::Latency(d) => vec![Out::Data {
            due: now + d,
            bytes: raw,
            fault: false,
        }],
        FaultMode::Blackhole => vec![],
        FaultMode::DropConnections => {
            // As in drop_when_told: whichever reset runs first ends the connection.
            shared.fault_now();
            let _ = back.send(Out::Reset { fault: true });
            vec![Out::Reset { fault: false }]
        }
        FaultMode::SystemBusy if dir == Dir::Up => {
            if let Some(answer) = frame.as_ref().and_then(frames::system_busy_answer) {
                shared
                    .faults
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = back.send(data(answer, false));
            }
            vec![]
        }
        mode if dir == Dir::Down && frame.is_some() => {
            let frame = frame.unwrap_or_default();
            match mode {
                FaultMode::ResetMidFrame => vec![
                    data(frame.slice(..frame.len() / 2), false),
                    Out::Reset { fault: true },
                ],
                FaultMode::CorruptFrames => vec![data(frames::corrupt(&frame), true)],
                FaultMode::OversizeFrame => vec![data(frames::oversize(&frame), true)],
                FaultMode::WrongOpaque => match frames::wrong_opaque(&frame) {
                    Some(moved) => vec![data(moved, true)],
                    None => vec![data(frame, false)],
                },
                _ => vec![data(frame, false)],
            }
        }
        // Damage applies to the broker's frames; requests and unframed bytes pass.
        _ => vec![data(raw, false)],
    }
}

async fn write_side(w: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Out>, shared: &Shared) {
    // The proxy runs on its own thread in the host (a C test, say): its writes must not raise
    // SIGPIPE there either.
    let mut w = NoSigPipe(w);
    while let Some(out) = rx.recv().await {
        match out {
            Out::Data { due, bytes, fault } => {
                tokio::time::sleep_until(due).await;
                if fault {
                    shared.fault_now();
                }
                let written = match shared.mode() {
                    FaultMode::Bandwidth(bps) => paced_write(&mut w, &bytes, bps.max(1)).await,
                    _ => w.write_all(&bytes).await,
                };
                if written.is_err() {
                    return;
                }
            }
            Out::Reset { fault } => {
                if fault {
                    shared.fault_now();
                }
                reset(w.0.as_ref());
                return;
            }
            Out::Close => {
                let _ = w.shutdown().await;
                return;
            }
        }
    }
}

/// Writes `bytes` at `bps` bytes per second, in slices of about 20 ms each.
async fn paced_write(
    w: &mut NoSigPipe<OwnedWriteHalf>,
    bytes: &[u8],
    bps: u64,
) -> std::io::Result<()> {
    let slice = (bps / 50).max(1) as usize;
    let start = Instant::now();
    let mut sent = 0usize;
    for chunk in bytes.chunks(slice) {
        w.write_all(chunk).await?;
        sent += chunk.len();
        let due = start + Duration::from_secs_f64(sent as f64 / bps as f64);
        tokio::time::sleep_until(due).await;
    }
    Ok(())
}
