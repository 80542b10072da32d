//! Interoperability with the official Java client (`org.apache.rocketmq:rocketmq-client`,
//! classic remoting): what this library sends, the Java lite-pull consumer reads back intact
//! (tags, keys, user properties, unique id, delay level, transactions), and what the Java
//! producer sends (including a zlib-compressed body, a batch and a transaction), this
//! library pulls and decodes.
//!
//! The Java side is `tests/interop/java` (one class), built here once with
//! `mvn -q -B compile dependency:build-classpath` (output under target/interop-java). Needs the
//! real broker of `scripts/rocketmq.sh start` and `java` + `mvn`; `scripts/test.sh` runs this
//! file in its own step. Fails, never skips, when any of them is missing.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use brokerclient::client::{
    ClientConfig, EndTransaction, PullRequest, PullStatus, TransactionState,
};
use brokerclient::protocol::message::{Message, MessageExt};
use brokerclient::protocol::properties::keys;
use brokerclient::BrokerClient;
use common::{broker_addr, namesrv_addr, unique_name, wait_for};
use serde_json::Value;

fn broker() -> BrokerClient {
    BrokerClient::new(broker_addr(), ClientConfig::default())
}

fn new_topic(client: &BrokerClient, prefix: &str) -> String {
    let topic = unique_name(prefix);
    client
        .create_topic(&topic, 4)
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}. Is the broker running?"));
    let ns = BrokerClient::new(namesrv_addr(), ClientConfig::default());
    wait_for("the topic's route", Duration::from_secs(30), || {
        ns.get_route_info(&topic).ok()
    });
    topic
}

/// The Java program's classpath (its classes and the client's jars), built once.
fn java_classpath() -> &'static str {
    static CP: OnceLock<String> = OnceLock::new();
    CP.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let project = root.join("tests/interop/java");
        let out = root.join("target/interop-java");
        let status = Command::new("mvn")
            .args(["-q", "-B", "compile", "dependency:build-classpath"])
            .arg(format!(
                "-Dmdep.outputFile={}",
                out.join("classpath.txt").display()
            ))
            .current_dir(&project)
            .status()
            .unwrap_or_else(|e| panic!("cannot run mvn (install Maven): {e}"));
        assert!(
            status.success(),
            "mvn failed to build {}",
            project.display()
        );
        let deps = std::fs::read_to_string(out.join("classpath.txt")).unwrap();
        format!("{}:{}", out.join("classes").display(), deps.trim())
    })
}

/// Runs the Java program; returns its stdout lines parsed as JSON.
fn java(args: &[&str]) -> Vec<Value> {
    let started = Instant::now();
    let child = Command::new("java")
        .arg("-cp")
        .arg(java_classpath())
        // The client logs to ~/logs/rocketmqlogs by default: keep it inside target/.
        .arg(format!(
            "-Duser.home={}",
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/interop-java")
                .display()
        ))
        .arg("interop.Interop")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run java: {e}"));
    let output = wait_bounded(child, JAVA_LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "java {args:?} failed ({:?} after {:?}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// How long one run of the Java program may take (JVM start included) before it is killed.
const JAVA_LIMIT: Duration = Duration::from_secs(180);

/// The child's output once it exits; kills it (and fails) after `limit`.
fn wait_bounded(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            // Still running: end it, so wait_with_output returns and the test fails.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            return true;
        }
        false
    });
    let output = child.wait_with_output().expect("wait for java");
    let _ = done_tx.send(());
    assert!(
        !watchdog.join().unwrap(),
        "java did not finish within {limit:?}; killed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn body(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text(v, "body"))
        .unwrap()
}

#[test]
fn java_consumer_reads_what_we_send() {
    let client = broker();
    let topic = new_topic(&client, "bc_interop_to_java");
    let group = unique_name("bc_interop_pg");

    let mut plain = Message::new(&topic, &b"from rust"[..]);
    plain.set_tags("TagR");
    plain.set_keys(["rk1", "rk2"]);
    plain.properties.insert("color", "red");
    plain.properties.insert("unicode", "Grüße ✓");
    let plain_sent = client.send(&group, 0, &plain).expect("send");

    let mut delayed = Message::new(&topic, &b"delayed from rust"[..]);
    delayed.set_tags("TagD");
    delayed.set_delay_level(1);
    let delayed_sent = client.send(&group, 0, &delayed).expect("send delayed");

    // Two half messages: one committed (the Java consumer must see it), one rolled back
    // (it must never see it).
    let half = |body: &'static [u8]| {
        let mut m = Message::new(&topic, body);
        m.set_tags("TagT");
        m.properties.insert(keys::TRAN_MSG, "true");
        m
    };
    let committed = client
        .send(&group, 0, &half(b"committed from rust"))
        .unwrap();
    let rolled_back = client
        .send(&group, 0, &half(b"rolled back from rust"))
        .unwrap();
    for (sent, state) in [
        (&committed, TransactionState::Commit),
        (&rolled_back, TransactionState::Rollback),
    ] {
        client
            .end_transaction(&EndTransaction::for_send(&group, sent, state).unwrap())
            .expect("end transaction");
    }
    let batch: Vec<Message> = (0..2)
        .map(|i| {
            let mut m = Message::new(&topic, format!("batch {i}").into_bytes());
            m.set_keys([format!("rb{i}")]);
            m
        })
        .collect();
    let batch_sent = client.send_batch(&group, 0, &batch).expect("batch");

    // Compressed on send (the default: zlib at 4 KiB, as the Java producer): one big message
    // and a batch whose entries total over the threshold, so each entry is compressed.
    let pattern = |len: usize, seed: u8| -> Vec<u8> {
        (0..len)
            .map(|i| b'a' + ((i + seed as usize) % 26) as u8)
            .collect()
    };
    let mut big = Message::new(&topic, pattern(20_000, 0));
    big.set_keys(["rbig"]);
    let big_sent = client.send(&group, 0, &big).expect("send compressed");
    let packed: Vec<Message> = (0..3u8)
        .map(|i| {
            let mut m = Message::new(&topic, pattern(3_000, i));
            m.set_keys([format!("rz{i}")]);
            m
        })
        .collect();
    let packed_sent = client
        .send_batch(&group, 0, &packed)
        .expect("compressed batch");

    // plain, committed, 2 batch entries, the compressed one, 3 compressed batch entries,
    // then the delayed one (re-put after 1 s).
    let got = java(&[
        "consume",
        &namesrv_addr(),
        &topic,
        &unique_name("bc_interop_java_cg"),
        "9",
        "30000",
    ]);
    let by_id: HashMap<String, &Value> = got.iter().map(|v| (text(v, "uniqueId"), v)).collect();
    assert_eq!(by_id.len(), 9, "{got:#?}");
    assert!(
        !by_id.contains_key(&rolled_back.msg_id),
        "a rolled-back message was delivered: {got:#?}"
    );

    let p = by_id[&plain_sent.msg_id];
    assert_eq!(text(p, "topic"), topic);
    assert_eq!(text(p, "tags"), "TagR");
    assert_eq!(text(p, "keys"), "rk1 rk2");
    assert_eq!(p["properties"]["color"], "red");
    assert_eq!(p["properties"]["unicode"], "Grüße ✓");
    assert_eq!(body(p), b"from rust");
    assert_eq!(p["queueOffset"].as_i64(), Some(plain_sent.queue_offset));

    let d = by_id[&delayed_sent.msg_id];
    assert_eq!(d["delayLevel"].as_i64(), Some(1), "{d}");
    assert_eq!(body(d), b"delayed from rust");
    let held = d["storeTimestamp"].as_i64().unwrap() - d["bornTimestamp"].as_i64().unwrap();
    assert!(
        held >= 900,
        "delay level 1 (1 s) held it only {held} ms: {d}"
    );

    let c = by_id[&committed.msg_id];
    assert_eq!(body(c), b"committed from rust");
    assert_eq!(c["properties"][keys::TRAN_MSG], "true");
    assert_eq!(text(c, "tags"), "TagT");

    for (i, id) in batch_sent.msg_id.split(',').enumerate() {
        let b = by_id[id];
        assert_eq!(body(b), format!("batch {i}").as_bytes());
        assert_eq!(text(b, "keys"), format!("rb{i}"));
    }

    // The Java consumer inflates what we compressed.
    let b = by_id[&big_sent.msg_id];
    assert_eq!(
        body(b),
        pattern(20_000, 0),
        "compressed body as Java reads it"
    );
    assert_eq!(text(b, "keys"), "rbig");
    for (i, id) in packed_sent.msg_id.split(',').enumerate() {
        let b = by_id[id];
        assert_eq!(
            body(b),
            pattern(3_000, i as u8),
            "compressed batch entry {i}"
        );
        assert_eq!(text(b, "keys"), format!("rz{i}"));
    }
}

/// Pulls every queue of `topic` from 0 until `n` messages are there.
fn pull_all(client: &BrokerClient, topic: &str, n: usize) -> Vec<MessageExt> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut offsets = [0i64; 4];
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} messages: {got:#?}",
            got.len()
        );
        for (q, offset) in offsets.iter_mut().enumerate() {
            let r = client
                .pull(&PullRequest::new(
                    "bc_interop_rust_cg",
                    topic,
                    q as i32,
                    *offset,
                ))
                .expect("pull");
            if r.status == PullStatus::Found {
                got.extend(r.messages);
            }
            *offset = r.next_begin_offset;
        }
    }
    got
}

#[test]
fn we_pull_and_decode_what_java_sends() {
    let client = broker();
    let topic = new_topic(&client, "bc_interop_from_java");
    let sent = java(&[
        "produce",
        &namesrv_addr(),
        &topic,
        &unique_name("bc_interop_java_pg"),
    ]);
    let sent: HashMap<String, &Value> = sent.iter().map(|v| (text(v, "sent"), v)).collect();
    for v in sent.values() {
        assert_eq!(text(v, "status"), "SEND_OK", "{v}");
    }
    // plain, delayed, compressed, 3 batch entries, committed transaction.
    let got = pull_all(&client, &topic, 7);
    let by_id: HashMap<&str, &MessageExt> =
        got.iter().map(|m| (m.unique_key().unwrap(), m)).collect();
    let by_keys: HashMap<&str, &MessageExt> = got.iter().map(|m| (m.keys().unwrap(), m)).collect();
    assert_eq!(by_keys.len(), 7, "{got:#?}");

    let plain = by_id[text(sent["plain"], "msgId").as_str()];
    assert_eq!(plain.tags(), Some("TagJ"));
    assert_eq!(plain.keys(), Some("jk1 jk2"));
    assert_eq!(plain.properties.get("color"), Some("green"));
    assert_eq!(plain.properties.get("unicode"), Some("Grüße ✓"));
    assert_eq!(&plain.body[..], b"from java");
    assert_eq!(plain.offset_msg_id(), text(sent["plain"], "offsetMsgId"));
    assert_eq!(
        Some(plain.queue_offset),
        sent["plain"]["queueOffset"].as_i64()
    );

    let delayed = by_id[text(sent["delayed"], "msgId").as_str()];
    assert_eq!(delayed.property(keys::DELAY), Some("1"));
    assert_eq!(&delayed.body[..], b"delayed from java");

    // The Java producer zlib-compresses bodies over 4 KiB; the pull hands back the original.
    let big = by_id[text(sent["compressed"], "msgId").as_str()];
    assert_eq!(big.body.len(), 20_000);
    assert!(big
        .body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == b'a' + (i % 26) as u8));

    // The Java client gives the batch as a whole a UNIQ_KEY too, and the broker appends the
    // batch's properties to every entry, so each entry is stored with the batch's id (a Java
    // consumer sees the same): entries are found by their keys.
    for i in 0..3 {
        let m = by_keys[format!("jb{i}").as_str()];
        assert_eq!(m.body, format!("batch {i}").into_bytes());
        assert!(m.unique_key().is_some());
    }

    let tx = by_id[text(sent["tx-commit"], "msgId").as_str()];
    assert_eq!(&tx.body[..], b"committed from java");
    assert_eq!(tx.property(keys::TRAN_MSG), Some("true"));
    // 5.x brokers return the transaction id (= the unique id); 4.x brokers none, and the Java
    // client then reports null.
    let tx_id = text(sent["tx-commit"], "transactionId");
    assert!(
        tx_id.is_empty() || tx_id == text(sent["tx-commit"], "msgId"),
        "{tx_id}"
    );
    assert!(
        !by_id.contains_key(text(sent["tx-rollback"], "msgId").as_str()),
        "the rolled-back Java transaction was stored for consumers"
    );
}
