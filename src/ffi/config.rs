//! `bc_config`: string key/value settings, copied by every constructor (never consumed).

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::time::Duration;

use super::boundary::{
    call, free_object, new_object, object, object_mut, optional_object, str_arg, Object,
};
use super::error::bc_error;
use super::status::bc_status;
use super::text::{c_text, json_text};
use crate::manager::retry::RetryOn;
use crate::manager::ManagerConfig;
use crate::protocol::sysflag::CompressionType;
use crate::protocol::{LanguageCode, SerializeType};
use crate::transport::{Credentials, TlsConfig};

/// Settings for `bc_client_new` and `bc_manager_new`: string keys and values, checked when
/// set. Keys (rendered from the key table in `src/ffi/config.rs`; a test fails on drift):
///
/// <!-- config keys -->
/// | key | type | default | meaning |
/// |---|---|---|---|
/// | `request.timeout.ms` | ms | 3000 | deadline of each operation (connect + write + wait); per handle: `bc_client_with_timeout` |
/// | `connect.timeout.ms` | ms | 3000 | cap on establishing a connection (and its TLS handshake) |
/// | `max.in.flight` | count | 4096 | operations in flight per client (a manager: times `pool.size`); one more is refused with `BC_ERR_WOULD_BLOCK` when submitted |
/// | `max.frame.bytes` | bytes | 16777216 | largest frame accepted or sent (the broker's own limit is 16 MiB by default) |
/// | `max.body.bytes` | bytes | 4194304 | largest message body (or batch) sent |
/// | `compress.threshold.bytes` | bytes | 4096 | bodies (a batch: its bodies together) at least this long are sent compressed when that makes them smaller; 0 turns compression off |
/// | `compress.codec` | zlib \| lz4 \| zstd | zlib | codec of compressed sends (lz4 and zstd need 5.x consumers; zlib is read by every version) |
/// | `compress.level` | level | 5 | zlib 0–9, zstd 1–22; ignored by lz4 |
/// | `header.serializer` | json \| rocketmq | json | how request headers are encoded |
/// | `language` | name | JAVA | LanguageCode sent with each request (JAVA, RUST, GO, CPP, …) |
/// | `client.id` | text | `ip@instance` | the client id brokers see (consumer lists, heartbeats) |
/// | `instance.name` | text | `<pid>#<nanos>` | the instance part of the derived client id |
/// | `pool.size` | count | 5 | manager: connections per broker |
/// | `max.consecutive.failures` | count | 3 | manager: transport failures in a row before a broker is marked down |
/// | `probe.backoff.initial.ms` | ms | 200 | manager: first wait before probing a down broker (doubles after each failed probe) |
/// | `probe.backoff.max.ms` | ms | 5000 | manager: longest wait between probes |
/// | `probe.timeout.ms` | ms | 1000 | manager: deadline of one health probe |
/// | `route.refresh.ms` | ms | 30000 | manager: how often routes are fetched again from the name servers |
/// | `name.server.attempt.timeout.ms` | ms | 1000 | manager: deadline of one attempt on one name server before the next is tried |
/// | `send.retries` | count | 2 | manager: further attempts of a route-aware send after a retriable failure, on another broker |
/// | `send.retry.backoff.ms` | ms | 20 | manager: wait before the first retry of a send (0: at once), doubled per retry, jittered (half fixed, half random), within the send's deadline |
/// | `send.retry.backoff.max.ms` | ms | 1000 | manager: longest wait between send retries |
/// | `send.retry.on` | list | all | manager: failures a send is retried after, comma-separated: `connection`, `timeout` (may duplicate: the broker may have stored it), `busy`, `system`, `route`; `all` or `none` |
/// | `acl.access.key` | text | unset | ACL: sign every request with this access key … |
/// | `acl.secret.key` | secret | unset | … and this secret key (both or neither; never logged or dumped) |
/// | `acl.security.token` | secret | unset | ACL: `SecurityToken` sent and signed with each request |
/// | `tls.enable` | bool | false | TLS with certificate verification; any other `tls.*` key also turns TLS on unless this is `false` |
/// | `tls.ca.file` | path | platform store | PEM file of the CAs trusted for brokers' certificates |
/// | `tls.cert.file` | path | unset | PEM client certificate chain (with `tls.key.file`) |
/// | `tls.key.file` | path | unset | PEM key of the client certificate (with `tls.cert.file`) |
/// | `tls.server.name` | text | host of the address | name the broker's certificate must carry |
/// | `tls.insecure` | bool | false | `true`: accept any certificate (logs a warning at each connect) |
/// | `trace.enable` | bool | false | message trace: a `Pub` record of each send (not oneway) in the Java client's format, sent asynchronously in batches to the trace topic on the same broker, for the dashboard's message-trace view; the broker needs the topic (`traceTopicEnable=true` creates `RMQ_SYS_TRACE_TOPIC`) |
/// | `trace.topic` | text | RMQ_SYS_TRACE_TOPIC | message trace: the topic trace records are sent to |
/// | `trace.queue.size` | count | 2048 | message trace: records waiting to be sent, at most; when full, records (never messages) are dropped and counted |
/// | `trace.batch.size` | count | 20 | message trace: records taken from the queue for one round of trace messages, at most |
/// <!-- end config keys -->
pub struct bc_config {
    values: BTreeMap<String, String>,
}

impl Object for bc_config {
    const NAME: &'static str = "config";
}

/// One configuration key: name, type, default and meaning. Every copy of the key
/// documentation (the `bc_config` comment in the header, `docs/c-api.md`) is rendered from
/// this table, and `config_key_docs_are_current` fails when one drifts.
// Only the documentation (rendered in tests) reads `default` and `meaning`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Key {
    pub name: &'static str,
    pub kind: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

const fn key(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        kind,
        default,
        meaning,
    }
}

pub(crate) const KEYS: &[Key] = &[
    key("request.timeout.ms", "ms", "3000", "deadline of each operation (connect + write + wait); per handle: `bc_client_with_timeout`"),
    key("connect.timeout.ms", "ms", "3000", "cap on establishing a connection (and its TLS handshake)"),
    key("max.in.flight", "count", "4096", "operations in flight per client (a manager: times `pool.size`); one more is refused with `BC_ERR_WOULD_BLOCK` when submitted"),
    key("max.frame.bytes", "bytes", "16777216", "largest frame accepted or sent (the broker's own limit is 16 MiB by default)"),
    key("max.body.bytes", "bytes", "4194304", "largest message body (or batch) sent"),
    key("compress.threshold.bytes", "bytes", "4096", "bodies (a batch: its bodies together) at least this long are sent compressed when that makes them smaller; 0 turns compression off"),
    key("compress.codec", "zlib \\| lz4 \\| zstd", "zlib", "codec of compressed sends (lz4 and zstd need 5.x consumers; zlib is read by every version)"),
    key("compress.level", "level", "5", "zlib 0–9, zstd 1–22; ignored by lz4"),
    key("header.serializer", "json \\| rocketmq", "json", "how request headers are encoded"),
    key("language", "name", "JAVA", "LanguageCode sent with each request (JAVA, RUST, GO, CPP, …)"),
    key("client.id", "text", "`ip@instance`", "the client id brokers see (consumer lists, heartbeats)"),
    key("instance.name", "text", "`<pid>#<nanos>`", "the instance part of the derived client id"),
    key("pool.size", "count", "5", "manager: connections per broker"),
    key("max.consecutive.failures", "count", "3", "manager: transport failures in a row before a broker is marked down"),
    key("probe.backoff.initial.ms", "ms", "200", "manager: first wait before probing a down broker (doubles after each failed probe)"),
    key("probe.backoff.max.ms", "ms", "5000", "manager: longest wait between probes"),
    key("probe.timeout.ms", "ms", "1000", "manager: deadline of one health probe"),
    key("route.refresh.ms", "ms", "30000", "manager: how often routes are fetched again from the name servers"),
    key("name.server.attempt.timeout.ms", "ms", "1000", "manager: deadline of one attempt on one name server before the next is tried"),
    key("send.retries", "count", "2", "manager: further attempts of a route-aware send after a retriable failure, on another broker"),
    key("send.retry.backoff.ms", "ms", "20", "manager: wait before the first retry of a send (0: at once), doubled per retry, jittered (half fixed, half random), within the send's deadline"),
    key("send.retry.backoff.max.ms", "ms", "1000", "manager: longest wait between send retries"),
    key("send.retry.on", "list", "all", "manager: failures a send is retried after, comma-separated: `connection`, `timeout` (may duplicate: the broker may have stored it), `busy`, `system`, `route`; `all` or `none`"),
    key("acl.access.key", "text", "unset", "ACL: sign every request with this access key …"),
    key("acl.secret.key", "secret", "unset", "… and this secret key (both or neither; never logged or dumped)"),
    key("acl.security.token", "secret", "unset", "ACL: `SecurityToken` sent and signed with each request"),
    key("tls.enable", "bool", "false", "TLS with certificate verification; any other `tls.*` key also turns TLS on unless this is `false`"),
    key("tls.ca.file", "path", "platform store", "PEM file of the CAs trusted for brokers' certificates"),
    key("tls.cert.file", "path", "unset", "PEM client certificate chain (with `tls.key.file`)"),
    key("tls.key.file", "path", "unset", "PEM key of the client certificate (with `tls.cert.file`)"),
    key("tls.server.name", "text", "host of the address", "name the broker's certificate must carry"),
    key("tls.insecure", "bool", "false", "`true`: accept any certificate (logs a warning at each connect)"),
    key("trace.enable", "bool", "false", "message trace: a `Pub` record of each send (not oneway) in the Java client's format, sent asynchronously in batches to the trace topic on the same broker, for the dashboard's message-trace view; the broker needs the topic (`traceTopicEnable=true` creates `RMQ_SYS_TRACE_TOPIC`)"),
    key("trace.topic", "text", "RMQ_SYS_TRACE_TOPIC", "message trace: the topic trace records are sent to"),
    key("trace.queue.size", "count", "2048", "message trace: records waiting to be sent, at most; when full, records (never messages) are dropped and counted"),
    key("trace.batch.size", "count", "20", "message trace: records taken from the queue for one round of trace messages, at most"),
];

/// The key table as a Markdown table (the text every copy of the documentation holds).
#[cfg(test)]
pub(crate) fn key_table_markdown() -> String {
    let mut t = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.name, k.kind, k.default, k.meaning
        ));
    }
    t
}

fn known(key: &str) -> bool {
    KEYS.iter().any(|k| k.name == key)
}

/// Values never shown by `bc_config_get` and `bc_config_dump`.
fn is_secret(key: &str) -> bool {
    KEYS.iter().any(|k| k.name == key && k.kind == "secret")
}

fn boolean(key: &str, v: &str) -> Result<bool, bc_error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bc_error::invalid_arg(&format!(
            "`{key}`: {v:?} is not true or false"
        ))),
    }
}

/// A non-empty value whose text must never appear in an error (secrets).
fn secret(key: &str, v: &str) -> Result<String, bc_error> {
    if v.is_empty() {
        return Err(bc_error::invalid_arg(&format!("`{key}` must not be empty")));
    }
    Ok(v.to_owned())
}

fn credentials(c: &mut ManagerConfig) -> &mut Credentials {
    c.client
        .transport
        .acl
        .get_or_insert_with(|| Credentials::new("", ""))
}

fn tls(c: &mut ManagerConfig) -> &mut TlsConfig {
    c.client
        .transport
        .tls
        .get_or_insert_with(TlsConfig::default)
}

fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, bc_error> {
    v.trim()
        .parse()
        .map_err(|_| bc_error::invalid_arg(&format!("`{key}`: {v:?} is not a valid number")))
}

fn millis(key: &str, v: &str) -> Result<Duration, bc_error> {
    let ms: u64 = parse(key, v)?;
    if ms == 0 {
        return Err(bc_error::invalid_arg(&format!("`{key}` must be positive")));
    }
    Ok(Duration::from_millis(ms))
}

fn validate(key: &str, v: &str) -> Result<(), bc_error> {
    let mut c = ManagerConfig::default();
    apply(&mut c, key, v)
}

fn apply(c: &mut ManagerConfig, key: &str, v: &str) -> Result<(), bc_error> {
    let t = &mut c.client.transport;
    match key {
        "request.timeout.ms" => t.request_timeout = millis(key, v)?,
        "connect.timeout.ms" => t.connect_timeout = millis(key, v)?,
        "max.in.flight" => t.max_in_flight = parse::<usize>(key, v)?.max(1),
        "max.frame.bytes" => t.max_frame_len = parse(key, v)?,
        "max.body.bytes" => c.client.max_body_size = parse(key, v)?,
        "compress.threshold.bytes" => c.client.compression.threshold = parse(key, v)?,
        "compress.codec" => {
            c.client.compression.codec = match v.to_ascii_lowercase().as_str() {
                "zlib" => CompressionType::Zlib,
                "lz4" => CompressionType::Lz4,
                "zstd" => CompressionType::Zstd,
                _ => {
                    return Err(bc_error::invalid_arg(&format!(
                        "`{key}`: {v:?} is not zlib, lz4 or zstd"
                    )))
                }
            }
        }
        "compress.level" => {
            let level: i32 = parse(key, v)?;
            if !(0..=22).contains(&level) {
                return Err(bc_error::invalid_arg(&format!(
                    "`{key}`: {level} is not between 0 and 22"
                )));
            }
            c.client.compression.level = level;
        }
        "header.serializer" => {
            t.serialize_type = match v.to_ascii_lowercase().as_str() {
                "json" => SerializeType::Json,
                "rocketmq" | "binary" => SerializeType::RocketMq,
                _ => {
                    return Err(bc_error::invalid_arg(&format!(
                        "`{key}`: {v:?} is not json or rocketmq"
                    )))
                }
            }
        }
        "language" => match LanguageCode::from_name(&v.to_ascii_uppercase()) {
            LanguageCode::Unknown(_) => {
                return Err(bc_error::invalid_arg(&format!(
                    "`{key}`: unknown language {v:?}"
                )))
            }
            l => t.language = l,
        },
        "client.id" => c.client.client_id = Some(v.to_owned()),
        "instance.name" => c.client.instance_name = Some(v.to_owned()),
        "pool.size" => c.connection_pool_size = parse::<usize>(key, v)?.max(1),
        "max.consecutive.failures" => c.max_consecutive_failures = parse::<u32>(key, v)?.max(1),
        "probe.backoff.initial.ms" => c.probe_initial_backoff = millis(key, v)?,
        "probe.backoff.max.ms" => c.probe_max_backoff = millis(key, v)?,
        "route.refresh.ms" => c.route_refresh_interval = millis(key, v)?,
        "probe.timeout.ms" => c.probe_timeout = millis(key, v)?,
        "name.server.attempt.timeout.ms" => c.name_server_attempt_timeout = millis(key, v)?,
        "send.retries" => c.send_retries = parse(key, v)?,
        "send.retry.backoff.ms" => {
            c.send_retry_backoff = Duration::from_millis(parse(key, v)?);
        }
        "send.retry.backoff.max.ms" => c.send_retry_max_backoff = millis(key, v)?,
        "send.retry.on" => {
            c.send_retry_on =
                RetryOn::parse(v).map_err(|e| bc_error::invalid_arg(&format!("`{key}`: {e}")))?;
        }
        "acl.access.key" => credentials(c).access_key = secret(key, v)?,
        "acl.secret.key" => credentials(c).secret_key = secret(key, v)?,
        "acl.security.token" => credentials(c).security_token = Some(secret(key, v)?),
        // Whether TLS is on is decided once every key is applied (`manager_config`).
        "tls.enable" => {
            boolean(key, v)?;
        }
        "tls.ca.file" => tls(c).ca_file = Some(v.into()),
        "tls.cert.file" => tls(c).cert_file = Some(v.into()),
        "tls.key.file" => tls(c).key_file = Some(v.into()),
        "tls.server.name" => tls(c).server_name = Some(v.to_owned()),
        "tls.insecure" => tls(c).insecure_skip_verify = boolean(key, v)?,
        "trace.enable" => c.client.trace.enabled = boolean(key, v)?,
        "trace.topic" => {
            crate::client::validate::topic(v)
                .map_err(|e| bc_error::invalid_arg(&format!("`{key}`: {e}")))?;
            c.client.trace.topic = v.to_owned();
        }
        "trace.queue.size" => c.client.trace.queue_capacity = parse::<usize>(key, v)?.max(1),
        "trace.batch.size" => c.client.trace.batch_size = parse::<usize>(key, v)?.max(1),
        _ => {
            return Err(bc_error::invalid_arg(&format!(
                "unknown configuration key {key:?}"
            )))
        }
    }
    Ok(())
}

impl bc_config {
    /// The configuration; fails on settings that only make sense together (ACL access and
    /// secret key, client certificate and key).
    pub(crate) fn manager_config(&self) -> Result<ManagerConfig, bc_error> {
        let mut c = ManagerConfig::default();
        for (k, v) in &self.values {
            // Validated by bc_config_set.
            let _ = apply(&mut c, k, v);
        }
        let t = &mut c.client.transport;
        match self
            .values
            .get("tls.enable")
            .map(|v| boolean("tls.enable", v))
        {
            Some(Ok(true)) => {
                t.tls.get_or_insert_with(TlsConfig::default);
            }
            Some(_) => t.tls = None,
            None => {} // on if another tls.* key was set
        }
        if let Some(acl) = &t.acl {
            if acl.access_key.is_empty() || acl.secret_key.is_empty() {
                return Err(bc_error::invalid_arg(
                    "ACL needs both `acl.access.key` and `acl.secret.key`",
                ));
            }
        }
        if let Some(tls) = &t.tls {
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                return Err(bc_error::invalid_arg(
                    "a TLS client certificate needs both `tls.cert.file` and `tls.key.file`",
                ));
            }
        }
        Ok(c)
    }
}

/// The configuration a NULL `bc_config` stands for, or the checked settings of `cfg`.
pub(crate) fn or_default(cfg: *const bc_config) -> Result<ManagerConfig, bc_error> {
    optional_object(cfg)?.map_or_else(|| Ok(ManagerConfig::default()), bc_config::manager_config)
}

/// Creates an empty configuration (every key at its default).
///
/// Ownership: the caller owns `*out_config`; free it with `bc_config_free` (any time:
/// constructors copy it). Thread-safety: a config is not thread-safe; share it read-only.
/// Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_config_new(
    out_config: *mut *mut bc_config,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let values = BTreeMap::new();
        new_object(out_config, "out_config", bc_config { values })
    })
}

/// Sets `key` to `value` (both copied). An unknown key or a bad value is
/// `BC_ERR_INVALID_ARG` and changes nothing.
///
/// Thread-safety: not concurrently with other use of the same config.
///
/// Errors: `BC_ERR_INVALID_ARG` (NULL, bad UTF-8, an unknown key, a bad value).
#[no_mangle]
pub extern "C" fn bc_config_set(
    config: *mut bc_config,
    key: *const c_char,
    value: *const c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let cfg = object_mut(config)?;
        let key = str_arg(key, "key")?;
        let value = str_arg(value, "value")?;
        if !known(key) {
            return Err(bc_error::invalid_arg(&format!(
                "unknown configuration key {key:?}"
            )));
        }
        validate(key, value)?;
        cfg.values.insert(key.to_owned(), value.to_owned());
        Ok(())
    })
}

/// The value set for `key`, as set; NULL (and `BC_OK`) when it is not set, so it has its
/// default (see the key table above). Secret values (`acl.secret.key`,
/// `acl.security.token`) read as `"***"` when set.
///
/// Ownership: `*out_value` (NULL or a string) is the caller's; free it with
/// `bc_string_free`. Thread-safety: not concurrently with `bc_config_set` on it.
/// Errors: `BC_ERR_INVALID_ARG` (NULL, unknown key).
#[no_mangle]
pub extern "C" fn bc_config_get(
    config: *const bc_config,
    key: *const c_char,
    out_value: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let cfg = object(config)?;
        let key = str_arg(key, "key")?;
        if !known(key) {
            return Err(bc_error::invalid_arg(&format!(
                "unknown configuration key {key:?}"
            )));
        }
        let value = cfg.values.get(key).map(|v| shown(key, v));
        super::boundary::out_with(out_value, "out_value", || {
            value.map_or(std::ptr::null_mut(), |v| c_text(&v).into_raw())
        })
    })
}

fn shown(key: &str, v: &str) -> String {
    if is_secret(key) {
        "***".to_owned()
    } else {
        v.to_owned()
    }
}

/// Every key set, as a JSON object of strings (`{"pool.size": "2", …}`; secrets as
/// `"***"`), for a program that shows its settings. Keys not set have their defaults.
///
/// Ownership: `*out_json` is the caller's; free it with `bc_string_free`. Thread-safety: not
/// concurrently with `bc_config_set` on it. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_config_dump(
    config: *const bc_config,
    out_json: *mut *mut c_char,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let cfg = object(config)?;
        let shown: BTreeMap<&str, String> = cfg
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), shown(k, v)))
            .collect();
        super::boundary::out_with(out_json, "out_json", || json_text(&shown).into_raw())
    })
}

/// A copy of `config` (to change one setting for another client, say).
///
/// Ownership: `*out_config` is the caller's; free it with `bc_config_free`. Thread-safety: not
/// concurrently with `bc_config_set` on `config`. Errors: `BC_ERR_INVALID_ARG`.
#[no_mangle]
pub extern "C" fn bc_config_dup(
    config: *const bc_config,
    out_config: *mut *mut bc_config,
    err_out: *mut *mut bc_error,
) -> bc_status {
    call(err_out, || {
        let values = object(config)?.values.clone();
        new_object(out_config, "out_config", bc_config { values })
    })
}

/// Frees a configuration; NULL is ignored.
///
/// Thread-safety: once, when no other thread uses it.
#[no_mangle]
pub extern "C" fn bc_config_free(config: *mut bc_config) {
    free_object(config, drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The retry keys land in the manager configuration.
    #[test]
    fn send_retry_keys() {
        let mut c = ManagerConfig::default();
        apply(&mut c, "send.retry.backoff.ms", "0").unwrap();
        apply(&mut c, "send.retry.backoff.max.ms", "250").unwrap();
        apply(&mut c, "send.retry.on", "connection, busy").unwrap();
        assert_eq!(c.send_retry_backoff, Duration::ZERO);
        assert_eq!(c.send_retry_max_backoff, Duration::from_millis(250));
        assert!(c.send_retry_on.connection && c.send_retry_on.busy && !c.send_retry_on.timeout);
        refused(
            &mut c,
            &[
                ("send.retry.on", "sometimes"),
                ("send.retry.backoff.max.ms", "0"),
                ("send.retry.backoff.ms", "-1"),
            ],
        );
    }

    /// Each key=value is refused as an invalid argument.
    fn refused(c: &mut ManagerConfig, bad: &[(&str, &str)]) {
        for (k, v) in bad {
            assert_eq!(
                apply(c, k, v).expect_err(v).status,
                bc_status::BC_ERR_INVALID_ARG
            );
        }
    }

    /// The trace keys land in the client configuration; tracing is off by default.
    #[test]
    fn trace_keys() {
        let mut c = ManagerConfig::default();
        assert_eq!(c.client.trace, crate::client::TraceConfig::default());
        assert!(!c.client.trace.enabled);
        assert_eq!(c.client.trace.topic, "RMQ_SYS_TRACE_TOPIC");
        apply(&mut c, "trace.enable", "true").unwrap();
        apply(&mut c, "trace.topic", "MyTrace").unwrap();
        apply(&mut c, "trace.queue.size", "10").unwrap();
        apply(&mut c, "trace.batch.size", "5").unwrap();
        let t = &c.client.trace;
        assert!(t.enabled);
        assert_eq!(
            (t.topic.as_str(), t.queue_capacity, t.batch_size),
            ("MyTrace", 10, 5)
        );
        refused(
            &mut c,
            &[
                ("trace.enable", "maybe"),
                ("trace.topic", "bad topic!"),
                ("trace.queue.size", "-1"),
            ],
        );
    }

    /// The compression keys land in the client configuration; bad values change nothing.
    #[test]
    fn compression_keys() {
        let mut c = ManagerConfig::default();
        assert_eq!(
            c.client.compression,
            crate::client::SendCompression::default()
        );
        apply(&mut c, "compress.codec", "ZSTD").unwrap();
        apply(&mut c, "compress.level", "19").unwrap();
        apply(&mut c, "compress.threshold.bytes", "0").unwrap();
        let z = c.client.compression;
        assert_eq!(
            (z.codec, z.level, z.threshold),
            (CompressionType::Zstd, 19, 0)
        );
        assert!(!z.applies_to(1 << 20), "threshold 0: off");
        for (k, v) in [
            ("compress.codec", "gzip"),
            ("compress.level", "23"),
            ("compress.level", "-1"),
            ("compress.threshold.bytes", "-5"),
        ] {
            let e = apply(&mut c, k, v).expect_err(v);
            assert_eq!(e.status, bc_status::BC_ERR_INVALID_ARG);
        }
        assert_eq!(c.client.compression, z);
    }

    /// Replaces what stands between `start` and `end` in `text` with `body`; None when the
    /// markers are missing.
    fn between(text: &str, start: &str, end: &str, body: &str) -> Option<String> {
        let i = text.find(start)? + start.len();
        let j = i + text[i..].find(end)?;
        Some(format!("{}\n{}{}", &text[..i], body, &text[j..]))
    }

    /// Every copy of the key documentation is the table rendered from `KEYS`: the comment on
    /// `bc_config` (and so the header cbindgen makes from it) and docs/c-api.md. With
    /// BC_UPDATE_DOCS=1 the test rewrites both instead of failing.
    #[test]
    fn config_key_docs_are_current() {
        let table = key_table_markdown();
        let as_doc: String = table.lines().map(|l| format!("/// {l}\n")).collect();
        let root = env!("CARGO_MANIFEST_DIR");
        let copies = [
            (
                format!("{root}/src/ffi/config.rs"),
                "/// <!-- config keys -->",
                "/// <!-- end config keys -->",
                as_doc,
            ),
            (
                format!("{root}/docs/c-api.md"),
                "<!-- config keys -->",
                "<!-- end config keys -->",
                table.clone(),
            ),
        ];
        for (path, start, end, body) in copies {
            let text = std::fs::read_to_string(&path).unwrap();
            let want = between(&text, start, end, &body)
                .unwrap_or_else(|| panic!("{path}: the markers {start} … {end} are missing"));
            if want != text {
                if std::env::var("BC_UPDATE_DOCS").as_deref() == Ok("1") {
                    std::fs::write(&path, want).unwrap();
                } else {
                    panic!(
                        "{path}: the configuration key documentation differs from KEYS \
                         (run BC_UPDATE_DOCS=1 cargo test --lib config_key_docs_are_current)"
                    );
                }
            }
        }
    }

    #[test]
    fn get_dump_and_dup_show_what_was_set_and_hide_secrets() {
        let mut cfg = std::ptr::null_mut();
        assert_eq!(
            bc_config_new(&mut cfg, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        for (k, v) in [
            (c"pool.size", c"2"),
            (c"acl.secret.key", c"s3cret"),
            (c"send.retries", c"0"),
        ] {
            assert_eq!(
                bc_config_set(cfg, k.as_ptr(), v.as_ptr(), std::ptr::null_mut()),
                bc_status::BC_OK
            );
        }
        let get = |cfg: *const bc_config, k: &std::ffi::CStr| {
            let mut v = std::ptr::null_mut();
            assert_eq!(
                bc_config_get(cfg, k.as_ptr(), &mut v, std::ptr::null_mut()),
                bc_status::BC_OK
            );
            let s = (!v.is_null()).then(|| {
                unsafe { std::ffi::CStr::from_ptr(v) }
                    .to_string_lossy()
                    .into_owned()
            });
            super::super::client::bc_string_free(v);
            s
        };
        assert_eq!(get(cfg, c"pool.size").as_deref(), Some("2"));
        assert_eq!(get(cfg, c"acl.secret.key").as_deref(), Some("***"));
        assert_eq!(get(cfg, c"route.refresh.ms"), None);
        let mut v = std::ptr::null_mut();
        assert_eq!(
            bc_config_get(cfg, c"no.such".as_ptr(), &mut v, std::ptr::null_mut()),
            bc_status::BC_ERR_INVALID_ARG
        );
        let mut json = std::ptr::null_mut();
        assert_eq!(
            bc_config_dump(cfg, &mut json, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        let text = unsafe { std::ffi::CStr::from_ptr(json) }
            .to_string_lossy()
            .into_owned();
        super::super::client::bc_string_free(json);
        assert_eq!(
            text,
            r#"{"acl.secret.key":"***","pool.size":"2","send.retries":"0"}"#
        );
        let mut copy = std::ptr::null_mut();
        assert_eq!(
            bc_config_dup(cfg, &mut copy, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        bc_config_free(cfg);
        assert_eq!(get(copy, c"pool.size").as_deref(), Some("2"));
        let m = unsafe { &*copy }.manager_config();
        assert!(m.is_err(), "ACL secret without access key is refused");
        bc_config_free(copy);
    }

    #[test]
    fn set_validates_keys_and_values() {
        let mut cfg = std::ptr::null_mut();
        assert_eq!(
            bc_config_new(&mut cfg, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        let ok = |k: &std::ffi::CStr, v: &std::ffi::CStr| {
            bc_config_set(cfg, k.as_ptr(), v.as_ptr(), std::ptr::null_mut())
        };
        assert_eq!(ok(c"request.timeout.ms", c"1500"), bc_status::BC_OK);
        assert_eq!(ok(c"header.serializer", c"rocketmq"), bc_status::BC_OK);
        assert_eq!(ok(c"pool.size", c"2"), bc_status::BC_OK);
        assert_eq!(ok(c"language", c"rust"), bc_status::BC_OK);
        let mut err = std::ptr::null_mut();
        assert_eq!(
            bc_config_set(cfg, c"nope".as_ptr(), c"1".as_ptr(), &mut err),
            bc_status::BC_ERR_INVALID_ARG
        );
        let msg = unsafe { std::ffi::CStr::from_ptr(super::super::error::bc_error_message(err)) };
        assert!(msg.to_str().unwrap().contains("nope"));
        super::super::error::bc_error_free(err);
        assert_eq!(
            ok(c"request.timeout.ms", c"abc"),
            bc_status::BC_ERR_INVALID_ARG
        );
        assert_eq!(
            bc_config_set(cfg, std::ptr::null(), c"1".as_ptr(), std::ptr::null_mut()),
            bc_status::BC_ERR_INVALID_ARG
        );
        let m = unsafe { &*cfg }.manager_config().ok().unwrap();
        assert_eq!(
            m.client.transport.request_timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(m.client.transport.serialize_type, SerializeType::RocketMq);
        assert_eq!(m.client.transport.language, LanguageCode::Rust);
        assert_eq!(m.connection_pool_size, 2);
        bc_config_free(cfg);
        bc_config_free(std::ptr::null_mut());
    }

    fn config_of(pairs: &[(&std::ffi::CStr, &std::ffi::CStr)]) -> *mut bc_config {
        let mut cfg = std::ptr::null_mut();
        assert_eq!(
            bc_config_new(&mut cfg, std::ptr::null_mut()),
            bc_status::BC_OK
        );
        for (k, v) in pairs {
            assert_eq!(
                bc_config_set(cfg, k.as_ptr(), v.as_ptr(), std::ptr::null_mut()),
                bc_status::BC_OK,
                "{k:?}"
            );
        }
        cfg
    }

    fn message_of(r: Result<ManagerConfig, bc_error>) -> String {
        let Err(e) = r else {
            panic!("expected an error")
        };
        let msg = unsafe { std::ffi::CStr::from_ptr(super::super::error::bc_error_message(&e)) };
        msg.to_str().unwrap().to_owned()
    }

    #[test]
    fn acl_keys_make_credentials_and_never_echo_the_secret() {
        let cfg = config_of(&[
            (c"acl.access.key", c"ak"),
            (c"acl.secret.key", c"topsecret-123"),
            (c"acl.security.token", c"tok"),
        ]);
        let m = unsafe { &*cfg }.manager_config().ok().unwrap();
        let acl = m.client.transport.acl.clone().unwrap();
        assert_eq!(
            (acl.access_key.as_str(), acl.secret_key.as_str()),
            ("ak", "topsecret-123")
        );
        assert_eq!(acl.security_token.as_deref(), Some("tok"));
        assert!(!format!("{m:?}").contains("topsecret-123"));
        bc_config_free(cfg);

        let only_secret = config_of(&[(c"acl.secret.key", c"topsecret-123")]);
        let msg = message_of(unsafe { &*only_secret }.manager_config());
        assert!(msg.contains("acl.access.key"), "{msg}");
        assert!(!msg.contains("topsecret-123"), "{msg}");
        bc_config_free(only_secret);
        // The NULL-config path gives the defaults: no ACL, no TLS.
        let d = or_default(std::ptr::null()).ok().unwrap();
        assert!(d.client.transport.acl.is_none() && d.client.transport.tls.is_none());
    }

    #[test]
    fn tls_keys_turn_tls_on_unless_disabled() {
        let cfg = config_of(&[(c"tls.enable", c"true")]);
        let t = unsafe { &*cfg }
            .manager_config()
            .ok()
            .unwrap()
            .client
            .transport;
        assert_eq!(
            t.tls,
            Some(TlsConfig::default()),
            "verification on by default"
        );
        bc_config_free(cfg);

        let cfg = config_of(&[
            (c"tls.ca.file", c"/etc/ca.pem"),
            (c"tls.cert.file", c"/etc/c.pem"),
            (c"tls.key.file", c"/etc/c.key"),
            (c"tls.server.name", c"broker.example"),
            (c"tls.insecure", c"true"),
        ]);
        let tls = unsafe { &*cfg }
            .manager_config()
            .ok()
            .unwrap()
            .client
            .transport
            .tls
            .unwrap();
        assert_eq!(tls.ca_file.as_deref(), Some("/etc/ca.pem".as_ref()));
        assert_eq!(tls.cert_file.as_deref(), Some("/etc/c.pem".as_ref()));
        assert_eq!(tls.key_file.as_deref(), Some("/etc/c.key".as_ref()));
        assert_eq!(tls.server_name.as_deref(), Some("broker.example"));
        assert!(tls.insecure_skip_verify);
        bc_config_free(cfg);

        let off = config_of(&[(c"tls.ca.file", c"/etc/ca.pem"), (c"tls.enable", c"false")]);
        assert!(unsafe { &*off }
            .manager_config()
            .ok()
            .unwrap()
            .client
            .transport
            .tls
            .is_none());
        bc_config_free(off);

        let half = config_of(&[(c"tls.cert.file", c"/etc/c.pem")]);
        let msg = message_of(unsafe { &*half }.manager_config());
        assert!(msg.contains("tls.key.file"), "{msg}");
        bc_config_free(half);

        let mut cfg = std::ptr::null_mut();
        bc_config_new(&mut cfg, std::ptr::null_mut());
        assert_eq!(
            bc_config_set(
                cfg,
                c"tls.insecure".as_ptr(),
                c"maybe".as_ptr(),
                std::ptr::null_mut()
            ),
            bc_status::BC_ERR_INVALID_ARG
        );
        assert_eq!(
            bc_config_set(
                cfg,
                c"acl.secret.key".as_ptr(),
                c"".as_ptr(),
                std::ptr::null_mut()
            ),
            bc_status::BC_ERR_INVALID_ARG
        );
        bc_config_free(cfg);
    }
}
