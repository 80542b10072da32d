//! The writer task: drains every frame queued on a connection into as few `write` calls as
//! it can (one vectored write for everything queued), so concurrent senders share syscalls.

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

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

/// Writes until the queue closes, `stop` turns true, or a write fails; returns the error, if
/// any. On `stop` it first writes what is already queued (a final oneway such as
/// END_TRANSACTION must not vanish because the connection was closed right after it).
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    mut out: W,
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
        let Some(first) = next else {
            if !*stop.borrow() {
                break; // every sender is gone
            }
            while let Ok(item) = rx.try_recv() {
                push(&mut bufs, &mut permits, item);
            }
            if !bufs.is_empty() {
                let _ = tokio::time::timeout(CLOSE_FLUSH, async {
                    write_all_vectored(&mut out, &mut bufs).await?;
                    out.flush().await
                })
                .await;
            }
            return Ok(());
        };
        push(&mut bufs, &mut permits, first);
        while bufs.len() + 2 <= MAX_IOVECS {
            match rx.try_recv() {
                Ok(item) => push(&mut bufs, &mut permits, item),
                Err(_) => break,
            }
        }
        write_all_vectored(&mut out, &mut bufs).await?;
        // A TLS stream may hold written records until flushed; for TCP this is a no-op.
        out.flush().await?;
        permits.clear();
    }
    out.flush().await
}

fn push(bufs: &mut Vec<Bytes>, permits: &mut Vec<OwnedSemaphorePermit>, item: WriteItem) {
    bufs.push(item.head);
    if !item.body.is_empty() {
        bufs.push(item.body);
    }
    permits.extend(item.permit);
}

async fn write_all_vectored<W: AsyncWrite + Unpin>(
    out: &mut W,
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

    #[test]
    fn queued_frames_arrive_whole_and_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..1000u32 {
            tx.send(WriteItem {
                head: Bytes::from(i.to_be_bytes().to_vec()),
                body: Bytes::from(vec![b'x'; (i % 7) as usize]),
                permit: None,
            })
            .unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        let (_stop_tx, stop) = watch::channel(false);
        rt.block_on(run(&mut out, &mut rx, stop)).unwrap();
        let mut expected = Vec::new();
        for i in 0..1000u32 {
            expected.extend_from_slice(&i.to_be_bytes());
            expected.extend(std::iter::repeat_n(b'x', (i % 7) as usize));
        }
        assert_eq!(out, expected);
    }
}
