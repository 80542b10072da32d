//! `bc_set_log_callback`: the library's `tracing` events (connects, disconnects, timeouts,
//! broker failures…) routed to one C callback. Nothing is printed or written anywhere unless
//! a callback is set.
//!
//! Implementation: a minimal `tracing::Subscriber` (no spans kept; events only), installed as
//! the process-wide default the first time a callback is set. Its `max_level_hint` follows
//! the callback's level (off without a callback), so disabled events cost what they cost
//! without any subscriber.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use super::boundary::call;
use super::callbacks::bc_free_cb;
use super::error::bc_error;
use super::status::bc_status;
use super::text::c_text;

/// Receives one log event. `level` is 1 error, 2 warn, 3 info, 4 debug, 5 trace. `target` is
/// the emitting module (e.g. `"brokerclient::transport::connection"`), `message` the event's
/// text (e.g. `"connected"`), `fields` its structured fields as `key=value` pairs separated by
/// single spaces (e.g. `"addr=127.0.0.1:10911 opaque=42"`); a value containing a space, `=`,
/// `"` or a control character is written double-quoted with `\"`, `\\` and `\n`-style
/// escapes, so the text splits unambiguously. `""` when there are none. All three strings
/// are borrowed for the call.
///
/// Runs on the thread that emitted the event — a library thread or an application thread
/// inside a `bc_*` call — possibly on several threads at once: it must be thread-safe, fast,
/// and must not block, throw or longjmp. Events emitted by `bc_*` calls made from inside the
/// callback (on the same thread) are dropped rather than delivered recursively.
pub type bc_log_cb = Option<
    extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        message: *const c_char,
        fields: *const c_char,
    ),
>;

struct Sink {
    cb: extern "C" fn(*mut c_void, i32, *const c_char, *const c_char, *const c_char),
    user_data: usize,
    free_user_data: bc_free_cb,
    level: i32,
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(free) = self.free_user_data {
            free(self.user_data as *mut c_void);
        }
    }
}

/// The callback now set, and its level (0: none) read by `enabled` without a lock.
static SINK: RwLock<Option<Arc<Sink>>> = RwLock::new(None);
static LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALL: Once = Once::new();
static INSTALLED: AtomicU8 = AtomicU8::new(0);
const OURS: u8 = 1;
const FOREIGN: u8 = 2;

thread_local! {
    /// True while this thread runs the log callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn level_number(l: &Level) -> u8 {
    match *l {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn level_filter(n: u8) -> LevelFilter {
    match n {
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        5 => LevelFilter::TRACE,
        _ => LevelFilter::OFF,
    }
}

/// Writes `key=value` pairs, space-separated.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: String,
}

fn needs_quotes(v: &str) -> bool {
    v.is_empty()
        || v.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control())
}

impl Fields {
    fn push(&mut self, name: &str, value: &str) {
        if !self.pairs.is_empty() {
            self.pairs.push(' ');
        }
        self.pairs.push_str(name);
        self.pairs.push('=');
        if needs_quotes(value) {
            self.pairs.push('"');
            for c in value.chars() {
                match c {
                    '"' => self.pairs.push_str("\\\""),
                    '\\' => self.pairs.push_str("\\\\"),
                    '\n' => self.pairs.push_str("\\n"),
                    '\r' => self.pairs.push_str("\\r"),
                    '\t' => self.pairs.push_str("\\t"),
                    c if c.is_control() => {
                        let _ = write!(self.pairs, "\\u{:04x}", c as u32);
                    }
                    c => self.pairs.push(c),
                }
            }
            self.pairs.push('"');
        } else {
            self.pairs.push_str(value);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.push(field.name(), &text);
        }
    }
}

/// The subscriber that forwards events to the C callback.
struct CallbackSubscriber {
    next_span: AtomicU64,
}

impl Subscriber for CallbackSubscriber {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level changes at run time: ask `enabled` each time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        level_number(metadata.level()) <= LEVEL.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(level_filter(LEVEL.load(Ordering::Relaxed)))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        // During thread teardown (no thread-locals left) events are dropped.
        if IN_CALLBACK.try_with(Cell::get).unwrap_or(true) {
            return;
        }
        let Some(sink) = SINK.read().unwrap_or_else(|e| e.into_inner()).clone() else {
            return;
        };
        let meta = event.metadata();
        let level = level_number(meta.level()) as i32;
        if level > sink.level {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let target = c_text(meta.target());
        let message = c_text(&fields.message);
        let pairs = c_text(&fields.pairs);
        let _ = IN_CALLBACK.try_with(|c| c.set(true));
        (sink.cb)(
            sink.user_data as *mut c_void,
            level,
            target.as_ptr(),
            message.as_ptr(),
            pairs.as_ptr(),
        );
        let _ = IN_CALLBACK.try_with(|c| c.set(false));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Installs the subscriber once; false when the process already had a global default.
fn install() -> bool {
    INSTALL.call_once(|| {
        let sub = CallbackSubscriber {
            next_span: AtomicU64::new(1),
        };
        let state = if tracing::subscriber::set_global_default(sub).is_ok() {
            OURS
        } else {
            FOREIGN
        };
        INSTALLED.store(state, Ordering::Release);
    });
    INSTALLED.load(Ordering::Acquire) == OURS
}

/// Sets (or, with `cb` NULL, removes) the callback that receives the library's log events at
/// `level` or more severe: 1 error, 2 warn, 3 info, 4 debug, 5 trace. `fields` are
/// `key=value` text (see `bc_log_cb`). Replaces any previous callback. Without a callback
/// (the default) nothing is logged anywhere.
///
/// Ownership: the library keeps `user_data` until the callback is replaced or removed; then
/// `free_user_data(user_data)` runs once (if not NULL). When this function returns, the old
/// callback is no longer running on any thread and will not run again (called from inside
/// the callback itself, the old one's `free_user_data` runs when that callback returns).
/// With `cb` NULL, `level`, `user_data` and `free_user_data` are ignored.
///
/// The first non-NULL callback installs the library's `tracing` subscriber as the process's
/// global default. A Rust program linking this crate as a library that has installed its own
/// global subscriber already keeps it (it receives the library's events): this function then
/// returns `BC_ERR_INVALID_ARG` and takes nothing (`free_user_data` is not called). Installing
/// one after a callback was set fails in that program instead (`set_global_default` returns
/// an error). Each copy of the library (a C program, a shared object) has its own.
///
/// Thread-safety: any thread (concurrent calls: the last one wins). Errors:
/// `BC_ERR_INVALID_ARG` (level outside 1..=5 with a callback, or a foreign global
/// subscriber).
#[no_mangle]
pub extern "C" fn bc_set_log_callback(
    level: i32,
    cb: bc_log_cb,
    user_data: *mut c_void,
    free_user_data: bc_free_cb,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let new = match cb {
            None => None,
            Some(cb) => {
                if !(1..=5).contains(&level) {
                    return Err(bc_error::invalid_arg(&format!(
                        "log level {level} is not 1 (error) .. 5 (trace)"
                    )));
                }
                if !install() {
                    return Err(bc_error::invalid_arg(
                        "the process already has a global tracing subscriber (installed by \
                         the host program): the library's events go to it",
                    ));
                }
                Some(Arc::new(Sink {
                    cb,
                    user_data: user_data as usize,
                    free_user_data,
                    level,
                }))
            }
        };
        let new_level = new.as_ref().map_or(0, |s| s.level as u8);
        let old = {
            let mut slot = SINK.write().unwrap_or_else(|e| e.into_inner());
            LEVEL.store(new_level, Ordering::Relaxed);
            std::mem::replace(&mut *slot, new)
        };
        if INSTALLED.load(Ordering::Acquire) == OURS {
            tracing::callsite::rebuild_interest_cache();
        }
        if let Some(old) = old {
            // Wait for callbacks running on other threads (each holds a reference while it
            // runs); they are meant to be short. Inside a callback, our own caller holds one:
            // the last reference then releases the user data.
            if !IN_CALLBACK.try_with(Cell::get).unwrap_or(false) {
                while Arc::strong_count(&old) > 1 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            drop(old);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_key_value_pairs_quoted_when_needed() {
        let mut f = Fields::default();
        f.push("addr", "127.0.0.1:10911");
        f.push("error", "connection refused (os error 111)");
        f.push("q", "a\"b\\c\nd=e");
        f.push("empty", "");
        assert_eq!(
            f.pairs,
            r#"addr=127.0.0.1:10911 error="connection refused (os error 111)" q="a\"b\\c\nd=e" empty="""#
        );
    }
}
