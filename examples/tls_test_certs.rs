//! Writes a throw-away test PKI into a directory, for the TLS tests and
//! `BC_RMQ_TLS_DIR=DIR scripts/rocketmq.sh start`:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`, `ca.key` | the test CA |
//! | `server.pem`, `server.key` | the brokers' certificate (127.0.0.1, ::1, localhost), signed by the CA |
//! | `client.pem`, `client.key` | a client certificate signed by the CA |
//! | `other-ca.pem` | an unrelated CA: a client trusting only it must refuse the brokers |
//! | `rogue-client.pem`, `rogue-client.key` | a client certificate of the unrelated CA |
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM (what Netty's `SslContextBuilder` reads).
//!
//! Usage: `cargo run --example tls_test_certs -- DIR`

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

type Error = Box<dyn std::error::Error>;

fn ca(name: &str) -> Result<(String, String, Issuer<'static, KeyPair>), Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key_pem = key.serialize_pem();
    Ok((cert.pem(), key_pem, Issuer::new(params, key)))
}

fn leaf(
    name: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'static, KeyPair>,
) -> Result<(String, String), Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.subject_alt_names = sans;
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), Error> {
    std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}").into())
}

fn main() -> Result<(), Error> {
    let dir = std::env::args().nth(1).ok_or("usage: tls_test_certs DIR")?;
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;

    let (ca_pem, ca_key, issuer) = ca("brokerclient test CA")?;
    let server_sans = vec![
        SanType::IpAddress("127.0.0.1".parse()?),
        SanType::IpAddress("::1".parse()?),
        SanType::DnsName("localhost".try_into()?),
    ];
    let (server_pem, server_key) = leaf(
        "brokerclient test broker",
        server_sans,
        ExtendedKeyUsagePurpose::ServerAuth,
        &issuer,
    )?;
    let (client_pem, client_key) = leaf(
        "brokerclient test client",
        vec![SanType::DnsName("client.brokerclient.test".try_into()?)],
        ExtendedKeyUsagePurpose::ClientAuth,
        &issuer,
    )?;
    let (other_pem, _, other_issuer) = ca("unrelated test CA")?;
    let (rogue_pem, rogue_key) = leaf(
        "rogue client",
        vec![SanType::DnsName("rogue.brokerclient.test".try_into()?)],
        ExtendedKeyUsagePurpose::ClientAuth,
        &other_issuer,
    )?;

    write(dir, "ca.pem", &ca_pem)?;
    write(dir, "ca.key", &ca_key)?;
    write(dir, "server.pem", &server_pem)?;
    write(dir, "server.key", &server_key)?;
    write(dir, "client.pem", &client_pem)?;
    write(dir, "client.key", &client_key)?;
    write(dir, "other-ca.pem", &other_pem)?;
    write(dir, "rogue-client.pem", &rogue_pem)?;
    write(dir, "rogue-client.key", &rogue_key)?;
    println!(
        "tls_test_certs: test CA and certificates written to {}",
        dir.display()
    );
    Ok(())
}
