//! ACL signing and TLS against a real broker that enforces both:
//!
//! ```text
//! cargo run --example tls_test_certs -- /tmp/bc-tls
//! BC_RMQ_TLS_DIR=/tmp/bc-tls BC_RMQ_TLS_CLIENT_AUTH=require BC_RMQ_ACL=1 \
//!     BC_NAMESRV_PORT=19976 BC_BROKER_PORT=21011 scripts/rocketmq.sh start
//! set -a; . /tmp/brokerclient-rmq-19976/acl.env; set +a
//! BC_TLS_DIR=/tmp/bc-tls BC_NAMESRV_ADDR=127.0.0.1:19976 BC_BROKER_ADDR=127.0.0.1:21011 \
//!     cargo test --test secure_broker
//! ```
//!
//! The broker speaks TLS only (`tls.server.mode=enforcing`), wants a client certificate of the
//! test CA, and authenticates every request (5.x: ACL 2.0; 4.x: ACL 1.0). The name server
//! takes TLS and plaintext. `scripts/test.sh` runs this file in its own step; without that
//! set-up every test here fails.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use brokerclient::client::{ClientConfig, PullRequest, PullStatus};
use brokerclient::manager::ManagerConfig;
use brokerclient::protocol::message::Message;
use brokerclient::transport::{Credentials, TlsConfig, TransportConfig};
use brokerclient::{BrokerClient, BrokerError, BrokerManager};
use common::{broker_addr, namesrv_addr, unique_name, wait_for, Captured};

// ---- set-up ----------------------------------------------------------------------------------

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the TLS + ACL broker of `scripts/test.sh` \
             (see the header of tests/secure_broker.rs)"
        )
    })
}

fn tls_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env("BC_TLS_DIR")).join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

fn access_key() -> String {
    env("BC_ACL_ACCESS_KEY")
}

fn secret_key() -> String {
    env("BC_ACL_SECRET_KEY")
}

/// Verified TLS with the test CA and the client certificate.
fn verified_tls() -> TlsConfig {
    TlsConfig {
        ca_file: Some(tls_file("ca.pem")),
        cert_file: Some(tls_file("client.pem")),
        key_file: Some(tls_file("client.key")),
        ..TlsConfig::default()
    }
}

fn right_keys() -> Option<Credentials> {
    Some(Credentials::new(access_key(), secret_key()))
}

/// A wrong secret that shares a prefix with the right one (so a log line that leaked part of
/// either would still be caught by the checks below).
fn wrong_secret() -> String {
    format!("{}-not-it", secret_key())
}

fn config(tls: Option<TlsConfig>, acl: Option<Credentials>) -> ClientConfig {
    ClientConfig {
        transport: TransportConfig {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            tls,
            acl,
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    }
}

fn client(tls: Option<TlsConfig>, acl: Option<Credentials>) -> BrokerClient {
    capture_logs();
    BrokerClient::new(broker_addr(), config(tls, acl))
}

fn secure_client() -> BrokerClient {
    client(Some(verified_tls()), right_keys())
}

/// A fresh four-queue topic, routed by the name server (asked over TLS too).
fn new_topic(client: &BrokerClient, prefix: &str) -> String {
    let topic = unique_name(prefix);
    client
        .create_topic(&topic, 4)
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    let ns = BrokerClient::new(namesrv_addr(), config(Some(verified_tls()), right_keys()));
    wait_for("the topic's route", Duration::from_secs(30), || {
        ns.get_route_info(&topic).ok()
    });
    topic
}

// ---- captured logs ---------------------------------------------------------------------------

/// Everything the library logs in this test process, at every level.
fn capture_logs() -> Captured {
    common::capture_logs(tracing::Level::TRACE)
}

fn logs() -> String {
    capture_logs().text()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [secret_key(), wrong_secret()] {
        assert!(
            !text.contains(&secret),
            "{what} contains a secret key:\n{text}"
        );
    }
}

// ---- ACL -------------------------------------------------------------------------------------

/// ACL refused the request: NO_PERMISSION (16) from 5.x (ACL 2.0); 4.x (ACL 1.0) answers
/// SYSTEM_ERROR (1) with the AclException text, which the client maps to the same error.
fn assert_refused(err: &BrokerError) {
    assert!(
        matches!(err, BrokerError::Authorization { code: 16, .. })
            || matches!(err, BrokerError::Authorization { code: 1, remark } if remark.contains("AclException")),
        "{err:?}"
    );
}

#[test]
fn right_keys_over_verified_tls_send_and_pull() {
    let client = secure_client();
    let topic = new_topic(&client, "bc_sec_ok");
    let mut msg = Message::new(&topic, &b"over TLS, signed"[..]);
    msg.set_tags("secure");
    msg.properties.insert("k", "v");
    let sent = client
        .send("bc_sec_producer", 1, &msg)
        .expect("signed send");
    // A body is part of the signed content: a batch signs its whole encoded body.
    let batch: Vec<Message> = (0..3)
        .map(|i| Message::new(&topic, format!("batch {i}").into_bytes()))
        .collect();
    client
        .send_batch("bc_sec_producer", 1, &batch)
        .expect("signed batch");
    let r = client
        .pull(&PullRequest::new(
            "bc_sec_consumer",
            &topic,
            1,
            sent.queue_offset,
        ))
        .expect("signed pull");
    assert_eq!(r.status, PullStatus::Found, "{r:?}");
    let bodies: Vec<&[u8]> = r.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(
        bodies,
        [
            &b"over TLS, signed"[..],
            &b"batch 0"[..],
            &b"batch 1"[..],
            &b"batch 2"[..]
        ]
    );
    assert_eq!(r.messages[0].tags(), Some("secure"));
    assert_eq!(r.messages[0].properties.get("k"), Some("v"));
    assert_eq!(
        client.get_max_offset(&topic, 1).expect("signed max offset"),
        sent.queue_offset + 4
    );
}

#[test]
fn binary_header_requests_are_signed_as_the_broker_decodes_them() {
    use brokerclient::protocol::SerializeType;
    let mut cfg = config(Some(verified_tls()), right_keys());
    cfg.transport.serialize_type = SerializeType::RocketMq;
    let client = BrokerClient::new(broker_addr(), cfg);
    let topic = new_topic(&client, "bc_sec_bin");
    let sent = client
        .send("bc_sec_producer", 0, &Message::new(&topic, &b"binary"[..]))
        .expect("signed send with the binary header");
    assert_eq!(sent.queue_offset, 0);
}

#[test]
fn the_manager_signs_too() {
    capture_logs();
    let secure = ManagerConfig {
        client: config(Some(verified_tls()), right_keys()),
        ..ManagerConfig::default()
    };
    let topic = new_topic(&secure_client(), "bc_sec_mgr");
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), secure).unwrap();
    manager.start().expect("discovery over TLS with ACL");
    let sent = manager
        .send(
            "bc_sec_producer",
            &Message::new(&topic, &b"via manager"[..]),
        )
        .expect("manager send");
    assert!(sent.queue_offset >= 0);
    manager.shutdown(Duration::from_secs(2)).unwrap();

    let wrong = ManagerConfig {
        client: config(
            Some(verified_tls()),
            Some(Credentials::new(access_key(), wrong_secret())),
        ),
        ..ManagerConfig::default()
    };
    let manager = BrokerManager::from_name_servers(&namesrv_addr(), wrong).unwrap();
    // The name server does not authenticate: discovery works, the broker then refuses.
    manager.start().expect("discovery");
    let err = manager
        .send("bc_sec_producer", &Message::new(&topic, &b"refused"[..]))
        .expect_err("wrong secret");
    assert_refused(&err);
    manager.shutdown(Duration::from_secs(2)).unwrap();
}

#[test]
fn wrong_secret_and_missing_keys_are_authorization_errors() {
    let topic = new_topic(&secure_client(), "bc_sec_wrong");
    let wrong = client(
        Some(verified_tls()),
        Some(Credentials::new(access_key(), wrong_secret())),
    );
    let err = wrong
        .send("bc_sec_producer", 0, &Message::new(&topic, &b"x"[..]))
        .expect_err("wrong secret");
    assert_refused(&err);
    assert!(!err.is_retriable());
    assert_no_secret("the error", &format!("{err} {err:?}"));

    let unknown = client(
        Some(verified_tls()),
        Some(Credentials::new("bc-no-such-user", secret_key())),
    );
    let err = unknown.get_max_offset(&topic, 0).expect_err("unknown user");
    assert!(matches!(err, BrokerError::Authorization { .. }), "{err:?}");

    let unsigned = client(Some(verified_tls()), None);
    let err = unsigned.get_max_offset(&topic, 0).expect_err("no keys");
    assert!(matches!(err, BrokerError::Authorization { .. }), "{err:?}");
}

#[test]
fn no_secret_in_logs_errors_or_debug_output() {
    let captured = capture_logs();
    let topic = new_topic(&secure_client(), "bc_sec_logs");
    // Failures log the most: refused requests, a refused handshake, a closed connection.
    let wrong = client(
        Some(verified_tls()),
        Some(Credentials::new(access_key(), wrong_secret())),
    );
    let mut texts = Vec::new();
    for _ in 0..3 {
        let err = wrong
            .send("bc_sec_producer", 0, &Message::new(&topic, &b"x"[..]))
            .unwrap_err();
        texts.push(format!("{err} {err:?}"));
    }
    let untrusted = client(
        Some(TlsConfig {
            ca_file: Some(tls_file("other-ca.pem")),
            ..verified_tls()
        }),
        Some(Credentials::new(access_key(), wrong_secret())),
    );
    let err = untrusted.get_max_offset(&topic, 0).unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let ok = secure_client();
    ok.get_max_offset(&topic, 0).unwrap();
    // Configurations print whole without their secrets.
    texts.push(format!(
        "{:?}",
        config(
            Some(verified_tls()),
            Some(Credentials::new(access_key(), wrong_secret()))
        )
    ));
    texts.push(format!("{:?}", config(Some(verified_tls()), right_keys())));
    for t in &texts {
        assert_no_secret("an error or config", t);
    }
    let logged = logs();
    assert!(
        logged.contains(&broker_addr()),
        "the capture holds the library's events:\n{logged}"
    );
    assert_no_secret("the library's log output", &logged);
    drop(captured);
}

// ---- TLS -------------------------------------------------------------------------------------

/// The reason of a connection-level failure, whatever operation saw it.
fn connection_failure(err: BrokerError) -> String {
    match err {
        BrokerError::Connection { reason, .. } => reason,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[test]
fn untrusted_certificates_are_refused_with_a_clear_error() {
    // The broker's certificate is not signed by a CA this client trusts.
    let other_ca = client(
        Some(TlsConfig {
            ca_file: Some(tls_file("other-ca.pem")),
            ..verified_tls()
        }),
        right_keys(),
    );
    let reason = connection_failure(other_ca.connect().unwrap_err());
    assert!(
        reason.contains("TLS handshake failed") && reason.contains("UnknownIssuer"),
        "{reason}"
    );
    // Nor by a CA of the platform store (the default when no CA file is given).
    let platform = client(
        Some(TlsConfig {
            ca_file: None,
            ..verified_tls()
        }),
        right_keys(),
    );
    let reason = connection_failure(platform.connect().unwrap_err());
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    // Trusted CA, but the certificate is not for this name.
    let misnamed = client(
        Some(TlsConfig {
            server_name: Some("not-the-broker.example".into()),
            ..verified_tls()
        }),
        right_keys(),
    );
    let reason = connection_failure(misnamed.connect().unwrap_err());
    assert!(reason.contains("not valid for name"), "{reason}");
}

#[test]
fn the_broker_requires_a_client_certificate_of_its_ca() {
    let topic = new_topic(&secure_client(), "bc_sec_mtls");
    let anonymous = client(
        Some(TlsConfig {
            cert_file: None,
            key_file: None,
            ..verified_tls()
        }),
        right_keys(),
    );
    // TLS 1.3: the client finishes its side of the handshake before the broker checks the
    // certificate, so the refusal (an alert, then close) reaches the first request.
    let err = anonymous.get_max_offset(&topic, 0).unwrap_err();
    assert!(matches!(err, BrokerError::Connection { .. }), "{err:?}");
    let rogue = client(
        Some(TlsConfig {
            cert_file: Some(tls_file("rogue-client.pem")),
            key_file: Some(tls_file("rogue-client.key")),
            ..verified_tls()
        }),
        right_keys(),
    );
    let err = rogue.get_max_offset(&topic, 0).unwrap_err();
    assert!(matches!(err, BrokerError::Connection { .. }), "{err:?}");
    assert_eq!(secure_client().get_max_offset(&topic, 0), Ok(0));
}

#[test]
fn plaintext_is_refused_by_the_enforcing_broker() {
    let plain = client(None, right_keys());
    let err = plain.get_max_offset("TBW102", 0).unwrap_err();
    assert!(
        matches!(
            err,
            BrokerError::Connection { .. } | BrokerError::Timeout { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn insecure_opt_out_connects_without_verifying_and_warns() {
    let insecure = client(
        Some(TlsConfig {
            ca_file: Some(tls_file("other-ca.pem")), // ignored: nothing is verified
            insecure_skip_verify: true,
            ..verified_tls()
        }),
        right_keys(),
    );
    let topic = new_topic(&secure_client(), "bc_sec_insecure");
    assert_eq!(insecure.get_max_offset(&topic, 0), Ok(0));
    let logged = logs();
    let warning = logged
        .lines()
        .find(|l| l.contains("TLS certificate verification is disabled"))
        .unwrap_or_else(|| panic!("no warning logged:\n{logged}"));
    assert!(
        warning.contains("WARN") && warning.contains(&broker_addr()),
        "{warning}"
    );
}

#[test]
fn bad_tls_files_are_invalid_arguments() {
    let missing = client(
        Some(TlsConfig {
            ca_file: Some("/nonexistent/bc-ca.pem".into()),
            ..verified_tls()
        }),
        right_keys(),
    );
    let err = missing.connect().unwrap_err();
    assert!(
        matches!(&err, BrokerError::InvalidArgument(m) if m.contains("/nonexistent/bc-ca.pem")),
        "{err:?}"
    );
}
