//! The transport against the in-process mock broker (`--features mock`): round trips, and every
//! fault the mock can inject, each with an assertion that fails if the transport mishandles it.
//!
//! No test sleeps to synchronise: they wait on responses, on the mock's request events
//! (`wait_for_requests`, `wait_for_connections`) or on a channel. Deadlines that must pass are
//! short (300 ms) so the file runs in seconds; the upper bounds have seconds of slack, so a
//! busy 2-core machine (a broker JVM booting beside) cannot break them.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use brokerclient::error::BrokerError;
use brokerclient::mock::{Behavior, MockBroker, BROKER_VERSION};
use brokerclient::protocol::codes::{request, response};
use brokerclient::protocol::command::ExtFields;
use brokerclient::protocol::headers::{
    CheckTransactionStateRequestHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    PullMessageRequestHeader, PullMessageResponseHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, UpdateConsumerOffsetRequestHeader,
    AUTO_CREATE_TOPIC_KEY,
};
use brokerclient::protocol::message::{
    decode_stored_message, decode_stored_messages, encode_stored_message, DecodeOptions, MessageExt,
};
use brokerclient::protocol::msgid::decode_offset_msg_id;
use brokerclient::protocol::properties::{keys, Properties};
use brokerclient::protocol::{
    CommandHeader, FrameDecoder, ProtocolError, RemotingCommand, SerializeType,
};
use brokerclient::transport::{
    deadline_after, runtime, BrokerRequestHandler, Connection, TransportConfig,
};
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The short deadline of the fault tests.
const DEADLINE: Duration = Duration::from_millis(300);
/// How late past its deadline a timed-out request may come back (scheduling on a busy
/// machine); a request its deadline did not end would never come back.
const SLACK: Duration = Duration::from_secs(5);
/// How much later than a request's deadline the mock answers when the answer must miss it,
/// and how long requests that must still be in flight a moment later are given: more than
/// any scheduling delay.
const MARGIN: Duration = Duration::from_secs(3);
/// A deadline no test should reach: a request that fails "promptly" fails well before it.
const LONG: Duration = Duration::from_secs(60);
/// "Promptly" / "at once": well below [`LONG`] (a request the fault did not fail would end
/// there), with seconds of slack.
const PROMPT: Duration = Duration::from_secs(10);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime::runtime().block_on(f)
}

fn config() -> Arc<TransportConfig> {
    Arc::new(TransportConfig::default())
}

async fn connect(mock: &MockBroker) -> Connection {
    connect_with(mock, config(), None).await
}

async fn connect_with(
    mock: &MockBroker,
    config: Arc<TransportConfig>,
    handler: Option<Arc<dyn BrokerRequestHandler>>,
) -> Connection {
    Connection::connect(&mock.addr(), config, handler, deadline_after(LONG))
        .await
        .expect("connect to the mock")
}

fn max_offset_header(topic: &str) -> GetMaxOffsetRequestHeader {
    GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id: 1,
        committed: Some(true),
        broker_name: None,
    }
}

/// GET_MAX_OFFSET with `deadline` from now.
async fn max_offset(conn: &Connection, budget: Duration) -> brokerclient::Result<RemotingCommand> {
    conn.request(
        "get max offset",
        request::GET_MAX_OFFSET,
        &max_offset_header("T"),
        Bytes::new(),
        deadline_after(budget),
    )
    .await
}

fn send_header(topic: &str, queue_id: i32, properties: &Properties) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: AUTO_CREATE_TOPIC_KEY.into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 7,
        properties: Some(properties.encode_to_string().unwrap()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: None,
        max_reconsume_times: None,
        broker_name: Some("mock-broker".into()),
    }
    .into()
}

fn pull_header(topic: &str, queue_id: i32, offset: i64) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..Default::default()
    }
}

fn is_connection_error(e: &BrokerError) -> bool {
    matches!(e, BrokerError::Connection { .. })
}

// ---- round trips -------------------------------------------------------------------------------

#[test]
fn request_round_trip_returns_the_mocks_answer() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        let resp = max_offset(&conn, LONG).await.unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert!(resp.is_response());
        assert_eq!(resp.version, BROKER_VERSION);
        assert_eq!(resp.serialize_type, SerializeType::Json);
        let offset: OffsetResponseHeader = resp.decode_header().unwrap();
        assert_eq!(offset.offset, 0);
        // The mock saw exactly what the transport put on the wire.
        assert_eq!(mock.requests(request::GET_MAX_OFFSET), 1);
        let seen = mock.last_request(request::GET_MAX_OFFSET).unwrap();
        assert_eq!(
            seen.decode_header::<GetMaxOffsetRequestHeader>().unwrap(),
            max_offset_header("T")
        );
        assert_eq!(seen.opaque, resp.opaque);
        assert!(!seen.is_oneway());
        assert_eq!(conn.in_flight(), 0);
        conn.close();
    });
}

#[test]
fn oneway_request_reaches_the_mock() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: "CG".into(),
            topic: "T".into(),
            queue_id: 2,
            commit_offset: 42,
            broker_name: None,
        };
        conn.oneway(request::UPDATE_CONSUMER_OFFSET, &header, Bytes::new())
            .unwrap();
        assert!(
            mock.wait_for_requests(request::UPDATE_CONSUMER_OFFSET, 1, LONG)
                .await
        );
        let seen = mock.last_request(request::UPDATE_CONSUMER_OFFSET).unwrap();
        assert!(seen.is_oneway());
        assert_eq!(
            seen.decode_header::<UpdateConsumerOffsetRequestHeader>()
                .unwrap(),
            header
        );
        // Processed (the offset is committed), not answered: nothing waits on the client.
        assert_eq!(mock.consumer_offset("CG", "T", 2), Some(42));
        assert_eq!(conn.in_flight(), 0);
        assert!(conn.is_connected());
        conn.close();
    });
}

#[test]
fn sent_messages_come_back_from_pull() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        let mut props = Properties::new();
        props.insert(keys::TAGS, "tagA");
        props.insert(keys::UNIQ_KEY, "7F0000010001000000000000000000AA");
        let sent = conn
            .request(
                "send",
                request::SEND_MESSAGE_V2,
                &send_header("TopicP", 3, &props),
                Bytes::from_static(b"hello mock"),
                deadline_after(LONG),
            )
            .await
            .unwrap();
        assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
        let h: SendMessageResponseHeader = sent.decode_header().unwrap();
        assert_eq!((h.queue_id, h.queue_offset), (3, 0));
        assert_eq!(h.region_id.as_deref(), Some("DefaultRegion"));
        assert_eq!(h.trace_on.as_deref(), Some("true"));
        assert_eq!(h.transaction_id.as_deref(), props.get(keys::UNIQ_KEY));
        let (store_host, _) = decode_offset_msg_id(&h.msg_id).unwrap();
        assert_eq!(store_host, mock.socket_addr());
        assert_eq!(mock.queue_offsets("TopicP", 3), (0, 1));

        let pulled = conn
            .request(
                "pull",
                request::PULL_MESSAGE,
                &pull_header("TopicP", 3, 0),
                Bytes::new(),
                deadline_after(LONG),
            )
            .await
            .unwrap();
        assert_eq!(pulled.code, response::SUCCESS);
        assert_eq!(pulled.remark.as_deref(), Some("FOUND"));
        let ph: PullMessageResponseHeader = pulled.decode_header().unwrap();
        assert_eq!(
            (ph.next_begin_offset, ph.min_offset, ph.max_offset),
            (1, 0, 1)
        );
        let msgs = decode_stored_messages(pulled.body, &DecodeOptions::new()).unwrap();
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert_eq!(&m.body[..], b"hello mock");
        assert_eq!((m.topic.as_str(), m.queue_id, m.flag), ("TopicP", 3, 7));
        assert_eq!(m.tags(), Some("tagA"));
        assert_eq!(m.offset_msg_id(), h.msg_id);

        // Caught up: PULL_NOT_FOUND with Java's status name.
        let again = conn
            .request(
                "pull",
                request::PULL_MESSAGE,
                &pull_header("TopicP", 3, 1),
                Bytes::new(),
                deadline_after(LONG),
            )
            .await
            .unwrap();
        assert_eq!(again.code, response::PULL_NOT_FOUND);
        assert_eq!(again.remark.as_deref(), Some("OFFSET_OVERFLOW_ONE"));
        conn.close();
    });
}

// ---- faults ------------------------------------------------------------------------------------

#[test]
fn never_respond_times_out_at_the_deadline() {
    let mock = MockBroker::start().unwrap();
    mock.set_behavior(Behavior::NeverRespond);
    block_on(async {
        let conn = connect(&mock).await;
        let started = Instant::now();
        let err = max_offset(&conn, DEADLINE).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, BrokerError::Timeout { .. }), "{err:?}");
        assert!(
            elapsed >= DEADLINE,
            "returned before its deadline: {elapsed:?}"
        );
        assert!(elapsed < DEADLINE + SLACK, "returned too late: {elapsed:?}");
        assert_eq!(
            conn.in_flight(),
            0,
            "the timed-out waiter must be forgotten"
        );
        assert_eq!(mock.requests(request::GET_MAX_OFFSET), 1);
        // A timeout is not a connection failure.
        assert!(conn.is_connected());
        conn.close();
    });
}

/// Puts `n` GET_MAX_OFFSET requests (deadline [`LONG`]) in flight on `conn`: the mock holds
/// them unanswered, and both sides have seen all of them when this returns.
async fn fill_in_flight(
    mock: &MockBroker,
    conn: &Connection,
    n: usize,
) -> JoinSet<brokerclient::Result<RemotingCommand>> {
    mock.set_behavior(Behavior::NeverRespond);
    let before = mock.requests(request::GET_MAX_OFFSET);
    let mut set = JoinSet::new();
    for _ in 0..n {
        let conn = conn.clone();
        set.spawn(async move { max_offset(&conn, LONG).await });
    }
    assert!(
        mock.wait_for_requests(request::GET_MAX_OFFSET, before + n, LONG)
            .await
    );
    assert_eq!(conn.in_flight(), n);
    set
}

/// Adds one request that meets `fault` to `n` requests in flight; returns the `n + 1`
/// results and how long they took from the fault on.
async fn inject_fault(
    mock: &MockBroker,
    conn: &Connection,
    n: usize,
    fault: Behavior,
) -> (Vec<brokerclient::Result<RemotingCommand>>, Duration) {
    let mut set = fill_in_flight(mock, conn, n).await;
    mock.set_behavior(fault);
    let started = Instant::now();
    let trigger = conn.clone();
    set.spawn(async move { max_offset(&trigger, LONG).await });
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.unwrap());
    }
    (results, started.elapsed())
}

#[test]
fn reset_mid_frame_fails_every_request_once_and_promptly() {
    const N: usize = 50;
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        let (results, elapsed) = inject_fault(&mock, &conn, N, Behavior::ResetMidFrame).await;
        // One result per request (a JoinSet yields each task once), every one a connection
        // error.
        assert_eq!(results.len(), N + 1);
        for r in &results {
            assert!(
                matches!(r, Err(e) if is_connection_error(e)),
                "expected a connection error, got {r:?}"
            );
        }
        assert!(
            elapsed < PROMPT,
            "failures took {elapsed:?}, deadline {LONG:?}"
        );
        assert!(!conn.is_connected());
        assert!(conn
            .closed_reason()
            .as_ref()
            .is_some_and(is_connection_error));
        assert_eq!(conn.in_flight(), 0);

        // The dead connection refuses at once.
        let t = Instant::now();
        let err = max_offset(&conn, LONG).await.unwrap_err();
        assert!(is_connection_error(&err), "{err:?}");
        assert!(t.elapsed() < PROMPT, "{:?}", t.elapsed());
        let err = conn
            .oneway(request::HEART_BEAT, &ExtFields::new(), Bytes::new())
            .unwrap_err();
        assert!(is_connection_error(&err), "{err:?}");
    });
}

/// With `n` requests in flight, `fault` must fail each of them (and the request that meets
/// it) promptly with a protocol error, mark the connection closed and really close its socket
/// (the mock sees it go).
async fn assert_protocol_failure(
    mock: &MockBroker,
    n: usize,
    fault: Behavior,
) -> Vec<ProtocolError> {
    let conn = connect(mock).await;
    let (results, elapsed) = inject_fault(mock, &conn, n, fault).await;
    let mut sources = Vec::new();
    for r in results {
        match r {
            Err(BrokerError::Protocol { source, .. }) => sources.push(source),
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }
    assert!(elapsed < PROMPT, "took {elapsed:?}, deadline {LONG:?}");
    assert_eq!(sources.len(), n + 1);
    assert!(!conn.is_connected());
    assert!(matches!(
        conn.closed_reason(),
        Some(BrokerError::Protocol { .. })
    ));
    assert_eq!(conn.in_flight(), 0);
    assert!(
        mock.wait_for_connections(0, LONG).await,
        "the client must close the socket, not only stop using it"
    );
    sources
}

#[test]
fn garbage_frame_fails_requests_with_a_protocol_error_and_closes() {
    let mock = MockBroker::start().unwrap();
    let sources = block_on(assert_protocol_failure(&mock, 10, Behavior::Garbage));
    assert!(
        sources
            .iter()
            .all(|s| *s == ProtocolError::UnknownSerializeType(5)),
        "{sources:?}"
    );
}

#[test]
fn oversize_frame_fails_requests_with_a_protocol_error_and_closes() {
    let mock = MockBroker::start().unwrap();
    let sources = block_on(assert_protocol_failure(&mock, 10, Behavior::Oversize));
    assert!(
        sources
            .iter()
            .all(|s| matches!(s, ProtocolError::FrameTooLarge { len, .. } if *len == 64 * 1024 * 1024 + 4)),
        "{sources:?}"
    );
}

#[test]
fn wrong_opaque_response_is_dropped_and_the_request_times_out() {
    let mock = MockBroker::start().unwrap();
    mock.set_behavior(Behavior::WrongOpaque);
    block_on(async {
        let conn = connect(&mock).await;
        let started = Instant::now();
        let err = max_offset(&conn, DEADLINE).await.unwrap_err();
        assert!(matches!(err, BrokerError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() >= DEADLINE);
        assert_eq!(conn.in_flight(), 0);
        // The stray response did not break the connection: the next request is answered.
        assert!(conn.is_connected());
        mock.set_behavior(Behavior::Normal);
        let resp = max_offset(&conn, LONG).await.unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        conn.close();
    });
}

#[test]
fn delayed_response_arrives_and_a_late_one_is_dropped() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        mock.set_behavior(Behavior::Delay(Duration::from_millis(100)));
        let started = Instant::now();
        let resp = max_offset(&conn, LONG).await.unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert!(started.elapsed() >= Duration::from_millis(100));

        // Answered after its deadline: a timeout, then the late answer must match nothing.
        // The next request is delayed as much: the mock answers in due order, so its answer
        // comes after the late one, which has arrived (and was dropped) by then.
        mock.set_behavior(Behavior::Delay(DEADLINE + MARGIN));
        let err = max_offset(&conn, DEADLINE).await.unwrap_err();
        assert!(matches!(err, BrokerError::Timeout { .. }), "{err:?}");
        let resp = max_offset(&conn, LONG).await.unwrap();
        mock.set_behavior(Behavior::Normal);
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(
            resp.opaque,
            mock.last_request(request::GET_MAX_OFFSET).unwrap().opaque
        );
        assert_eq!(conn.in_flight(), 0);
        assert!(conn.is_connected());
        conn.close();
    });
}

#[test]
fn system_busy_comes_back_as_a_response_and_maps_to_broker_busy() {
    let mock = MockBroker::start().unwrap();
    let remark = "[REJECTREQUEST]system busy, start flow control for a while";
    mock.set_behavior(Behavior::RespondWith(response::SYSTEM_BUSY, remark.into()));
    block_on(async {
        let conn = connect(&mock).await;
        let mut props = Properties::new();
        props.insert(keys::TAGS, "t");
        let resp = conn
            .request(
                "send",
                request::SEND_MESSAGE_V2,
                &send_header("Busy", 0, &props),
                Bytes::from_static(b"x"),
                deadline_after(LONG),
            )
            .await
            .expect("the transport returns responses whatever their code");
        assert_eq!(resp.code, response::SYSTEM_BUSY);
        assert_eq!(resp.remark.as_deref(), Some(remark));
        let err = BrokerError::from_response(resp.code, resp.remark.as_deref());
        assert!(
            matches!(&err, BrokerError::BrokerBusy { code: 2, remark: r } if r == remark),
            "{err:?}"
        );
        assert!(err.is_retriable());
        // A rejected send is not stored.
        assert_eq!(mock.queue_offsets("Busy", 0), (0, 0));
        assert!(conn.is_connected());
        conn.close();
    });
}

/// The manager's send retry policy: a busy broker is tried `1 + send_retries` times with the
/// back-off between attempts; a policy that does not retry busy brokers tries once; a failure
/// that says the message is bad is never retried. (One broker: the retry falls back to it.)
#[test]
fn manager_send_retries_follow_the_policy() {
    use brokerclient::manager::retry::RetryOn;
    use brokerclient::manager::{BrokerManager, ManagerConfig};
    let mock = MockBroker::start().unwrap();
    let manager = |retry_on: RetryOn, backoff: Duration| {
        let config = ManagerConfig {
            send_retries: 2,
            send_retry_backoff: backoff,
            send_retry_max_backoff: backoff,
            send_retry_on: retry_on,
            ..Default::default()
        };
        let m = BrokerManager::from_name_servers(&mock.addr(), config).unwrap();
        m.with_timeout(Duration::from_secs(30))
    };
    let msg = brokerclient::protocol::message::Message::new("Retried", &b"x"[..]);
    let busy = "[REJECTREQUEST]system busy";
    mock.set_behavior_for(
        request::SEND_MESSAGE_V2,
        Behavior::RespondWith(response::SYSTEM_BUSY, busy.into()),
    );

    let all = manager(RetryOn::ALL, Duration::from_millis(200));
    mock.reset_counters();
    let started = std::time::Instant::now();
    let err = all.send("pg", &msg).expect_err("busy every time");
    assert!(matches!(err, BrokerError::BrokerBusy { .. }), "{err:?}");
    assert_eq!(
        mock.requests(request::SEND_MESSAGE_V2),
        3,
        "1 + send_retries attempts"
    );
    // Two waits, each at least half the 200 ms back-off (jitter keeps the upper half).
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );

    let no_busy = manager(
        RetryOn::parse("connection,timeout").unwrap(),
        Duration::ZERO,
    );
    mock.reset_counters();
    assert!(no_busy.send("pg", &msg).is_err());
    assert_eq!(
        mock.requests(request::SEND_MESSAGE_V2),
        1,
        "busy is not retried"
    );

    mock.set_behavior_for(
        request::SEND_MESSAGE_V2,
        Behavior::RespondWith(response::MESSAGE_ILLEGAL, "bad".into()),
    );
    mock.reset_counters();
    assert!(all.send("pg", &msg).is_err());
    assert_eq!(
        mock.requests(request::SEND_MESSAGE_V2),
        1,
        "a refused message is final"
    );

    mock.clear_behavior_overrides();
    assert!(all.send("pg", &msg).is_ok());
    all.shutdown(Duration::from_secs(5)).unwrap();
    no_busy.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn full_window_refuses_at_once_and_frees_up_after_timeouts() {
    let mock = MockBroker::start().unwrap();
    mock.set_behavior(Behavior::NeverRespond);
    let cfg = Arc::new(TransportConfig {
        max_in_flight: 4,
        ..TransportConfig::default()
    });
    block_on(async {
        let conn = connect_with(&mock, cfg, None).await;
        let mut set = JoinSet::new();
        // Their deadline is long enough that they still hold the window when it is probed.
        for _ in 0..4 {
            let conn = conn.clone();
            set.spawn(async move { max_offset(&conn, MARGIN).await });
        }
        // All four hold a place once the mock has seen them.
        assert!(
            mock.wait_for_requests(request::GET_MAX_OFFSET, 4, LONG)
                .await
        );
        assert_eq!(conn.in_flight(), 4);

        let t = Instant::now();
        let err = max_offset(&conn, LONG).await.unwrap_err();
        assert!(
            matches!(err, BrokerError::BrokerBusy { code: -1, .. }),
            "{err:?}"
        );
        assert!(t.elapsed() < PROMPT, "{:?}", t.elapsed());
        let err = conn
            .oneway(
                request::GET_MAX_OFFSET,
                &max_offset_header("T"),
                Bytes::new(),
            )
            .unwrap_err();
        assert!(
            matches!(err, BrokerError::BrokerBusy { code: -1, .. }),
            "{err:?}"
        );
        assert_eq!(
            mock.requests(request::GET_MAX_OFFSET),
            4,
            "refused ones are not sent"
        );

        while let Some(r) = set.join_next().await {
            let err = r.unwrap().unwrap_err();
            assert!(matches!(err, BrokerError::Timeout { .. }), "{err:?}");
        }
        assert_eq!(conn.in_flight(), 0);
        mock.set_behavior(Behavior::Normal);
        let resp = max_offset(&conn, LONG)
            .await
            .expect("the window is free again");
        assert_eq!(resp.code, response::SUCCESS);
        conn.close();
    });
}

// ---- broker → client ---------------------------------------------------------------------------

#[test]
fn unknown_broker_request_is_answered_request_code_not_supported() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let conn = connect(&mock).await;
        let ext: ExtFields = [("k", "v")].into_iter().collect();
        let resp = mock
            .request_client(9999, ext, Bytes::from_static(b"?"), false)
            .await
            .expect("the client must answer a request it does not support");
        assert!(resp.is_response());
        assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            resp.remark.as_deref(),
            Some(" request type 9999 not supported")
        );
        assert!(conn.is_connected());
        conn.close();
    });
}

/// Forwards every broker request to a channel; answers GET_CONSUMER_RUNNING_INFO.
struct Recorder(mpsc::Sender<RemotingCommand>);

impl BrokerRequestHandler for Recorder {
    fn handle(&self, _addr: &str, request: RemotingCommand) -> Option<RemotingCommand> {
        let code = request.code;
        let _ = self.0.try_send(request);
        (code == request::GET_CONSUMER_RUNNING_INFO).then(|| {
            RemotingCommand::response(response::SUCCESS, 0, None)
                .with_body(Bytes::from_static(b"{\"running\":true}"))
        })
    }
}

#[test]
fn handler_sees_check_transaction_state_and_answers_requests() {
    let mock = MockBroker::start().unwrap();
    block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let conn = connect_with(&mock, config(), Some(Arc::new(Recorder(tx)))).await;

        let half = MessageExt {
            topic: "TxTopic".into(),
            body: Bytes::from_static(b"half"),
            queue_offset: 5,
            commit_log_offset: 1234,
            store_host: mock.socket_addr(),
            ..MessageExt::default()
        };
        let mut record = Vec::new();
        encode_stored_message(&half, &mut record).unwrap();
        let check = CheckTransactionStateRequestHeader {
            topic: Some("TxTopic".into()),
            tran_state_table_offset: 5,
            commit_log_offset: 1234,
            msg_id: Some("U1".into()),
            transaction_id: Some("U1".into()),
            offset_msg_id: Some(half.offset_msg_id()),
            broker_name: Some("mock-broker".into()),
        };
        let none = mock
            .request_client(
                request::CHECK_TRANSACTION_STATE,
                check.to_ext_fields(),
                record.into(),
                true,
            )
            .await;
        assert!(none.is_none(), "oneway: nothing to wait for");
        let got = tokio::time::timeout(LONG, rx.recv())
            .await
            .expect("the handler must see the request")
            .unwrap();
        assert_eq!(got.code, request::CHECK_TRANSACTION_STATE);
        assert!(got.is_oneway());
        assert_eq!(
            got.decode_header::<CheckTransactionStateRequestHeader>()
                .unwrap(),
            check
        );
        let msg = decode_stored_message(&mut got.body.clone(), &DecodeOptions::new()).unwrap();
        assert_eq!(
            (msg.topic.as_str(), &msg.body[..]),
            ("TxTopic", &b"half"[..])
        );

        // A request that expects an answer gets the handler's, with the broker's opaque.
        let resp = mock
            .request_client(
                request::GET_CONSUMER_RUNNING_INFO,
                [("consumerGroup", "CG"), ("clientId", "c1")]
                    .into_iter()
                    .collect(),
                Bytes::new(),
                false,
            )
            .await
            .expect("the handler's answer");
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(&resp.body[..], b"{\"running\":true}");
        let seen = rx.recv().await.unwrap();
        assert_eq!(seen.opaque, resp.opaque);
        conn.close();
    });
}

// ---- lifecycle ---------------------------------------------------------------------------------

#[test]
fn mock_shutdown_fails_requests_in_flight_with_a_connection_error() {
    let mock = MockBroker::start().unwrap();
    mock.set_behavior(Behavior::NeverRespond);
    block_on(async {
        let conn = connect(&mock).await;
        let waiting = {
            let conn = conn.clone();
            tokio::spawn(async move { max_offset(&conn, LONG).await })
        };
        assert!(
            mock.wait_for_requests(request::GET_MAX_OFFSET, 1, LONG)
                .await
        );
        let started = Instant::now();
        mock.shutdown_async().await;
        assert_eq!(mock.connections(), 0);
        let err = waiting.await.unwrap().unwrap_err();
        assert!(is_connection_error(&err), "{err:?}");
        assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
        assert!(!conn.is_connected());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_starts_and_stops_inside_a_foreign_runtime() {
    let mock = MockBroker::start().unwrap();
    let conn = connect(&mock).await;
    assert!(mock.wait_for_connections(1, LONG).await);
    let resp = max_offset(&conn, LONG).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    conn.close();
    assert!(mock.wait_for_connections(0, LONG).await);
    drop(mock); // must not block or panic on a runtime thread
}

// ---- the mock's own wire behaviour (raw socket) ------------------------------------------------

/// Writes `cmd` on a raw socket and returns the socket.
fn raw_request(
    mock: &MockBroker,
    cmd: &RemotingCommand,
    ser: SerializeType,
) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(mock.socket_addr()).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    s.write_all(&cmd.to_frame(ser).unwrap()).unwrap();
    s
}

#[test]
fn mock_answers_in_json_with_every_field_java_sends() {
    let mock = MockBroker::start().unwrap();
    let mut req = RemotingCommand::request(request::GET_MAX_OFFSET, &max_offset_header("T"));
    req.opaque = 77;
    // A binary-header request still gets a JSON answer (gotcha 1).
    let mut s = raw_request(&mock, &req, SerializeType::RocketMq);
    let mut buf = BytesMut::new();
    let mut decoder = FrameDecoder::default();
    let mut chunk = [0u8; 4096];
    let frame = loop {
        if let Some(f) = decoder.next_frame(&mut buf).unwrap() {
            break f;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before a whole frame");
        buf.extend_from_slice(&chunk[..n]);
    };
    assert_eq!(frame[0], 0, "serialize type JSON");
    let header_len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize & 0xFF_FFFF;
    let header = std::str::from_utf8(&frame[4..4 + header_len]).unwrap();
    for key in [
        "\"code\":0",
        "\"extFields\":{\"offset\":\"0\"}",
        "\"flag\":1",
        "\"language\":\"JAVA\"",
        "\"opaque\":77",
        "\"serializeTypeCurrentRPC\":\"JSON\"",
        "\"version\":479",
    ] {
        assert!(header.contains(key), "{key} missing from {header}");
    }
    assert!(!header.contains("remark"), "no remark on success: {header}");
}

#[test]
fn reset_mid_frame_sends_half_a_frame_then_closes() {
    let mock = MockBroker::start().unwrap();
    mock.set_behavior(Behavior::ResetMidFrame);
    let req = RemotingCommand::request(request::GET_MAX_OFFSET, &max_offset_header("T"));
    let mut s = raw_request(&mock, &req, SerializeType::Json);
    let mut got = Vec::new();
    // read_to_end returns at EOF; a reset after the data is also an end.
    let _ = s.read_to_end(&mut got);
    assert!(got.len() > 4, "at least the length prefix: {got:?}");
    let declared = u32::from_be_bytes(got[..4].try_into().unwrap()) as usize + 4;
    assert!(got.len() < declared, "{} of {declared} bytes", got.len());
    assert!(
        declared / 2 <= got.len() + 1,
        "about half: {} of {declared}",
        got.len()
    );
}
