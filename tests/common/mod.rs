//! What the integration tests share: where the real broker is, and a blocking connection that
//! speaks the remoting protocol through the codec alone (a plain `std::net::TcpStream`).
//!
//! The broker is started by `scripts/rocketmq.sh start`. Tests that need it fail, loudly, when
//! it is not there: they never skip.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use brokerclient::protocol::command::{CommandMeta, FLAG_ONEWAY};
use brokerclient::protocol::frame::encode_frame;
use brokerclient::protocol::{
    CommandHeader, FrameDecoder, LanguageCode, RemotingCommand, SerializeType,
};
use bytes::BytesMut;

/// The name server's address (`BC_NAMESRV_ADDR`, default the script's 127.0.0.1:9876).
pub fn namesrv_addr() -> String {
    std::env::var("BC_NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into())
}

/// The broker's address (`BC_BROKER_ADDR`, default the script's 127.0.0.1:10911).
pub fn broker_addr() -> String {
    std::env::var("BC_BROKER_ADDR").unwrap_or_else(|_| "127.0.0.1:10911".into())
}

/// A name no other test or run uses (topics and groups are never cleaned up).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One blocking connection: write a request, read frames until its response arrives.
pub struct RawConn {
    stream: TcpStream,
    decoder: FrameDecoder,
    buf: BytesMut,
    next_opaque: i32,
    pub serialize_type: SerializeType,
    /// Requests the broker sent us while we waited (e.g. CHECK_TRANSACTION_STATE).
    pub broker_requests: Vec<RemotingCommand>,
}

impl RawConn {
    pub fn connect(addr: &str) -> RawConn {
        let sock = addr.parse().expect("address");
        let stream =
            TcpStream::connect_timeout(&sock, Duration::from_secs(5)).unwrap_or_else(|e| {
                panic!(
                    "cannot connect to {addr}: {e}. Is the broker running? Start it with \
                 `scripts/rocketmq.sh start`."
                )
            });
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .unwrap();
        RawConn {
            stream,
            decoder: FrameDecoder::default(),
            buf: BytesMut::with_capacity(64 * 1024),
            next_opaque: 1,
            serialize_type: SerializeType::Json,
            broker_requests: Vec::new(),
        }
    }

    fn write<H: CommandHeader>(&mut self, code: i32, flag: i32, header: &H, body: &[u8]) -> i32 {
        let opaque = self.next_opaque;
        self.next_opaque += 1;
        let meta = CommandMeta {
            code,
            language: LanguageCode::Java,
            version: 401,
            opaque,
            flag,
            remark: None,
        };
        let mut out = BytesMut::new();
        encode_frame(&mut out, &meta, header, body, self.serialize_type).expect("encode");
        self.stream.write_all(&out).expect("write");
        opaque
    }

    /// Sends a request and returns its response.
    pub fn call<H: CommandHeader>(
        &mut self,
        code: i32,
        header: &H,
        body: &[u8],
    ) -> RemotingCommand {
        let opaque = self.write(code, 0, header, body);
        loop {
            let cmd = self.read_frame();
            if cmd.is_response() && cmd.opaque == opaque {
                return cmd;
            }
            if !cmd.is_response() {
                self.broker_requests.push(cmd);
            }
        }
    }

    /// Sends a oneway request (no response comes).
    pub fn oneway<H: CommandHeader>(&mut self, code: i32, header: &H, body: &[u8]) {
        self.write(code, FLAG_ONEWAY, header, body);
    }

    /// Reads the next frame, whatever it is.
    pub fn read_frame(&mut self) -> RemotingCommand {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(cmd) = self.decoder.decode(&mut self.buf).expect("decode frame") {
                return cmd;
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the broker closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout`.
/// For waiting on the broker's own asynchronous work (route registration), not for
/// synchronising with our code.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `MQVersion` ordinal of the first 5.x release (V5_0_0, REMOTING.md §1.5).
pub const V5_0_0: i32 = 413;

/// The broker's `MQVersion` ordinal: every response carries the server's own version in its
/// `version` field (`RemotingCommand.createResponseCommand` → `setCmdVersion`).
pub fn broker_version() -> i32 {
    static VERSION: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let mut conn = RawConn::connect(&broker_addr());
        let mut header = brokerclient::protocol::command::ExtFields::new();
        header.insert("topic", "TBW102");
        header.insert("queueId", "0");
        let reply = conn.call(
            brokerclient::protocol::codes::request::GET_MAX_OFFSET,
            &header,
            &[],
        );
        reply.version
    })
}

/// 4.x brokers answer a few requests differently (docs/compatibility.md lists each case).
pub fn broker_is_4x() -> bool {
    broker_version() < V5_0_0
}

/// Everything the library logs in this test binary, as the `tracing` fmt subscriber writes it
/// (no colours).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The log text so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("the fmt subscriber writes UTF-8")
    }
}

/// Installs (once per test binary) a global subscriber that captures events at `level` and
/// above, and returns the capture. Later calls return the same capture; the first call's
/// level applies.
pub fn capture_logs(level: tracing::Level) -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let sink = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(level)
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone()
}
