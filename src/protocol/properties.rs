//! Message properties: the `name 0x01 value 0x02 ...` string of REMOTING.md 7.1, the well-known
//! keys of 7.2 and the consume-queue tag hash of 7.8.
//!
//! The same string travels in three places: the `properties` field of SEND headers, the
//! properties of every batch entry (7.3) and the properties of every stored record (7.4).

use crate::protocol::error::{ProtocolError, Result};

/// Separates a name from its value (Java `MessageDecoder.NAME_VALUE_SEPARATOR`, char 1).
pub const NAME_VALUE_SEPARATOR: u8 = 0x01;
/// Follows every name/value pair (Java `MessageDecoder.PROPERTY_SEPARATOR`, char 2).
pub const PROPERTY_SEPARATOR: u8 = 0x02;

/// Well-known property names (`common/message/MessageConst.java`).
///
/// The constant names follow the wire strings, not the Java constant names, so that a grep for
/// the string finds them.
pub mod keys {
    /// Business keys, space-separated ([`KEY_SEPARATOR`]); indexed by the broker.
    pub const KEYS: &str = "KEYS";
    /// Separator of the business keys inside [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
    /// The single tag; its Java hash goes into the consume queue (7.8).
    pub const TAGS: &str = "TAGS";
    /// `"true"`/`"false"`: whether the broker waits for the flush before replying.
    pub const WAIT: &str = "WAIT";
    /// Delay level 1..18 (not allowed in batches).
    pub const DELAY: &str = "DELAY";
    /// Client message id (7.7); the broker fills one in if absent.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// `"true"` on transaction half messages.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group of a half message, used by the broker for transaction checks.
    pub const PGROUP: &str = "PGROUP";
    /// Transaction id.
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// Delay before the broker first checks a half message.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// Queue offset of the prepared message, added by the broker.
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// How many times the broker checked a half message.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Original topic of a retry message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Original topic of a delayed or half message.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue id of a delayed or half message.
    pub const REAL_QID: &str = "REAL_QID";
    /// Original message id of a retried message.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Reconsume count of a message sent back for retry.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Maximum reconsume count before the message goes to the DLQ.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Broker cluster name, added on store.
    pub const CLUSTER: &str = "CLUSTER";
    /// Region of the broker, added on store.
    pub const MSG_REGION: &str = "MSG_REGION";
    /// Whether message tracing is on for this message.
    pub const TRACE_ON: &str = "TRACE_ON";
    /// Lowest offset of the queue, added locally by the Java client after a pull (never on the
    /// wire).
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Highest offset of the queue, added locally by the Java client after a pull (never on the
    /// wire).
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// 5.x timer-wheel delay in seconds.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// 5.x timer-wheel delay in milliseconds.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// 5.x timer-wheel absolute delivery time in epoch milliseconds.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// Request/reply correlation id.
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// Client id the reply should be pushed to.
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Time to live of a request message, in milliseconds.
    pub const TTL: &str = "TTL";
    /// Message type; `"reply"` for replies.
    pub const MSG_TYPE: &str = "MSG_TYPE";
    /// Arrival time of a reply at the broker.
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
    /// Namespace / instance id.
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    /// Buyer id (legacy).
    pub const BUYER_ID: &str = "BUYER_ID";
    /// Sharding key of ordered messages.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// Pop checkpoint; the broker deletes it from incoming messages.
    pub const POP_CK: &str = "POP_CK";
    /// First pop time.
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// Number of messages in an inner batch.
    pub const INNER_NUM: &str = "INNER_NUM";
    /// Base queue offset of an inner batch.
    pub const INNER_BASE: &str = "INNER_BASE";
    /// Body CRC written by the broker for some storage modes.
    pub const CRC32: &str = "__CRC32#";
    /// Original topic of a dead-lettered message.
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    /// Original message id of a dead-lettered message.
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
}

/// Property names an application may not set as user properties: Java's
/// `MessageConst.STRING_HASH_SET` (which `Message.putUserProperty` refuses), plus those the
/// broker acts on that the Java set leaves out (`TIMER_DELAY_MS`, the transaction and inner-batch
/// bookkeeping). Setting one by hand changes what the broker does with the message (`UNIQ_KEY`
/// replaces the message id, `TRAN_MSG` makes a half message, `DELAY` delays it): the ones an
/// application may mean have setters of their own.
pub const RESERVED: &[&str] = &[
    keys::TRACE_ON,
    keys::MSG_REGION,
    keys::KEYS,
    keys::TAGS,
    keys::WAIT,
    keys::DELAY,
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::TRAN_MSG,
    keys::PGROUP,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::BUYER_ID,
    keys::ORIGIN_MESSAGE_ID,
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    keys::RECONSUME_TIME,
    keys::UNIQ_KEY,
    keys::MAX_RECONSUME_TIMES,
    "CONSUME_START_TIME",
    keys::POP_CK,
    "POP_CK_OFFSET",
    keys::FIRST_POP_TIME,
    keys::TRAN_PREPARED_QUEUE_OFFSET,
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    keys::INSTANCE_ID,
    keys::CORRELATION_ID,
    keys::REPLY_TO_CLIENT,
    keys::TTL,
    keys::ARRIVE_TIME,
    "PUSH_REPLY_TIME",
    keys::CLUSTER,
    keys::MSG_TYPE,
    "INNER_MULTI_QUEUE_OFFSET",
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELIVER_MS,
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    // Beyond Java's set: the broker acts on these too.
    keys::TIMER_DELAY_MS,
    keys::TRANSACTION_ID,
    keys::TRANSACTION_CHECK_TIMES,
    keys::INNER_NUM,
    keys::INNER_BASE,
];

/// Names starting with this are transient: the broker never stores them (Java
/// `MessageConst.PROPERTY_TRANSIENT_PREFIX`); reserved as well.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// True for a name an application may not set as a user property ([`RESERVED`], or
/// [`TRANSIENT_PREFIX`]).
pub fn is_reserved(name: &str) -> bool {
    name.starts_with(TRANSIENT_PREFIX) || RESERVED.contains(&name)
}

/// [`validate_property`] for a user property: also refuses the [`RESERVED`] names.
pub fn validate_user_property(name: &str, value: &str) -> Result<()> {
    if is_reserved(name) {
        return Err(ProtocolError::InvalidProperty(format!(
            "property name {name:?} is reserved for the system (the broker acts on it); \
             use the message's own setter where there is one"
        )));
    }
    validate_property(name, value)
}

/// A message's properties, in insertion order.
///
/// Backed by a `Vec` rather than a map: messages carry a handful of properties, a linear scan is
/// faster than hashing for that, and a stable order makes the encoded bytes deterministic.
/// Names are unique: [`Properties::insert`] replaces a value in place.
///
/// Equality ignores order (two property sets are equal when they hold the same pairs), since
/// Java writes them in `HashMap` order.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty property set.
    pub fn new() -> Self {
        Properties::default()
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.entries[i].1.as_str())
    }

    /// Whether `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name` to `value`, keeping the position of an existing entry; returns the old value.
    ///
    /// Nothing is validated here; [`Properties::encode_into`] rejects what the wire cannot carry.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((name, value));
                None
            }
        }
    }

    /// Removes `name`; returns its value if it was set.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.position(name).map(|i| self.entries.remove(i).1)
    }

    /// The pairs in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes [`Properties::encode_into`] appends: each pair plus its two separators.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum()
    }

    /// Appends the 7.1 encoding to `out`: `name 0x01 value 0x02` for every pair, the trailing
    /// 0x02 included, as Java's `messageProperties2String` writes it.
    ///
    /// Fails with [`ProtocolError::InvalidProperty`] (leaving `out` as it was) for a pair that
    /// [`validate_property`] rejects, because the reader would split or drop it.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        for (name, value) in &self.entries {
            validate_property(name, value)?;
        }
        out.reserve(self.encoded_len());
        for (name, value) in &self.entries {
            out.extend_from_slice(name.as_bytes());
            out.push(NAME_VALUE_SEPARATOR);
            out.extend_from_slice(value.as_bytes());
            out.push(PROPERTY_SEPARATOR);
        }
        Ok(())
    }

    /// The encoding as a string, for the `properties` field of SEND headers.
    pub fn encode_to_string(&self) -> Result<String> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        // Only whole UTF-8 strings and ASCII separators were written.
        String::from_utf8(out).map_err(|_| ProtocolError::InvalidUtf8 {
            what: "message properties",
        })
    }

    /// Parses a 7.1 properties string the way Java's `string2messageProperties` does: split on
    /// 0x02, then on the first 0x01 of each piece; pieces with an empty name, an empty value or
    /// no 0x01 are dropped, and a later duplicate name wins.
    ///
    /// Fails only on invalid UTF-8 (Java would substitute U+FFFD; we refuse, since a mangled
    /// key or id is worse than an error).
    pub fn decode(bytes: &[u8]) -> Result<Properties> {
        let text = std::str::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8 {
            what: "message properties",
        })?;
        let mut props = Properties::new();
        for piece in text.split(PROPERTY_SEPARATOR as char) {
            if let Some((name, value)) = piece.split_once(NAME_VALUE_SEPARATOR as char) {
                if !name.is_empty() && !value.is_empty() {
                    props.insert(name, value);
                }
            }
        }
        Ok(props)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(n, v)| other.get(n) == Some(v))
    }
}

impl Eq for Properties {}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Properties::new();
        props.extend(iter);
        props
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Properties {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

/// Checks that a pair survives the 7.1 encoding: the name is not empty, and neither contains a
/// separator byte. An empty value is rejected too, because Java's reader drops such a pair and
/// it would silently vanish on the way to the consumer.
pub fn validate_property(name: &str, value: &str) -> Result<()> {
    if name.is_empty() {
        return Err(ProtocolError::InvalidProperty("empty property name".into()));
    }
    if value.is_empty() {
        return Err(ProtocolError::InvalidProperty(format!(
            "property {name:?} has an empty value"
        )));
    }
    if has_separator(name) {
        return Err(ProtocolError::InvalidProperty(format!(
            "property name {name:?} contains a separator byte 0x01/0x02"
        )));
    }
    if has_separator(value) {
        return Err(ProtocolError::InvalidProperty(format!(
            "value of property {name:?} contains a separator byte 0x01/0x02"
        )));
    }
    Ok(())
}

fn has_separator(s: &str) -> bool {
    s.bytes()
        .any(|b| b == NAME_VALUE_SEPARATOR || b == PROPERTY_SEPARATOR)
}

/// The consume-queue tag code of a `TAGS` value: Java's `String.hashCode()` (over UTF-16 code
/// units, `h = 31 * h + c` with i32 wrap-around), widened to the `long` the broker stores.
///
/// Brokers filter by this hash only, so a client must still compare the tag strings (gotcha 20).
pub fn tags_hash(tag: &str) -> i64 {
    let hash = tag.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    i64::from(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encode_appends_trailing_separator_per_pair() {
        let props: Properties = [("TAGS", "TagA"), ("KEYS", "k1 k2")].into_iter().collect();
        let mut out = b"prefix".to_vec();
        props.encode_into(&mut out).unwrap();
        assert_eq!(out, b"prefixTAGS\x01TagA\x02KEYS\x01k1 k2\x02");
        assert_eq!(props.encoded_len(), out.len() - 6);
        assert_eq!(
            props.encode_to_string().unwrap(),
            "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}"
        );
    }

    #[test]
    fn empty_properties_encode_to_nothing() {
        let mut out = Vec::new();
        Properties::new().encode_into(&mut out).unwrap();
        assert!(out.is_empty());
        assert!(Properties::decode(b"").unwrap().is_empty());
    }

    #[test]
    fn encode_rejects_separators_and_empty_parts_without_writing() {
        for (name, value) in [
            ("", "v"),
            ("n", ""),
            ("a\u{1}b", "v"),
            ("n", "x\u{2}y"),
            ("n", "x\u{1}y"),
        ] {
            let props: Properties = [("OK", "fine"), (name, value)].into_iter().collect();
            let mut out = b"keep".to_vec();
            let err = props.encode_into(&mut out).unwrap_err();
            assert!(matches!(err, ProtocolError::InvalidProperty(_)), "{err:?}");
            assert_eq!(out, b"keep");
        }
    }

    #[test]
    fn decode_drops_what_java_drops() {
        let raw = b"A\x011\x02\x01novalue\x02noname\x01\x02plain\x02\x02B\x012\x013\x02A\x01last";
        let props = Properties::decode(raw).unwrap();
        assert_eq!(props.len(), 2);
        assert_eq!(props.get("A"), Some("last"));
        // The value runs to the next 0x02, so a second 0x01 stays in it.
        assert_eq!(props.get("B"), Some("2\u{1}3"));
        // The first occurrence keeps its position; the later duplicate wins.
        assert_eq!(props.iter().next(), Some(("A", "last")));
    }

    #[test]
    fn decode_rejects_invalid_utf8() {
        let err = Properties::decode(b"A\x01\xff\x02").unwrap_err();
        assert!(matches!(err, ProtocolError::InvalidUtf8 { .. }));
    }

    #[test]
    fn decode_keeps_non_ascii() {
        let props = Properties::decode("标签\u{1}值😀\u{2}".as_bytes()).unwrap();
        assert_eq!(props.get("标签"), Some("值😀"));
    }

    #[test]
    fn insert_replaces_in_place_and_remove() {
        let mut props = Properties::new();
        assert_eq!(props.insert("a", "1"), None);
        assert_eq!(props.insert("b", "2"), None);
        assert_eq!(props.insert("a", "3"), Some("1".to_string()));
        assert_eq!(props.iter().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
        assert!(props.contains_key("b"));
        assert_eq!(props.remove("b"), Some("2".to_string()));
        assert_eq!(props.remove("b"), None);
        assert_eq!(props.len(), 1);
    }

    #[test]
    fn equality_ignores_order() {
        let a: Properties = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: Properties = [("y", "2"), ("x", "1")].into_iter().collect();
        let c: Properties = [("y", "2"), ("x", "9")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Properties::new());
    }

    #[test]
    fn reserved_names_are_refused_as_user_properties() {
        for name in [
            "UNIQ_KEY",
            "TRAN_MSG",
            "DELAY",
            "KEYS",
            "TAGS",
            "WAIT",
            "TIMER_DELAY_MS",
        ] {
            assert!(is_reserved(name), "{name}");
            assert!(validate_user_property(name, "1").is_err(), "{name}");
        }
        assert!(is_reserved("__RMQ.TRANSIENT.TOPIC_SYS_FLAG"));
        assert!(!is_reserved("order_id"));
        assert!(
            !is_reserved("uniq_key"),
            "names are case-sensitive, as in Java"
        );
        assert!(validate_user_property("order_id", "42").is_ok());
        assert!(validate_user_property("order_id", "").is_err());
    }

    #[test]
    fn validate_property_accepts_normal_pairs() {
        validate_property("KEYS", "a b c").unwrap();
        validate_property("ключ", "значение").unwrap();
        assert!(validate_property("", "x").is_err());
    }

    #[test]
    fn tags_hash_matches_java_string_hash_code() {
        assert_eq!(tags_hash(""), 0);
        assert_eq!(tags_hash("TagA"), 2_598_919);
        // U+00E9 is one UTF-16 unit: 233.
        assert_eq!(tags_hash("é"), 233);
        // U+6807 U+7B7E: 31 * 26631 + 31614.
        assert_eq!(tags_hash("标签"), 857_175);
        // U+1F600 is the surrogate pair D83D DE00: 31 * 55357 + 56832.
        assert_eq!(tags_hash("😀"), 1_772_899);
        // Wraps like Java int arithmetic: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(tags_hash("polygenelubricants"), i64::from(i32::MIN));
    }

    fn prop_text() -> impl Strategy<Value = String> {
        // Any characters except the two separators, at least one.
        proptest::collection::vec(
            any::<char>().prop_filter("separator", |c| *c != '\u{1}' && *c != '\u{2}'),
            1..12,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec((prop_text(), prop_text()), 0..10)) {
            let props: Properties = pairs.into_iter().collect();
            let mut out = Vec::new();
            props.encode_into(&mut out).unwrap();
            prop_assert_eq!(out.len(), props.encoded_len());
            let back = Properties::decode(&out).unwrap();
            prop_assert_eq!(back.iter().collect::<Vec<_>>(), props.iter().collect::<Vec<_>>());
        }

        #[test]
        fn decode_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Properties::decode(&bytes);
        }

        #[test]
        fn decode_random_separated_text_never_panics(
            bytes in proptest::collection::vec(prop_oneof![Just(1u8), Just(2u8), Just(b'a'), Just(b'b')], 0..64)
        ) {
            let props = Properties::decode(&bytes).unwrap();
            for (name, value) in props.iter() {
                prop_assert!(!name.is_empty() && !value.is_empty(), "empty part");
                let clean = !has_separator(name) && !value.contains('\u{2}');
                prop_assert!(clean, "separator in {:?}={:?}", name, value);
            }
        }
    }
}
