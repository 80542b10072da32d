//! TCP writes that never raise SIGPIPE.
//!
//! Writing to a socket the peer has closed raises SIGPIPE on the writing thread, and its
//! default action kills the process. The library's own threads block the signal
//! ([`super::runtime`]), but a caller that finds the socket free writes its frame itself, on
//! the application's thread, whose signal mask is the application's business. So every write
//! to a broker socket goes through `send(2)` with `MSG_NOSIGNAL` (Linux and the BSDs; macOS has
//! no such flag and gets `SO_NOSIGPIPE` on the socket instead): a reset peer is an `EPIPE`
//! error, whatever thread writes and whatever its signal mask.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

#[cfg(any(target_os = "macos", target_os = "ios"))]
const SEND_FLAGS: libc::c_int = 0;
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;

/// Prepares a freshly connected socket: on platforms without `MSG_NOSIGNAL` the socket itself
/// is told not to signal.
pub(crate) fn prepare(stream: &TcpStream) -> io::Result<()> {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    SockRef::from(stream).set_nosigpipe(true)?;
    let _ = stream;
    Ok(())
}

/// Something that is, or holds, a tokio TCP stream.
pub(crate) trait AsTcp {
    fn tcp(&self) -> &TcpStream;
}

impl AsTcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl AsTcp for OwnedWriteHalf {
    fn tcp(&self) -> &TcpStream {
        self.as_ref()
    }
}

/// A TCP stream (or its write half) whose writes use `send` with `MSG_NOSIGNAL`. Reads,
/// flush and shutdown are those of the inner stream.
pub(crate) struct NoSigPipe<S>(pub S);

impl<S: AsTcp> NoSigPipe<S> {
    /// Runs one non-blocking `send` when the socket is writable; a spurious readiness
    /// (`WouldBlock`) clears it and waits again, as tokio's own writes do.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(SockRef<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let tcp = self.0.tcp();
        loop {
            ready!(tcp.poll_write_ready(cx))?;
            match tcp.try_io(Interest::WRITABLE, || send(SockRef::from(tcp))) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for NoSigPipe<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsTcp + AsyncWrite + Unpin> AsyncWrite for NoSigPipe<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |s| s.send_with_flags(buf, SEND_FLAGS))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |s| s.send_vectored_with_flags(bufs, SEND_FLAGS))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(unsafe_code)] // resets the test thread's SIGPIPE disposition and mask
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// With SIGPIPE at its default action on the writing thread, a write to a closed peer must
    /// fail with EPIPE instead of killing the test process.
    #[test]
    fn write_to_a_closed_peer_is_an_error_not_a_signal() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // SAFETY: restores the default disposition and unblocks SIGPIPE on this thread,
            // as in a C host that never touched the signal.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGPIPE);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
            drop(accepted.unwrap());
            let (_r, w) = client.unwrap().into_split();
            let mut w = NoSigPipe(w);
            let chunk = vec![7u8; 64 * 1024];
            let mut failed = None;
            for _ in 0..1000 {
                if let Err(e) = w.write_all(&chunk).await {
                    failed = Some(e);
                    break;
                }
            }
            let e = failed.expect("writes to a closed peer kept succeeding");
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ),
                "{e:?}"
            );
        });
    }
}
