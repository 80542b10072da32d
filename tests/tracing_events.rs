//! The transport's `tracing` events: connect, timeouts, errors and disconnects are reported
//! with the broker address and the request's opaque as fields. Needs no broker: a listener
//! that accepts and never answers plays one.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use brokerclient::client::ClientConfig;
use brokerclient::transport::TransportConfig;
use brokerclient::{BrokerClient, BrokerError};

#[test]
fn connect_timeout_error_and_disconnect_events_carry_addr_and_opaque() {
    let captured = common::capture_logs(tracing::Level::INFO);

    // A peer that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let config = ClientConfig {
        transport: TransportConfig {
            request_timeout: Duration::from_millis(200),
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    };
    let client = BrokerClient::new(addr.clone(), config);
    let err = client.get_max_offset("T", 0).unwrap_err();
    assert!(matches!(err, BrokerError::Timeout { .. }), "{err:?}");
    client.disconnect();

    // Nothing listens here any more.
    let dead_addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let err = BrokerClient::new(dead_addr.clone(), ClientConfig::default())
        .get_max_offset("T", 0)
        .unwrap_err();
    assert!(matches!(err, BrokerError::Connection { .. }), "{err:?}");

    let logs = captured.text();
    let line = |needle: &str| {
        logs.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} event in:\n{logs}"))
            .to_owned()
    };
    assert!(line("connected").contains(&format!("addr={addr}")));
    let timeout = line("request timed out");
    assert!(timeout.contains(&format!("addr={addr}")), "{timeout}");
    assert!(timeout.contains("opaque="), "{timeout}");
    assert!(timeout.contains("WARN"), "{timeout}");
    assert!(line("connection closed").contains(&format!("addr={addr}")));
    assert!(line("connect failed").contains(&format!("addr={dead_addr}")));
    drop(silent);
}
