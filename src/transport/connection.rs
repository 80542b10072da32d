//! One TCP connection to a broker or name server: a reader task that decodes frames and
//! completes waiters, the write path (a caller writes its frame itself when the socket is
//! free, else a writer task batches what is queued), and the in-flight table between them.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::config::TransportConfig;
use super::inflight::InflightTable;
use super::runtime::runtime;
use super::socket::{self, NoSigPipe};
use super::tls;
use super::writer::{self, Submitted, WriteItem, WritePath};
use crate::error::{BrokerError, Result};
use crate::protocol::acl;
use crate::protocol::codes::response;
use crate::protocol::command::{CommandMeta, FLAG_ONEWAY, FLAG_RESPONSE};
use crate::protocol::frame::encode_frame_head;
use crate::protocol::{CommandHeader, FrameDecoder, RemotingCommand};

/// Receives the requests a broker sends to its clients (CHECK_TRANSACTION_STATE,
/// NOTIFY_CONSUMER_IDS_CHANGED, …). Runs on the connection's reader task: it must not block.
pub trait BrokerRequestHandler: Send + Sync + 'static {
    /// Returns the response to a request that expects one, or `None` to answer
    /// REQUEST_CODE_NOT_SUPPORTED. The return value of a oneway request is ignored.
    fn handle(&self, addr: &str, request: RemotingCommand) -> Option<RemotingCommand>;
}

struct Shared {
    addr: String,
    local_addr: Option<std::net::SocketAddr>,
    config: Arc<TransportConfig>,
    inflight: InflightTable,
    window: Arc<Semaphore>,
    next_opaque: AtomicI32,
    writes: WritePath,
    shutdown: watch::Sender<bool>,
    /// Frame bytes handed to the socket (written or queued) and read from it.
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
}

/// A connection; cheap to clone (all clones share it). Dropping every clone does not close
/// it while requests are in flight: call [`Connection::close`].
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl Connection {
    /// Connects to `addr` ("host:port") within both the connect timeout and `deadline`, and
    /// starts the connection's reader and writer tasks.
    pub async fn connect(
        addr: &str,
        config: Arc<TransportConfig>,
        handler: Option<Arc<dyn BrokerRequestHandler>>,
        deadline: Instant,
    ) -> Result<Connection> {
        // The socket and its tasks live on the library runtime, whatever runtime the caller
        // awaits on: a connection must outlive a short-lived caller runtime.
        let owned_addr = addr.to_owned();
        runtime()
            .spawn(Self::connect_here(owned_addr, config, handler, deadline))
            .await
            .unwrap_or_else(|e| {
                Err(BrokerError::Connection {
                    addr: addr.to_owned(),
                    reason: format!("connect task failed: {e}"),
                })
            })
    }

    async fn connect_here(
        addr: String,
        config: Arc<TransportConfig>,
        handler: Option<Arc<dyn BrokerRequestHandler>>,
        deadline: Instant,
    ) -> Result<Connection> {
        let addr = addr.as_str();
        let started = Instant::now();
        let until = deadline.min(started + config.connect_timeout);
        let stream = match tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                warn!(addr = %addr, error = %e, "connect failed");
                return Err(BrokerError::Connection {
                    addr: addr.to_owned(),
                    reason: e.to_string(),
                });
            }
            Err(_) => {
                warn!(addr = %addr, "connect timed out");
                return Err(BrokerError::Timeout {
                    addr: addr.to_owned(),
                    operation: "connect",
                    after: started.elapsed(),
                });
            }
        };
        // Small frames must leave at once: a sync send waits for its own response.
        let _ = stream.set_nodelay(true);
        let _ = socket::prepare(&stream);
        let local_addr = stream.local_addr().ok();
        let Some(tls_config) = config.tls.clone() else {
            let (read_half, write_half) = stream.into_split();
            return Ok(Self::start(
                addr,
                local_addr,
                config,
                handler,
                read_half,
                NoSigPipe(write_half),
            ));
        };
        // The handshake shares the connect budget: a peer that accepts TCP and never answers
        // the ClientHello must not hold the caller past it.
        let stream = match tokio::time::timeout_at(
            until,
            tls::handshake(&tls_config, addr, NoSigPipe(stream)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                warn!(addr = %addr, error = %e, "TLS connect failed");
                return Err(e);
            }
            Err(_) => {
                warn!(addr = %addr, "TLS handshake timed out");
                return Err(BrokerError::Timeout {
                    addr: addr.to_owned(),
                    operation: "TLS handshake",
                    after: started.elapsed(),
                });
            }
        };
        let (read_half, write_half) = tokio::io::split(stream);
        Ok(Self::start(
            addr, local_addr, config, handler, read_half, write_half,
        ))
    }

    /// Starts the reader and writer tasks of a connected stream (plain TCP or TLS).
    fn start<R, W>(
        addr: &str,
        local_addr: Option<std::net::SocketAddr>,
        config: Arc<TransportConfig>,
        handler: Option<Arc<dyn BrokerRequestHandler>>,
        read_half: R,
        write_half: W,
    ) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (writes, mut write_rx) = WritePath::new(Box::new(write_half));
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            addr: addr.to_owned(),
            local_addr,
            window: Arc::new(Semaphore::new(config.max_in_flight)),
            config,
            inflight: InflightTable::default(),
            next_opaque: AtomicI32::new(1),
            writes,
            shutdown,
            bytes_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
        });
        let conn = Connection { shared };
        let rt = tokio::runtime::Handle::current();

        let writer_conn = conn.clone();
        let writer_stop = conn.shared.shutdown.subscribe();
        rt.spawn(async move {
            let _ended = FailOnDrop(writer_conn.clone());
            let path = &writer_conn.shared.writes;
            if let Err(e) = writer::run(path, &mut write_rx, writer_stop).await {
                writer_conn.fail(BrokerError::Connection {
                    addr: writer_conn.shared.addr.clone(),
                    reason: format!("write failed: {e}"),
                });
            }
        });

        let reader_conn = conn.clone();
        rt.spawn(async move {
            let _ended = FailOnDrop(reader_conn.clone());
            reader_conn.read_loop(read_half, handler).await
        });

        info!(addr = %addr, tls = conn.shared.config.tls.is_some(), "connected");
        conn
    }

    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// Our end of the connection (its IP is what the broker sees as the client's).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.shared.local_addr
    }

    /// True until the connection fails or is closed.
    pub fn is_connected(&self) -> bool {
        self.shared.inflight.closed_reason().is_none() && !self.shared.writes.is_closed()
    }

    /// Why the connection is no longer usable, if it is not.
    pub fn closed_reason(&self) -> Option<BrokerError> {
        self.shared.inflight.closed_reason()
    }

    /// Requests waiting for their response.
    pub fn in_flight(&self) -> usize {
        self.shared.inflight.len()
    }

    /// Frame bytes written (or queued for writing) so far.
    pub fn bytes_out(&self) -> u64 {
        self.shared.bytes_out.load(Ordering::Relaxed)
    }

    /// Bytes read from the socket so far.
    pub fn bytes_in(&self) -> u64 {
        self.shared.bytes_in.load(Ordering::Relaxed)
    }

    /// Closes the connection; requests in flight fail with a connection error.
    pub fn close(&self) {
        self.fail(BrokerError::Connection {
            addr: self.shared.addr.clone(),
            reason: "connection closed by the client".into(),
        });
    }

    /// Marks the connection dead with `reason`, fails every waiter once and stops both tasks.
    fn fail(&self, reason: BrokerError) {
        let failed = self.shared.inflight.close(reason.clone());
        if self.shared.shutdown.send_replace(true) {
            return; // already closed
        }
        info!(addr = %self.shared.addr, failed, reason = %reason, "connection closed");
    }

    fn next_opaque(&self) -> i32 {
        loop {
            let o = self.shared.next_opaque.fetch_add(1, Ordering::Relaxed);
            // Wrapped around onto a request that still waits: skip it.
            if !self.shared.inflight.contains(o) {
                return o;
            }
        }
    }

    fn encode<H: CommandHeader>(
        &self,
        code: i32,
        flag: i32,
        opaque: i32,
        header: &H,
        body: &[u8],
    ) -> Result<Bytes> {
        let cfg = &self.shared.config;
        let meta = CommandMeta {
            code,
            language: cfg.language,
            version: cfg.version,
            opaque,
            flag,
            remark: None,
        };
        let mut head = BytesMut::with_capacity(256);
        let encoded = match &cfg.acl {
            None => encode_frame_head(&mut head, &meta, header, body.len(), cfg.serialize_type),
            Some(credentials) => {
                // The signature covers every field as sent, so the header becomes a field
                // list first (only with ACL: the unsigned path writes fields straight out).
                let mut fields = header.to_ext_fields();
                acl::sign(&mut fields, credentials, body, cfg.serialize_type);
                encode_frame_head(&mut head, &meta, &fields, body.len(), cfg.serialize_type)
            }
        };
        encoded
            .map_err(|e| BrokerError::InvalidArgument(format!("request cannot be encoded: {e}")))?;
        // The broker closes a connection whose frame exceeds its frame limit (16 MiB by
        // default, like ours): refused here, the caller learns why and the connection lives on
        // (a oneway send would otherwise "succeed" and break the next request).
        let frame_len = head.len() + body.len();
        if frame_len > cfg.max_frame_len {
            return Err(BrokerError::InvalidArgument(format!(
                "request frame of {frame_len} bytes exceeds max.frame.bytes ({}), the \
                 broker's frame limit",
                cfg.max_frame_len
            )));
        }
        Ok(head.freeze())
    }

    fn busy(&self) -> BrokerError {
        BrokerError::BrokerBusy {
            code: -1,
            remark: format!(
                "local in-flight window of {} requests to {} is full",
                self.shared.config.max_in_flight, self.shared.addr
            ),
        }
    }

    /// Writes the frame now when the socket is free, else queues it for the writer task.
    fn enqueue(&self, item: WriteItem) -> Result<()> {
        let len = (item.head.len() + item.body.len()) as u64;
        let reason = match self.shared.writes.submit(item) {
            Submitted::Written | Submitted::Queued => {
                self.shared.bytes_out.fetch_add(len, Ordering::Relaxed);
                return Ok(());
            }
            Submitted::Failed(e) => format!("write failed: {e}"),
            // The writer is gone (closed, or its runtime ended): dead for everyone.
            Submitted::WriterGone => "the connection's writer stopped".into(),
        };
        self.fail(BrokerError::Connection {
            addr: self.shared.addr.clone(),
            reason,
        });
        Err(self.closed_error())
    }

    fn closed_error(&self) -> BrokerError {
        self.closed_reason()
            .unwrap_or_else(|| BrokerError::Connection {
                addr: self.shared.addr.clone(),
                reason: "connection closed".into(),
            })
    }

    /// Sends a request and waits for its response until `deadline`. A full window fails at
    /// once with `BrokerBusy`; a lost connection fails with its reason; the deadline with
    /// `Timeout`. The response is returned whatever its code.
    pub async fn request<H: CommandHeader>(
        &self,
        operation: &'static str,
        code: i32,
        header: &H,
        body: Bytes,
        deadline: Instant,
    ) -> Result<RemotingCommand> {
        if let Some(reason) = self.closed_reason() {
            return Err(reason);
        }
        let started = Instant::now();
        let permit = self
            .shared
            .window
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.busy())?;
        let opaque = self.next_opaque();
        // The client's span of this request (if any) declares the field.
        tracing::Span::current().record("opaque", opaque);
        let head = self.encode(code, 0, opaque, header, &body)?;
        let rx = self.shared.inflight.insert(opaque, permit)?;
        // Forget the waiter however this future ends (timeout, error, or the caller dropping it).
        let guard = Forget {
            table: &self.shared.inflight,
            opaque,
        };
        self.enqueue(WriteItem {
            head,
            body,
            permit: None,
        })?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => {
                std::mem::forget(guard);
                reply
            }
            // The sender went away without a reply: only on a close that raced with us.
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => {
                let after = started.elapsed();
                warn!(addr = %self.shared.addr, opaque, code, operation, ?after, "request timed out");
                drop(guard);
                Err(BrokerError::Timeout {
                    addr: self.shared.addr.clone(),
                    operation,
                    after,
                })
            }
        }
    }

    /// Queues a oneway request; returns once it is queued (the broker never answers).
    pub fn oneway<H: CommandHeader>(&self, code: i32, header: &H, body: Bytes) -> Result<()> {
        if let Some(reason) = self.closed_reason() {
            return Err(reason);
        }
        let permit = self
            .shared
            .window
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.busy())?;
        let opaque = self.next_opaque();
        let head = self.encode(code, FLAG_ONEWAY, opaque, header, &body)?;
        self.enqueue(WriteItem {
            head,
            body,
            permit: Some(permit),
        })
    }

    /// Sends a response to a request the broker made (same opaque, response flag set).
    fn respond(&self, mut resp: RemotingCommand, opaque: i32) {
        resp.opaque = opaque;
        resp.flag |= FLAG_RESPONSE;
        resp.language = self.shared.config.language;
        resp.version = self.shared.config.version;
        let mut head = BytesMut::with_capacity(256);
        let encoded = encode_frame_head(
            &mut head,
            &resp.meta(),
            &resp.ext_fields,
            resp.body.len(),
            self.shared.config.serialize_type,
        );
        // Replies take a place in the window too, so a peer that floods us with requests
        // cannot grow the write queue without bound.
        let Ok(permit) = self.shared.window.clone().try_acquire_owned() else {
            warn!(addr = %self.shared.addr, opaque, "window full: reply to the broker dropped");
            return;
        };
        match encoded {
            Ok(()) => {
                let _ = self.enqueue(WriteItem {
                    head: head.freeze(),
                    body: resp.body,
                    permit: Some(permit),
                });
            }
            Err(e) => warn!(addr = %self.shared.addr, opaque, error = %e, "cannot encode response"),
        }
    }

    async fn read_loop<R: AsyncRead + Unpin>(
        self,
        mut read_half: R,
        handler: Option<Arc<dyn BrokerRequestHandler>>,
    ) {
        let mut decoder = FrameDecoder::new(self.shared.config.max_frame_len);
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let mut stop = self.shared.shutdown.subscribe();
        let reason = 'read: loop {
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Some(cmd)) => self.dispatch(cmd, handler.as_deref()),
                    Ok(None) => break,
                    Err(e) => {
                        warn!(addr = %self.shared.addr, error = %e, "protocol error, closing");
                        break 'read BrokerError::Protocol {
                            addr: self.shared.addr.clone(),
                            source: e,
                        };
                    }
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            tokio::select! {
                r = read_half.read_buf(&mut buf) => match r {
                    Ok(0) => break BrokerError::Connection {
                        addr: self.shared.addr.clone(),
                        reason: "connection closed by the peer".into(),
                    },
                    Ok(n) => {
                        self.shared.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(e) => break BrokerError::Connection {
                        addr: self.shared.addr.clone(),
                        reason: format!("read failed: {e}"),
                    },
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        };
        self.fail(reason);
    }

    fn dispatch(&self, cmd: RemotingCommand, handler: Option<&dyn BrokerRequestHandler>) {
        if cmd.is_response() {
            let opaque = cmd.opaque;
            if !self.shared.inflight.complete(opaque, Ok(cmd)) {
                debug!(addr = %self.shared.addr, opaque, "response for no waiting request dropped");
            }
            return;
        }
        let (code, opaque, oneway) = (cmd.code, cmd.opaque, cmd.is_oneway());
        debug!(addr = %self.shared.addr, code, opaque, oneway, "request from the broker");
        // A panicking handler must not take the reader (and so the connection) down with it.
        let answer = handler.and_then(|h| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                h.handle(&self.shared.addr, cmd)
            }))
            .unwrap_or_else(|_| {
                warn!(addr = %self.shared.addr, code, opaque, "broker request handler panicked");
                Some(RemotingCommand::response(
                    response::SYSTEM_ERROR,
                    opaque,
                    Some("the client's handler failed".into()),
                ))
            })
        });
        if oneway {
            return;
        }
        let resp = answer.unwrap_or_else(|| {
            RemotingCommand::response(
                response::REQUEST_CODE_NOT_SUPPORTED,
                opaque,
                Some(format!(" request type {code} not supported")),
            )
        });
        self.respond(resp, opaque);
    }
}

/// Marks the connection dead when a connection task ends, however it ends (returned, panicked,
/// or cancelled with its runtime), so nobody keeps using a connection nobody serves.
struct FailOnDrop(Connection);

impl Drop for FailOnDrop {
    fn drop(&mut self) {
        self.0.fail(BrokerError::Connection {
            addr: self.0.shared.addr.clone(),
            reason: "the connection's task ended".into(),
        });
    }
}

/// Removes a request from the in-flight table when dropped.
struct Forget<'a> {
    table: &'a InflightTable,
    opaque: i32,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.table.remove(self.opaque);
    }
}

/// A deadline `budget` from now.
pub fn deadline_after(budget: Duration) -> Instant {
    Instant::now() + budget
}
