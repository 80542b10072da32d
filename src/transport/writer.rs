//! The write side of a connection. Whoever holds the lock on the socket's write half writes:
//! a caller that finds it free with nothing queued writes its own frame at once (no hand-off,
//! no thread wake-up for a lone sync sender); otherwise the frame is queued and the writer
//! task drains everything queued into as few `write` calls as it can (one vectored write),
//! so concurrent senders share syscalls.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use once_cell::sync::Lazy;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, Mutex, OwnedSemaphorePermit};

/// The socket's write half (plain TCP or TLS); `None` once the connection stopped writing,
/// which also closes our side of the socket.
pub(crate) type SharedWrite = Mutex<Option<Box<dyn AsyncWrite + Send + Unpin>>>;

/// One frame to write: its head (length, header) and its body, kept apart so a body is never
/// copied into the frame buffer. A oneway request keeps its window permit until written.
pub(crate) struct WriteItem {
    pub head: Bytes,
    pub body: Bytes,
    pub permit: Option<OwnedSemaphorePermit>,
}

/// At most this many buffers go into one vectored write (Linux IOV_MAX is 1024).
const MAX_IOVECS: usize = 256;

/// How long a closing connection may spend writing what callers had already queued.
const CLOSE_FLUSH: std::time::Duration = std::time::Duration::from_millis(500);

/// The write side shared by callers and the writer task.
pub(crate) struct WritePath {
    out: SharedWrite,
    queue: mpsc::UnboundedSender<WriteItem>,
    /// Frames handed to the writer task and not yet written. A caller writes directly only
    /// when this is zero (checked with the lock held), so a frame never overtakes one queued
    /// before it: a oneway send followed by a sync send from one thread stay in order.
    queued: AtomicUsize,
}

/// What [`WritePath::submit`] did with a frame.
pub(crate) enum Submitted {
    Written,
    Queued,
    /// The socket refused the frame (or is gone): the connection is dead.
    Failed(std::io::Error),
    /// The writer task is gone: the frame is returned undelivered.
    WriterGone,
}

impl WritePath {
    pub fn new(
        out: Box<dyn AsyncWrite + Send + Unpin>,
    ) -> (WritePath, mpsc::UnboundedReceiver<WriteItem>) {
        let (queue, rx) = mpsc::unbounded_channel();
        let path = WritePath {
            out: Mutex::new(Some(out)),
            queue,
            queued: AtomicUsize::new(0),
        };
        (path, rx)
    }

    /// True once the writer task has ended (every later frame would be refused).
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Writes `item` now if the write half is free and nothing is queued (as far as the socket
    /// takes it without blocking), else queues it (or its unwritten rest) for the writer task.
    pub fn submit(&self, mut item: WriteItem) -> Submitted {
        if self.queued.load(Ordering::Acquire) == 0 {
            if let Ok(mut out) = self.out.try_lock() {
                if self.queued.load(Ordering::Acquire) == 0 {
                    let Some(w) = out.as_mut() else {
                        return Submitted::WriterGone;
                    };
                    match write_now(w.as_mut(), &mut item) {
                        Ok(true) => return Submitted::Written,
                        // The rest is queued while we still hold the lock: nothing can get
                        // between the part written and the rest.
                        Ok(false) => return self.enqueue(item),
                        Err(e) => return Submitted::Failed(e),
                    }
                }
            }
        }
        self.enqueue(item)
    }

    fn enqueue(&self, item: WriteItem) -> Submitted {
        self.queued.fetch_add(1, Ordering::AcqRel);
        match self.queue.send(item) {
            Ok(()) => Submitted::Queued,
            Err(_) => Submitted::WriterGone,
        }
    }
}

/// Wakes nobody (`Waker::noop` needs Rust 1.85; the crate supports 1.80).
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// The `Arc` itself is kept (not a `Waker` made from it): a waker points past the header of
/// a zero-sized `Arc`, which LeakSanitizer reports as a leak.
static NOOP: Lazy<Arc<Noop>> = Lazy::new(|| Arc::new(Noop));

/// Writes as much of `item` as the socket takes without waiting, then flushes. True when all
/// of it is out; false when the rest (maybe only the flush: `item` is then empty) must wait
/// for the writer task.
fn write_now(
    out: &mut (dyn AsyncWrite + Send + Unpin),
    item: &mut WriteItem,
) -> std::io::Result<bool> {
    // A no-op waker: when the socket is full we do not wait for it, the writer task does.
    let waker = Waker::from(Arc::clone(&NOOP));
    let mut cx = Context::from_waker(&waker);
    while !item.head.is_empty() || !item.body.is_empty() {
        let slices = [IoSlice::new(&item.head), IoSlice::new(&item.body)];
        match Pin::new(&mut *out).poll_write_vectored(&mut cx, &slices) {
            Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => {
                let from_head = n.min(item.head.len());
                item.head.advance(from_head);
                item.body.advance(n - from_head);
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(false),
        }
    }
    match Pin::new(&mut *out).poll_flush(&mut cx) {
        Poll::Ready(Ok(())) => Ok(true),
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => Ok(false),
    }
}

/// The writer task: writes until the queue closes, `stop` turns true, or a write fails; returns
/// the error, if any. On `stop` it first writes what is already queued (a final oneway such as
/// END_TRANSACTION must not vanish because the connection was closed right after it). When it
/// ends it drops the write half, closing our side of the socket.
pub(crate) async fn run(
    path: &WritePath,
    rx: &mut mpsc::UnboundedReceiver<WriteItem>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let result = drain(path, rx, stop).await;
    let out = path.out.lock().await.take();
    drop(out);
    result
}

async fn drain(
    path: &WritePath,
    rx: &mut mpsc::UnboundedReceiver<WriteItem>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut bufs: Vec<Bytes> = Vec::with_capacity(MAX_IOVECS);
    let mut permits: Vec<OwnedSemaphorePermit> = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            item = rx.recv() => item,
            _ = stop.wait_for(|s| *s) => None,
        };
        let mut guard = path.out.lock().await;
        let Some(out) = guard.as_mut() else {
            return Ok(());
        };
        let Some(first) = next else {
            if !*stop.borrow() {
                return out.flush().await; // every sender is gone
            }
            while let Ok(item) = rx.try_recv() {
                push(&mut bufs, &mut permits, item);
            }
            if !bufs.is_empty() {
                let _ = tokio::time::timeout(CLOSE_FLUSH, async {
                    write_all_vectored(out, &mut bufs).await?;
                    out.flush().await
                })
                .await;
            }
            return Ok(());
        };
        push(&mut bufs, &mut permits, first);
        let mut taken = 1;
        while bufs.len() + 2 <= MAX_IOVECS {
            match rx.try_recv() {
                Ok(item) => {
                    push(&mut bufs, &mut permits, item);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        write_all_vectored(out, &mut bufs).await?;
        // A TLS stream may hold written records until flushed; for TCP this is a no-op.
        out.flush().await?;
        path.queued.fetch_sub(taken, Ordering::AcqRel);
        permits.clear();
    }
}

fn push(bufs: &mut Vec<Bytes>, permits: &mut Vec<OwnedSemaphorePermit>, item: WriteItem) {
    // A frame partly written directly may come with an empty head (or be empty: only its
    // flush was left).
    if !item.head.is_empty() {
        bufs.push(item.head);
    }
    if !item.body.is_empty() {
        bufs.push(item.body);
    }
    permits.extend(item.permit);
}

async fn write_all_vectored(
    out: &mut Box<dyn AsyncWrite + Send + Unpin>,
    bufs: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut first = 0;
    while first < bufs.len() {
        let slices: Vec<IoSlice<'_>> = bufs[first..].iter().map(|b| IoSlice::new(b)).collect();
        let mut n = out.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let len = bufs[first].len();
            if n >= len {
                n -= len;
                first += 1;
            } else {
                bufs[first].advance(n);
                n = 0;
            }
        }
    }
    bufs.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: u32) -> WriteItem {
        WriteItem {
            head: Bytes::from(i.to_be_bytes().to_vec()),
            body: Bytes::from(vec![b'x'; (i % 7) as usize]),
            permit: None,
        }
    }

    fn expected(range: std::ops::Range<u32>) -> Vec<u8> {
        let mut expected = Vec::new();
        for i in range {
            expected.extend_from_slice(&i.to_be_bytes());
            expected.extend(std::iter::repeat_n(b'x', (i % 7) as usize));
        }
        expected
    }

    #[test]
    fn queued_frames_arrive_whole_and_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, mut server) = tokio::io::duplex(1 << 20);
            let (path, mut rx) = WritePath::new(Box::new(client));
            // Hold the write half: every frame goes through the queue.
            let guard = path.out.lock().await;
            for i in 0..1000u32 {
                assert!(matches!(path.submit(item(i)), Submitted::Queued));
            }
            drop(guard);
            // Stopped with everything queued: the writer writes it all, then closes.
            let (stop_tx, stop) = watch::channel(false);
            stop_tx.send_replace(true);
            run(&path, &mut rx, stop).await.unwrap();
            let mut out = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut server, &mut out)
                .await
                .unwrap();
            assert_eq!(out, expected(0..1000));
            assert_eq!(path.queued.load(Ordering::SeqCst), 0);
        });
    }

    #[test]
    fn a_frame_never_overtakes_a_queued_one() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, mut server) = tokio::io::duplex(1 << 20);
            let (path, mut rx) = WritePath::new(Box::new(client));
            // Written directly: the write half is free and nothing is queued.
            assert!(matches!(path.submit(item(0)), Submitted::Written));
            // Queued while the lock is held; then the lock is free again but a frame is still
            // queued, so the next one must queue behind it instead of writing directly.
            let guard = path.out.lock().await;
            assert!(matches!(path.submit(item(1)), Submitted::Queued));
            drop(guard);
            assert!(matches!(path.submit(item(2)), Submitted::Queued));
            let (stop_tx, stop) = watch::channel(false);
            stop_tx.send_replace(true);
            run(&path, &mut rx, stop).await.unwrap();
            let mut out = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut server, &mut out)
                .await
                .unwrap();
            assert_eq!(out, expected(0..3));
            // Stopped: the write half is gone, a later frame is refused.
            assert!(matches!(path.submit(item(3)), Submitted::WriterGone));
        });
    }

    #[test]
    fn a_full_socket_queues_the_rest_of_a_frame() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // A 16-byte pipe: a 4 KiB frame cannot go out at once.
            let (client, mut server) = tokio::io::duplex(16);
            let (path, mut rx) = WritePath::new(Box::new(client));
            let big = WriteItem {
                head: Bytes::from_static(b"HEAD"),
                body: Bytes::from(vec![b'y'; 4096]),
                permit: None,
            };
            assert!(matches!(path.submit(big), Submitted::Queued));
            assert!(matches!(path.submit(item(7)), Submitted::Queued));
            let (stop_tx, stop) = watch::channel(false);
            let reader = async {
                let mut out = Vec::new();
                let mut buf = [0u8; 64];
                while out.len() < 4 + 4096 + 4 {
                    let n = tokio::io::AsyncReadExt::read(&mut server, &mut buf)
                        .await
                        .unwrap();
                    out.extend_from_slice(&buf[..n]);
                }
                stop_tx.send_replace(true);
                out
            };
            let (r, out) = tokio::join!(run(&path, &mut rx, stop), reader);
            r.unwrap();
            let mut want = b"HEAD".to_vec();
            want.extend(std::iter::repeat_n(b'y', 4096));
            want.extend_from_slice(&7u32.to_be_bytes());
            assert_eq!(out, want);
        });
    }
}
