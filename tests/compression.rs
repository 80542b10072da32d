//! Compression on send against the real broker: bodies at or over the threshold go out
//! compressed with the configured codec (the stored record is small and carries the codec's
//! type bits), smaller or incompressible ones as they are, batches all or none; every body is
//! pulled back whole. Fails (never skips) when the broker is absent.

mod common;

use std::time::{Duration, Instant};

use brokerclient::client::{PullRequest, PullStatus, SendCompression};
use brokerclient::protocol::message::{Message, MessageExt};
use brokerclient::protocol::sysflag::{message as sysflag, CompressionType};
use brokerclient::{BrokerClient, ClientConfig};
use common::{broker_addr, namesrv_addr, unique_name, wait_for};

fn client(compression: SendCompression) -> BrokerClient {
    BrokerClient::new(
        broker_addr(),
        ClientConfig {
            compression,
            ..Default::default()
        },
    )
}

fn new_topic(client: &BrokerClient, prefix: &str) -> String {
    let topic = unique_name(prefix);
    client.create_topic(&topic, 1).expect("create topic");
    let ns = BrokerClient::new(namesrv_addr(), ClientConfig::default());
    wait_for("the topic's route", Duration::from_secs(30), || {
        ns.get_route_info(&topic).ok()
    });
    topic
}

/// Text that compresses well.
fn repetitive(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"compress me "[i % 12]).collect()
}

/// Bytes that do not compress (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Pulls queue 0 of `topic` from `from` until `n` messages arrived (bounded).
fn pull_n(client: &BrokerClient, topic: &str, from: i64, n: usize) -> Vec<MessageExt> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    let mut offset = from;
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} messages",
            got.len()
        );
        let mut req = PullRequest::new("bc_compress_cg", topic, 0, offset);
        req.suspend_timeout = Some(Duration::from_secs(2));
        let r = client.pull(&req).expect("pull");
        if r.status == PullStatus::Found {
            got.extend(r.messages);
        }
        offset = r.next_begin_offset;
    }
    got
}

fn type_bits(m: &MessageExt) -> i32 {
    m.sys_flag & sysflag::COMPRESSION_TYPE_MASK
}

#[test]
fn bodies_over_the_threshold_go_out_compressed_with_each_codec() {
    for codec in [
        CompressionType::Zlib,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ] {
        let c = client(SendCompression {
            threshold: 4096,
            codec,
            level: 5,
        });
        let topic = new_topic(&c, "bc_compress");
        let big = repetitive(64 * 1024);
        let small = repetitive(1024);
        let random = noise(8 * 1024);
        let first = c
            .send("bc_compress_pg", 0, &Message::new(&topic, big.clone()))
            .expect("send big");
        c.send_oneway("bc_compress_pg", 0, &Message::new(&topic, small.clone()))
            .expect("send small (oneway)");
        c.send("bc_compress_pg", 0, &Message::new(&topic, random.clone()))
            .expect("send noise");
        let got = pull_n(&c, &topic, first.queue_offset, 3);
        let by_len = |len: usize| {
            got.iter()
                .find(|m| m.body.len() == len)
                .unwrap_or_else(|| panic!("{codec:?}: no body of {len} bytes"))
        };
        let b = by_len(big.len());
        assert_eq!(&b.body[..], &big[..], "{codec:?}");
        assert_eq!(
            type_bits(b),
            codec.sys_flag_bits(),
            "{codec:?}: {:#x}",
            b.sys_flag
        );
        assert!(
            b.store_size < 16 * 1024,
            "{codec:?}: a 64 KiB repetitive body was stored in {} bytes",
            b.store_size
        );
        let s = by_len(small.len());
        assert_eq!(&s.body[..], &small[..]);
        assert_eq!(type_bits(s), 0, "below the threshold: sent as it is");
        let r = by_len(random.len());
        assert_eq!(&r.body[..], &random[..]);
        assert_eq!(type_bits(r), 0, "{codec:?}: incompressible: sent as it is");
        assert!(r.store_size > random.len() as i32);
    }
}

#[test]
fn compression_off_and_batches_all_or_none() {
    let off = client(SendCompression::OFF);
    let topic = new_topic(&off, "bc_compress_off");
    let big = repetitive(64 * 1024);
    let sent = off
        .send("bc_compress_pg", 0, &Message::new(&topic, big.clone()))
        .expect("send");
    let got = pull_n(&off, &topic, sent.queue_offset, 1);
    assert_eq!(&got[0].body[..], &big[..]);
    assert_eq!(type_bits(&got[0]), 0);
    assert!(got[0].store_size > big.len() as i32, "off: stored as it is");

    // The default configuration compresses (zlib, 4 KiB), batches too: 4 entries of 2 KiB
    // total 8 KiB, so every entry is compressed; 4 entries of 100 bytes stay as they are.
    let on = client(SendCompression::default());
    let entries: Vec<Message> = (0..4)
        .map(|i| {
            let mut body = repetitive(2048);
            body[0] = b'0' + i;
            Message::new(&topic, body)
        })
        .collect();
    let batch = on.send_batch("bc_compress_pg", 0, &entries).expect("batch");
    let tiny: Vec<Message> = (0..4)
        .map(|_| Message::new(&topic, repetitive(100)))
        .collect();
    on.send_batch("bc_compress_pg", 0, &tiny)
        .expect("tiny batch");
    let got = pull_n(&on, &topic, batch.queue_offset, 8);
    for (i, m) in got[..4].iter().enumerate() {
        assert_eq!(&m.body[..], &entries[i].body[..], "entry {i}");
        assert_eq!(
            type_bits(m),
            CompressionType::Zlib.sys_flag_bits(),
            "entry {i}"
        );
        assert!(
            m.store_size < 2048,
            "entry {i} stored in {} bytes",
            m.store_size
        );
    }
    for m in &got[4..] {
        assert_eq!(&m.body[..], &repetitive(100)[..]);
        assert_eq!(type_bits(m), 0);
    }
}
