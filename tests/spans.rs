//! Operations as `tracing` spans, against the real broker: each operation of the client is a
//! span with its topic, queue and group (or the message id it views); each request inside it a `broker_request` span with
//! the operation, request code, broker address and opaque; and each request ends with one
//! debug event carrying client id, operation, status, elapsed time and error, as pyrocketmq's
//! operation log does. A subscriber of the application's (here the fmt one, which prints the
//! span path in front of every event) sees them. Fails (never skips) when the broker is absent.

mod common;

use brokerclient::client::PullRequest;
use brokerclient::protocol::message::Message;
use brokerclient::protocol::msgid::{decode_offset_msg_id, offset_msg_id};
use brokerclient::{BrokerClient, ClientConfig};
use common::{broker_addr, unique_name};

#[test]
fn operations_are_spans_and_end_with_an_event() {
    let captured = common::capture_logs(tracing::Level::DEBUG);
    let client = BrokerClient::new(broker_addr(), ClientConfig::default());
    let topic = unique_name("bc_spans");
    client.create_topic(&topic, 1).expect("create topic");
    let sent = client
        .send("bc_spans_pg", 0, &Message::new(&topic, &b"traced"[..]))
        .expect("send");
    client
        .pull(&PullRequest::new(
            "bc_spans_cg",
            &topic,
            0,
            sent.queue_offset,
        ))
        .expect("pull");
    // A well-formed id past the end of the commit log: refused by every broker version.
    let (host, _) = decode_offset_msg_id(&sent.offset_msg_id).unwrap();
    let beyond = offset_msg_id(host, i64::MAX / 2);
    let err = client.view_message(&beyond).expect_err("no message there");
    let text = captured.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&topic)).collect();
    let find = |needles: &[&str]| {
        lines
            .iter()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no line with {needles:?} in:\n{}", lines.join("\n")))
            .to_string()
    };
    let send = find(&[
        "send{",
        "broker_request{",
        "operation done",
        "status=\"ok\"",
    ]);
    for field in [
        &format!("topic={topic}"),
        "queue_id=0",
        "group=\"bc_spans_pg\"",
        "operation=\"send\"",
        "code=310",
        &format!("addr={}", broker_addr()),
        "opaque=",
        "client_id=",
        "elapsed_us=",
    ] {
        assert!(send.contains(field), "{field} not in {send}");
    }
    find(&[
        "pull{",
        &format!("offset={}", sent.queue_offset),
        "status=\"ok\"",
    ]);
    let refused = text
        .lines()
        .find(|l| {
            l.contains("view_message{") && l.contains(&beyond) && l.contains("operation done")
        })
        .unwrap_or_else(|| panic!("no view_message line for {beyond} in:\n{text}"));
    assert!(
        refused.contains("status=\"refused\"") && refused.contains("response_code="),
        "{refused} (the broker's answer to {err:?})"
    );
}
