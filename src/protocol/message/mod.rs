//! Messages and their two binary encodings (REMOTING.md 7.3 and 7.4):
//! - the *batch body* a producer sends with SEND_BATCH_MESSAGE, which also appears inside
//!   stored "inner batch" records;
//! - the *stored record* the broker returns in PULL, VIEW_MESSAGE_BY_ID and
//!   CHECK_TRANSACTION_STATE bodies.
//!
//! Decoders take bytes from the network: every length is checked against the bytes that are
//! actually there before anything is sliced or allocated, arithmetic on wire values cannot
//! overflow, and malformed input is a [`ProtocolError`], never a panic. Bodies are zero-copy
//! slices of the input [`Bytes`] unless they had to be decompressed.
//!
//! This module holds the outgoing [`Message`] and re-exports the rest, so every item keeps its
//! `protocol::message::` path:
//! - `batch`: the batch body (7.3): [`BatchEntry`], [`encode_batch_body`], [`decode_batch_body`];
//! - `stored`: the stored record (7.4): [`MessageExt`], [`DecodeOptions`], its decoders and
//!   encoder, the unwrapping of inner batches, BODYCRC;
//! - `compression`: [`compress_body`], [`decompress_body`] and the compression type of a sysFlag;
//! - `reader`: the length helpers and the bounds-checked reader the decoders share.
//!
//! [`ProtocolError`]: crate::protocol::ProtocolError

use bytes::Bytes;

use crate::protocol::error::Result;
use crate::protocol::properties::{keys, Properties};

mod batch;
mod compression;
mod reader;
mod stored;

pub use batch::{decode_batch_body, encode_batch_body, encoded_batch_len, BatchEntry};
pub use compression::{compress_body, compress_body_at, decompress_body};
pub use stored::{
    body_crc, decode_stored_message, decode_stored_messages, encode_stored_message,
    unwrap_inner_batch, DecodeOptions, MessageExt, DEFAULT_MAX_BODY_SIZE, MAGIC_CODE_V1,
    MAGIC_CODE_V2,
};

/// A message to send: what the producer controls. The broker adds the rest (see
/// [`MessageExt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Destination topic.
    pub topic: String,
    /// Payload; the broker rejects an empty one.
    pub body: Bytes,
    /// User flag, stored and returned untouched.
    pub flag: i32,
    /// Properties, including the well-known ones the setters below manage.
    pub properties: Properties,
}

impl Message {
    /// A message with no flag and no properties.
    ///
    /// Unlike Java's constructor this does not add `WAIT=true`: an absent `WAIT` means `true`
    /// to the broker, so the property would only cost bytes.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties: Properties::new(),
        }
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// Sets property `name`; validated when the message is encoded.
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(name, value);
    }

    /// The tag (`TAGS`).
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// Sets the tag (`TAGS`) the broker hashes into the consume queue for filtering.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        self.set_property(keys::TAGS, tags);
    }

    /// The business keys as stored (`KEYS`, space-separated).
    pub fn keys(&self) -> Option<&str> {
        self.property(keys::KEYS)
    }

    /// The business keys one by one.
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        split_keys(self.keys())
    }

    /// Sets the business keys (`KEYS`), joined with a space as Java's `setKeys(Collection)`.
    /// The broker indexes each for QUERY_MESSAGE.
    pub fn set_keys<I, S>(&mut self, keys: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(keys::KEY_SEPARATOR);
        self.set_property(keys::KEYS, joined);
    }

    /// The delay level (`DELAY`), if set and numeric.
    pub fn delay_level(&self) -> Option<i32> {
        self.property(keys::DELAY)?.parse().ok()
    }

    /// Sets the delay level (`DELAY`, 1..=18 on a default broker).
    pub fn set_delay_level(&mut self, level: i32) {
        self.set_property(keys::DELAY, level.to_string());
    }

    /// The client message id (`UNIQ_KEY`).
    pub fn unique_key(&self) -> Option<&str> {
        self.property(keys::UNIQ_KEY)
    }

    /// Sets the client message id (`UNIQ_KEY`); see [`crate::protocol::msgid::unique_id`].
    pub fn set_unique_key(&mut self, id: impl Into<String>) {
        self.set_property(keys::UNIQ_KEY, id);
    }

    /// Whether the broker should reply only after the message is flushed (`WAIT`; absent means
    /// `true`).
    pub fn wait_store_ok(&self) -> bool {
        wait_store_ok(&self.properties)
    }

    /// Sets `WAIT`.
    pub fn set_wait_store_ok(&mut self, wait: bool) {
        self.set_property(keys::WAIT, wait.to_string());
    }

    /// Sets a user property, refusing the names the system reserves
    /// ([`crate::protocol::properties::RESERVED`], as Java's `putUserProperty`) and pairs that
    /// would not survive the encoding.
    pub fn put_user_property(&mut self, name: &str, value: &str) -> Result<()> {
        crate::protocol::properties::validate_user_property(name, value)?;
        self.set_property(name, value);
        Ok(())
    }

    /// Marks a transaction half message (`TRAN_MSG=true`), committed or rolled back later by
    /// END_TRANSACTION or the broker's check.
    pub fn set_transactional(&mut self) {
        self.set_property(keys::TRAN_MSG, "true");
    }

    /// True for a transaction half message.
    pub fn is_transactional(&self) -> bool {
        self.property(keys::TRAN_MSG)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Delivers the message `ms` milliseconds after it is stored (`TIMER_DELAY_MS`, 5.x
    /// timer-wheel brokers; a 4.x broker ignores it and delivers at once).
    pub fn set_delay_time_ms(&mut self, ms: i64) {
        self.set_property(keys::TIMER_DELAY_MS, ms.to_string());
    }

    /// Delivers the message at `epoch_ms` (`TIMER_DELIVER_MS`, 5.x timer-wheel brokers; a 4.x
    /// broker ignores it).
    pub fn set_deliver_time_ms(&mut self, epoch_ms: i64) {
        self.set_property(keys::TIMER_DELIVER_MS, epoch_ms.to_string());
    }

    /// True when any form of delayed delivery is set (level, delay or delivery time).
    pub fn is_delayed(&self) -> bool {
        [
            keys::DELAY,
            keys::TIMER_DELAY_SEC,
            keys::TIMER_DELAY_MS,
            keys::TIMER_DELIVER_MS,
        ]
        .iter()
        .any(|k| self.property(k).is_some())
    }
}

/// Java `Boolean.parseBoolean` of `WAIT`, defaulting to `true` when absent.
fn wait_store_ok(properties: &Properties) -> bool {
    properties
        .get(keys::WAIT)
        .map_or(true, |v| v.eq_ignore_ascii_case("true"))
}

fn split_keys(keys: Option<&str>) -> impl Iterator<Item = &str> {
    keys.unwrap_or("")
        .split(keys::KEY_SEPARATOR)
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- Message helpers ----

    #[test]
    fn message_setters_and_getters() {
        let mut m = Message::new("TopicTest", "payload");
        assert_eq!(m.topic, "TopicTest");
        assert_eq!(&m.body[..], b"payload");
        assert!(m.properties.is_empty());
        assert!(m.wait_store_ok());
        m.set_wait_store_ok(false);
        assert!(!m.wait_store_ok());
        assert_eq!(m.property(keys::WAIT), Some("false"));
        m.set_tags("TagA");
        m.set_keys(["k1", "k2"]);
        m.set_delay_level(3);
        m.set_unique_key("ABC");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert_eq!(m.key_list().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(m.delay_level(), Some(3));
        assert_eq!(m.unique_key(), Some("ABC"));
        m.set_property(keys::DELAY, "x");
        assert_eq!(m.delay_level(), None);
        m.set_property(keys::WAIT, "TRUE");
        assert!(m.wait_store_ok());
    }

    // ---- fixtures the submodules' tests share ----

    pub(super) fn inner_batch_messages() -> Vec<Message> {
        (0..3)
            .map(|i| {
                let mut m = Message::new("BatchTopic", format!("body-{i}"));
                m.flag = 10 + i;
                m.set_tags(format!("tag{i}"));
                m.set_unique_key(format!("ID{i}"));
                m
            })
            .collect()
    }

    pub(super) fn sample_payload() -> Vec<u8> {
        (0..5000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    pub(super) fn any_properties() -> impl Strategy<Value = Properties> {
        let text = "[^\u{1}\u{2}]{1,10}";
        proptest::collection::vec((text, text), 0..6).prop_map(|pairs| pairs.into_iter().collect())
    }

    prop_compose! {
        pub(super) fn any_message()(
            flag in any::<i32>(),
            body in proptest::collection::vec(any::<u8>(), 0..200),
            properties in any_properties(),
        ) -> Message {
            Message { topic: "T".into(), body: Bytes::from(body), flag, properties }
        }
    }
}
