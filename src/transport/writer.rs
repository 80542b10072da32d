//! The writer task: drains every frame queued on a connection into as few `write` calls as
//! it can (one vectored write for everything queued), so concurrent senders share syscalls.

use std::io::IoSlice;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// One frame to write: its head (length, header) and its body, kept apart so a body is never
/// copied into the frame buffer. A oneway request keeps its window permit until written.
pub(crate) struct WriteItem {
    pub head: Bytes,
    pub body: Bytes,
    pub permit: Option<OwnedSemaphorePermit>,
}

/// At most this many buffers go into one vectored write (Linux IOV_MAX is 1024).
const MAX_IOVECS: usize = 256;

/// Writes until the queue closes or a write fails; returns the error, if any.
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    mut out: W,
    rx: &mut mpsc::UnboundedReceiver<WriteItem>,
) -> std::io::Result<()> {
    let mut bufs: Vec<Bytes> = Vec::with_capacity(MAX_IOVECS);
    let mut permits: Vec<OwnedSemaphorePermit> = Vec::new();
    while let Some(first) = rx.recv().await {
        push(&mut bufs, &mut permits, first);
        while bufs.len() + 2 <= MAX_IOVECS {
            match rx.try_recv() {
                Ok(item) => push(&mut bufs, &mut permits, item),
                Err(_) => break,
            }
        }
        write_all_vectored(&mut out, &mut bufs).await?;
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
        rt.block_on(run(&mut out, &mut rx)).unwrap();
        let mut expected = Vec::new();
        for i in 0..1000u32 {
            expected.extend_from_slice(&i.to_be_bytes());
            expected.extend(std::iter::repeat_n(b'x', (i % 7) as usize));
        }
        assert_eq!(out, expected);
    }
}
