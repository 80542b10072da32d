//! `bc_cancel_token`: cancels asynchronous operations it was attached to (the `_with_cancel`
//! variants of the async functions), as Go's `context.Context` or Temporal's
//! `CancellationToken`. One token may be attached to any number of operations; cancelling is
//! sticky and idempotent. A cancelled operation still completes exactly once: its callback
//! gets `BC_ERR_CANCELLED`, unless it had already completed.

use tokio::sync::watch;

use super::boundary::{call, call_or, free_object, new_object, object, optional_object, Object};
use super::error::bc_error;
use super::status::bc_status;

/// A cancellation token. Create with `bc_cancel_token_new`, pass to `_with_cancel` functions,
/// trigger with `bc_cancel_token_cancel`, release with `bc_cancel_token_free`. Opaque.
pub struct bc_cancel_token {
    tx: watch::Sender<bool>,
    born: u64,
}

impl Object for bc_cancel_token {
    const NAME: &'static str = "token";

    fn born(&self) -> Option<u64> {
        Some(self.born)
    }
}

impl bc_cancel_token {
    pub(crate) fn signal(&self) -> CancelSignal {
        CancelSignal(self.tx.subscribe())
    }
}

/// What an operation holds of its token: it can see a cancel, not cause one. It does not keep
/// the token alive: once the token is freed, the operation can no longer be cancelled by it.
pub(crate) struct CancelSignal(watch::Receiver<bool>);

impl CancelSignal {
    pub(crate) fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the token is cancelled; never, when it is freed first.
    pub(crate) async fn cancelled(mut self) {
        if self.0.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await
        }
    }
}

/// The token of a `_with_cancel` call: NULL means none; one inherited through fork is
/// refused (`BC_ERR_FORKED`).
pub(crate) fn token_arg(token: *const bc_cancel_token) -> Result<Option<CancelSignal>, bc_error> {
    Ok(optional_object(token)?.map(bc_cancel_token::signal))
}

/// Creates a token, not cancelled.
///
/// Ownership: `*out_token` is the caller's; free it with `bc_cancel_token_free` (operations it
/// is attached to do not need it to stay alive). Thread-safety: any thread.
/// Errors: `BC_ERR_INVALID_ARG` (`out_token` NULL).
#[no_mangle]
pub extern "C" fn bc_cancel_token_new(
    out_token: *mut *mut bc_cancel_token,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let (tx, _) = watch::channel(false);
        let born = crate::fork::generation();
        new_object(out_token, "out_token", bc_cancel_token { tx, born })
    })
}

/// Cancels every operation attached to the token that has not completed yet: each completes
/// (soon, once) with `BC_ERR_CANCELLED`. Operations started with this token afterwards are
/// refused with `BC_ERR_CANCELLED` (and never call back). Cancelling twice is harmless; NULL
/// is ignored. Never blocks and never runs a callback on the calling thread, so it may be
/// called from a callback.
///
/// Thread-safety: any thread, concurrently with anything but `bc_cancel_token_free`.
#[no_mangle]
pub extern "C" fn bc_cancel_token_cancel(token: *const bc_cancel_token) {
    call_or((), || {
        if let Ok(t) = object(token) {
            t.tx.send_replace(true);
        }
    })
}

/// True once `bc_cancel_token_cancel` was called (false for NULL).
///
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn bc_cancel_token_is_cancelled(token: *const bc_cancel_token) -> bool {
    call_or(false, || object(token).is_ok_and(|t| *t.tx.borrow()))
}

/// Frees the token. It does **not** cancel anything: operations it was attached to run on
/// and complete normally. NULL is ignored.
///
/// Thread-safety: any thread, once, when no other thread uses the token.
#[no_mangle]
pub extern "C" fn bc_cancel_token_free(token: *mut bc_cancel_token) {
    free_object(token, drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_sticky_and_free_does_not_cancel() {
        let mut t = std::ptr::null_mut();
        assert_eq!(
            bc_cancel_token_new(&mut t, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        let before = token_arg(t).unwrap().unwrap();
        assert!(!bc_cancel_token_is_cancelled(t));
        bc_cancel_token_cancel(t);
        bc_cancel_token_cancel(t);
        assert!(bc_cancel_token_is_cancelled(t));
        assert!(before.is_cancelled());
        assert!(token_arg(t).unwrap().unwrap().is_cancelled());
        bc_cancel_token_free(t);

        let mut t = std::ptr::null_mut();
        bc_cancel_token_new(&mut t, std::ptr::null_mut());
        let s = token_arg(t).unwrap().unwrap();
        bc_cancel_token_free(t);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let fired = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(50), s.cancelled())
                .await
                .is_ok()
        });
        assert!(!fired, "a freed token never cancels");
        assert!(token_arg(std::ptr::null()).unwrap().is_none());
        bc_cancel_token_cancel(std::ptr::null());
        bc_cancel_token_free(std::ptr::null_mut());
        assert_eq!(
            bc_cancel_token_new(std::ptr::null_mut(), std::ptr::null_mut()),
            bc_status::BC_ERR_INVALID_ARG
        );
    }
}
