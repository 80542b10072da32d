//! Runs the in-process mock broker as a process, so C programs (and other languages) can be
//! tested against it: prints `MOCK_ADDR=127.0.0.1:<port>` and serves until its standard input
//! closes. `cargo run --features mock --example mock_broker`.

use std::io::{BufRead, Write};

use brokerclient::mock::MockBroker;

fn main() -> std::io::Result<()> {
    let mock = MockBroker::start()?;
    println!("MOCK_ADDR={}", mock.addr());
    std::io::stdout().flush()?;
    // Serve until the parent closes our stdin (or goes away).
    for line in std::io::stdin().lock().lines() {
        line?;
    }
    mock.shutdown();
    Ok(())
}
