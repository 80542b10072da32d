//! The stored record (REMOTING.md 7.4) the broker returns in PULL, VIEW_MESSAGE_BY_ID and
//! CHECK_TRANSACTION_STATE bodies: [`MessageExt`], its decoders ([`decode_stored_messages`],
//! [`decode_stored_message`], limited by [`DecodeOptions`]), the unwrapping of inner batches
//! ([`unwrap_inner_batch`]), the encoder ([`encode_stored_message`]) and BODYCRC
//! ([`body_crc`]).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;

use super::batch::decode_batch_body;
use super::compression::{compress_body, compression_of, decompress_body};
use super::reader::{check_total, i16_len, i32_len, too_long, Reader};
use super::{split_keys, wait_store_ok};
use crate::protocol::error::{ProtocolError, Result};
use crate::protocol::msgid;
use crate::protocol::properties::{keys, Properties};
use crate::protocol::sysflag::message as sysflag;

/// Magic code of a stored record with a 1-byte topic length (Java `MESSAGE_MAGIC_CODE`).
pub const MAGIC_CODE_V1: u32 = 0xDAA3_20A7;
/// Magic code of a stored record with a 2-byte topic length, written for topics longer than
/// 127 bytes (Java `MESSAGE_MAGIC_CODE_V2`).
pub const MAGIC_CODE_V2: u32 = 0xDAA3_20AB;
/// Default of [`DecodeOptions::max_body_size`]: 64 MiB, far above the broker's 4 MiB message
/// limit, yet small enough that a compression bomb cannot exhaust memory.
pub const DEFAULT_MAX_BODY_SIZE: usize = 64 * 1024 * 1024;

/// Fixed bytes of a stored record with IPv4 hosts and a v1 (1-byte) topic length.
const STORED_FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2;
/// Extra bytes per IPv6 host (16-byte instead of 4-byte address).
const IPV6_EXTRA_LEN: usize = 12;
/// Longest topic a v1 record can carry; Java reads the 1-byte length as a signed byte.
const V1_MAX_TOPIC_LEN: usize = 127;

/// A message as the broker stored it: the producer's [`Message`] plus everything the broker
/// recorded (Java `MessageExt`).
///
/// [`Message`]: super::Message
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// TOTALSIZE of the record (0 for messages unwrapped from an inner batch, as in Java).
    pub store_size: i32,
    /// CRC32 of the stored body, masked with 0x7FFFFFFF.
    pub body_crc: i32,
    /// Queue the message is in.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the consume queue (what consumers commit).
    pub queue_offset: i64,
    /// Physical offset in the commit log (what VIEW_MESSAGE_BY_ID and send-back take).
    pub commit_log_offset: i64,
    /// [`crate::protocol::sysflag::message`] bits; [`sysflag::COMPRESSED`] is cleared once the
    /// body has been decompressed.
    pub sys_flag: i32,
    /// When the producer created the message (epoch milliseconds, producer clock).
    pub born_timestamp: i64,
    /// Producer address as the broker saw it.
    pub born_host: SocketAddr,
    /// When the broker stored the message (epoch milliseconds, broker clock).
    pub store_timestamp: i64,
    /// Address of the broker that stored the message.
    pub store_host: SocketAddr,
    /// How many times the message was redelivered.
    pub reconsume_times: i32,
    /// Commit-log offset of the prepared message of a transaction.
    pub prepared_transaction_offset: i64,
    /// Topic (for retry messages, the `%RETRY%` topic; see [`keys::RETRY_TOPIC`]).
    pub topic: String,
    /// Properties.
    pub properties: Properties,
    /// Payload, decompressed.
    pub body: Bytes,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        MessageExt {
            store_size: 0,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            topic: String::new(),
            properties: Properties::new(),
            body: Bytes::new(),
        }
    }
}

impl MessageExt {
    /// The offset message id (7.7): store host and commit-log offset in hex, decodable with
    /// [`crate::protocol::msgid::decode_offset_msg_id`].
    pub fn offset_msg_id(&self) -> String {
        msgid::offset_msg_id(self.store_host, self.commit_log_offset)
    }

    /// The id users know the message by (Java `MessageClientExt.getMsgId`): the producer's
    /// `UNIQ_KEY` when present, else the offset id.
    pub fn msg_id(&self) -> String {
        match self.unique_key() {
            Some(id) => id.to_owned(),
            None => self.offset_msg_id(),
        }
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// The tag (`TAGS`); compare it, not just its hash, when filtering (gotcha 20).
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The business keys as stored (`KEYS`, space-separated).
    pub fn keys(&self) -> Option<&str> {
        self.property(keys::KEYS)
    }

    /// The business keys one by one.
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        split_keys(self.keys())
    }

    /// The producer's message id (`UNIQ_KEY`).
    pub fn unique_key(&self) -> Option<&str> {
        self.property(keys::UNIQ_KEY)
    }
}

/// Limits and checks for [`decode_stored_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Largest body decompression may produce; a larger one is a
    /// [`ProtocolError::Decompress`]. Stored bodies are not limited by this: they are slices
    /// of a buffer that already exists.
    pub max_body_size: usize,
    /// Check BODYCRC against the stored (still compressed) body, as Java's `checkCRC`. Off by
    /// default, as in the Java client: TCP already protects the bytes in flight.
    pub verify_crc: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            verify_crc: false,
        }
    }
}

impl DecodeOptions {
    /// The defaults: 64 MiB bodies, no CRC check.
    pub fn new() -> Self {
        Self::default()
    }

    /// With [`DecodeOptions::max_body_size`] set.
    pub fn with_max_body_size(mut self, max_body_size: usize) -> Self {
        self.max_body_size = max_body_size;
        self
    }

    /// With [`DecodeOptions::verify_crc`] set.
    pub fn with_verify_crc(mut self, verify_crc: bool) -> Self {
        self.verify_crc = verify_crc;
        self
    }
}

/// Decodes the back-to-back stored records of a PULL body and unwraps inner batches, as Java's
/// `MessageDecoder.decodesBatch` followed by `PullAPIWrapper.processPullResult` do.
///
/// Stricter than Java, which silently keeps the records before the first bad one: any bad
/// record fails the whole body. A caller that wants Java's behaviour can loop over
/// [`decode_stored_message`] and [`unwrap_inner_batch`] itself and stop at the first error.
pub fn decode_stored_messages(buf: Bytes, opts: &DecodeOptions) -> Result<Vec<MessageExt>> {
    let mut rest = buf;
    let mut messages = Vec::new();
    while !rest.is_empty() {
        let msg = decode_stored_message(&mut rest, opts)?;
        unwrap_inner_batch(msg, &mut messages)?;
    }
    Ok(messages)
}

/// Decodes one stored record from the front of `buf` and advances `buf` past it; on error `buf`
/// is left unchanged. For VIEW_MESSAGE_BY_ID and CHECK_TRANSACTION_STATE bodies, which hold one
/// record. Inner batches are not unwrapped here (see [`unwrap_inner_batch`]).
///
/// TOTALSIZE must equal the parsed size. A compressed body is decompressed and
/// [`sysflag::COMPRESSED`] cleared, as Java does; other bodies are zero-copy slices of `buf`.
pub fn decode_stored_message(buf: &mut Bytes, opts: &DecodeOptions) -> Result<MessageExt> {
    let (record, len) = parse_stored_record(buf)?;
    let msg = finish_body(record, opts)?;
    let _ = buf.split_to(len);
    Ok(msg)
}

/// Pushes `msg` onto `out`, or, when it is an inner-batch record ([`sysflag::INNER_BATCH`] and
/// [`sysflag::NEED_UNWRAP`]), the messages of its batch body (Java
/// `MessageDecoder.decodeMessage(MessageExt, List)`): the i-th gets queue offset
/// `msg.queue_offset + i`, its own flag, body and properties, and the record's topic, queue,
/// hosts, timestamps, sysFlag and commit-log offset. Like Java it also sets `WAIT` to the
/// record's value. Unlike Java, [`sysflag::NEED_UNWRAP`] is cleared on the unwrapped messages
/// (they need no more unwrapping, and calling this again on them is then a no-op);
/// [`sysflag::INNER_BATCH`] stays to tell where they came from.
pub fn unwrap_inner_batch(msg: MessageExt, out: &mut Vec<MessageExt>) -> Result<()> {
    let needs_unwrap = sysflag::has(msg.sys_flag, sysflag::INNER_BATCH)
        && sysflag::has(msg.sys_flag, sysflag::NEED_UNWRAP);
    if !needs_unwrap {
        out.push(msg);
        return Ok(());
    }
    let entries = decode_batch_body(msg.body.clone())?;
    let wait = wait_store_ok(&msg.properties).to_string();
    out.reserve(entries.len());
    for (index, entry) in (0i64..).zip(entries) {
        let mut properties = entry.properties;
        properties.insert(keys::WAIT, wait.clone());
        out.push(MessageExt {
            queue_offset: msg.queue_offset.wrapping_add(index),
            flag: entry.flag,
            body: entry.body,
            properties,
            topic: msg.topic.clone(),
            queue_id: msg.queue_id,
            store_host: msg.store_host,
            born_host: msg.born_host,
            born_timestamp: msg.born_timestamp,
            store_timestamp: msg.store_timestamp,
            sys_flag: msg.sys_flag & !sysflag::NEED_UNWRAP,
            commit_log_offset: msg.commit_log_offset,
            ..MessageExt::default()
        });
    }
    Ok(())
}

/// Parses the record at the front of `buf` with its body still as stored; returns it and its
/// length.
fn parse_stored_record(buf: &Bytes) -> Result<(MessageExt, usize)> {
    let mut head = Reader::new(buf);
    let store_size = head.i32("stored message TOTALSIZE")?;
    let magic = head.u32("stored message MAGICCODE")?;
    if magic != MAGIC_CODE_V1 && magic != MAGIC_CODE_V2 {
        return Err(ProtocolError::BadMagic(magic));
    }
    let len = usize::try_from(store_size)
        .ok()
        .filter(|&n| n >= STORED_FIXED_LEN)
        .ok_or(ProtocolError::InvalidLength {
            what: "stored message TOTALSIZE",
            value: i64::from(store_size),
        })?;
    if len > buf.len() {
        return Err(ProtocolError::truncated("stored message", len, buf.len()));
    }
    let record = buf.slice(..len);
    let mut r = Reader::new(&record);
    r.skip(8, "stored message")?;
    let msg = parse_record_fields(&mut r, store_size, magic == MAGIC_CODE_V2)?;
    check_total(store_size, r.position(), "stored message TOTALSIZE")?;
    Ok((msg, len))
}

/// The fields after MAGICCODE, in wire order.
fn parse_record_fields(r: &mut Reader<'_>, store_size: i32, v2: bool) -> Result<MessageExt> {
    let body_crc = r.i32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.i64("QUEUEOFFSET")?;
    let commit_log_offset = r.i64("PHYSICALOFFSET")?;
    let sys_flag = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_v6 = sysflag::has(sys_flag, sysflag::BORNHOST_V6);
    let born_host = r.host(born_v6, "BORNHOST", "born host port")?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_v6 = sysflag::has(sys_flag, sysflag::STOREHOST_V6);
    let store_host = r.host(store_v6, "STOREHOST", "store host port")?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("PREPARED_TX_OFFSET")?;
    let body_len = r.len_i32("message body")?;
    let body = r.bytes(body_len, "message body")?;
    let topic_len = if v2 {
        r.len_i16("topic")?
    } else {
        usize::from(r.u8("topic length")?)
    };
    let topic = std::str::from_utf8(r.take(topic_len, "topic")?)
        .map_err(|_| ProtocolError::InvalidUtf8 { what: "topic" })?
        .to_owned();
    let props_len = r.len_i16("message properties")?;
    let properties = Properties::decode(r.take(props_len, "message properties")?)?;
    Ok(MessageExt {
        store_size,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        topic,
        properties,
        body,
    })
}

/// CRC check and decompression of a parsed record's stored body. Like Java, an empty body is
/// neither checked nor decompressed (and then keeps its COMPRESSED bit).
fn finish_body(mut msg: MessageExt, opts: &DecodeOptions) -> Result<MessageExt> {
    if msg.body.is_empty() {
        return Ok(msg);
    }
    if opts.verify_crc {
        let computed = body_crc(&msg.body);
        if computed != msg.body_crc {
            return Err(ProtocolError::InvalidField {
                field: "BODYCRC",
                value: format!("stored {}, computed {computed}", msg.body_crc),
            });
        }
    }
    if sysflag::has(msg.sys_flag, sysflag::COMPRESSED) {
        let kind = compression_of(msg.sys_flag)?;
        msg.body = Bytes::from(decompress_body(kind, &msg.body, opts.max_body_size)?);
        msg.sys_flag &= !sysflag::COMPRESSED;
    }
    Ok(msg)
}

/// Appends `msg` as a stored record: the inverse of [`decode_stored_message`], for tests and
/// mock brokers (Java `MessageDecoder.encode`, but with v2 magic and a 2-byte topic length when
/// the topic is longer than 127 bytes, as the broker's commit log writes it).
///
/// TOTALSIZE and BODYCRC are computed (`msg.store_size` and `msg.body_crc` are ignored), and the
/// two IPv6 bits of the sysFlag are set from the address families of the hosts. When
/// `msg.sys_flag` has [`sysflag::COMPRESSED`], `msg.body` is taken as uncompressed and is
/// compressed with the type in the sysFlag. `out` is left as it was on error.
pub fn encode_stored_message(msg: &MessageExt, out: &mut Vec<u8>) -> Result<()> {
    let sys_flag = host_sys_flag(msg.sys_flag, msg.born_host, msg.store_host);
    let body = stored_body(sys_flag, &msg.body)?;
    let topic = msg.topic.as_bytes();
    let v2 = topic.len() > V1_MAX_TOPIC_LEN;
    let topic_len = i16_len(topic.len(), "topic")?;
    let props_len = i16_len(msg.properties.encoded_len(), "message properties")?;
    let body_len = i32_len(body.len(), "message body")?;
    let total = stored_len(&msg.born_host, &msg.store_host, v2)
        .checked_add(body.len() + topic.len() + msg.properties.encoded_len())
        .ok_or_else(|| too_long("stored message", usize::MAX))?;
    let total = i32_len(total, "stored message")?;

    let start = out.len();
    out.reserve(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    let magic = if v2 { MAGIC_CODE_V2 } else { MAGIC_CODE_V1 };
    out.extend_from_slice(&magic.to_be_bytes());
    out.extend_from_slice(&body_crc(&body).to_be_bytes());
    out.extend_from_slice(&msg.queue_id.to_be_bytes());
    out.extend_from_slice(&msg.flag.to_be_bytes());
    out.extend_from_slice(&msg.queue_offset.to_be_bytes());
    out.extend_from_slice(&msg.commit_log_offset.to_be_bytes());
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&msg.born_timestamp.to_be_bytes());
    put_host(out, msg.born_host);
    out.extend_from_slice(&msg.store_timestamp.to_be_bytes());
    put_host(out, msg.store_host);
    out.extend_from_slice(&msg.reconsume_times.to_be_bytes());
    out.extend_from_slice(&msg.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(&body);
    if v2 {
        out.extend_from_slice(&topic_len.to_be_bytes());
    } else {
        out.push(topic.len() as u8);
    }
    out.extend_from_slice(topic);
    out.extend_from_slice(&props_len.to_be_bytes());
    if let Err(e) = msg.properties.encode_into(out) {
        out.truncate(start);
        return Err(e);
    }
    debug_assert_eq!(out.len() - start, total as usize);
    Ok(())
}

/// Fixed length of a record with these hosts and topic-length width.
fn stored_len(born: &SocketAddr, store: &SocketAddr, v2: bool) -> usize {
    let v6_extra = |a: &SocketAddr| if a.is_ipv6() { IPV6_EXTRA_LEN } else { 0 };
    STORED_FIXED_LEN + v6_extra(born) + v6_extra(store) + usize::from(v2)
}

/// `sys_flag` with the two IPv6 bits matching the hosts, so the record is self-consistent.
fn host_sys_flag(sys_flag: i32, born: SocketAddr, store: SocketAddr) -> i32 {
    let mut flag = sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
    if born.is_ipv6() {
        flag |= sysflag::BORNHOST_V6;
    }
    if store.is_ipv6() {
        flag |= sysflag::STOREHOST_V6;
    }
    flag
}

fn stored_body(sys_flag: i32, body: &[u8]) -> Result<Cow<'_, [u8]>> {
    if !sysflag::has(sys_flag, sysflag::COMPRESSED) {
        return Ok(Cow::Borrowed(body));
    }
    let kind = compression_of(sys_flag).map_err(|_| ProtocolError::Unencodable {
        what: "message body",
        reason: format!("unknown compression type in sysFlag {sys_flag:#x}"),
    })?;
    Ok(Cow::Owned(compress_body(kind, body)?))
}

fn put_host(out: &mut Vec<u8>, host: SocketAddr) {
    match host.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(host.port()).to_be_bytes());
}

/// BODYCRC as the broker computes it: CRC32 of the stored body masked to a non-negative int
/// (Java `UtilAll.crc32`).
pub fn body_crc(stored_body: &[u8]) -> i32 {
    (crc32fast::hash(stored_body) & 0x7FFF_FFFF) as i32
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::Ipv6Addr;

    use super::*;
    use crate::protocol::message::tests::{
        any_message, any_properties, inner_batch_messages, sample_payload,
    };
    use crate::protocol::message::{encode_batch_body, Message};
    use crate::protocol::sysflag::CompressionType;
    use proptest::prelude::*;

    const HELLO_CRC: i32 = 0x3610_A686; // crc32("hello") & 0x7FFFFFFF

    /// The 7.4 record written field by field, independently of `encode_stored_message`.
    #[derive(Clone)]
    struct Raw {
        magic: u32,
        body_crc: i32,
        queue_id: i32,
        flag: i32,
        queue_offset: i64,
        commit_log_offset: i64,
        sys_flag: i32,
        born_ts: i64,
        born_ip: Vec<u8>,
        born_port: i32,
        store_ts: i64,
        store_ip: Vec<u8>,
        store_port: i32,
        reconsume: i32,
        prepared_tx: i64,
        body: Vec<u8>,
        topic: Vec<u8>,
        props: Vec<u8>,
        total_delta: i32,
    }

    impl Raw {
        fn sample() -> Raw {
            Raw {
                magic: MAGIC_CODE_V1,
                body_crc: HELLO_CRC,
                queue_id: 3,
                flag: 0,
                queue_offset: 42,
                commit_log_offset: 0x1234,
                sys_flag: 0,
                born_ts: 1_700_000_000_000,
                born_ip: vec![192, 168, 0, 10],
                born_port: 50_000,
                store_ts: 1_700_000_000_100,
                store_ip: vec![10, 0, 0, 1],
                store_port: 10_911,
                reconsume: 0,
                prepared_tx: 0,
                body: b"hello".to_vec(),
                topic: b"TopicTest".to_vec(),
                props: b"TAGS\x01TagA\x02UNIQ_KEY\x01ABC\x02".to_vec(),
                total_delta: 0,
            }
        }

        fn bytes(&self) -> Vec<u8> {
            let topic_len_size = if self.magic == MAGIC_CODE_V2 { 2 } else { 1 };
            let total = 4
                + 4
                + 4
                + 4
                + 4
                + 8
                + 8
                + 4
                + 8
                + self.born_ip.len()
                + 4
                + 8
                + self.store_ip.len()
                + 4
                + 4
                + 8
                + 4
                + self.body.len()
                + topic_len_size
                + self.topic.len()
                + 2
                + self.props.len();
            let mut b = Vec::new();
            b.extend_from_slice(&(total as i32 + self.total_delta).to_be_bytes());
            b.extend_from_slice(&self.magic.to_be_bytes());
            b.extend_from_slice(&self.body_crc.to_be_bytes());
            b.extend_from_slice(&self.queue_id.to_be_bytes());
            b.extend_from_slice(&self.flag.to_be_bytes());
            b.extend_from_slice(&self.queue_offset.to_be_bytes());
            b.extend_from_slice(&self.commit_log_offset.to_be_bytes());
            b.extend_from_slice(&self.sys_flag.to_be_bytes());
            b.extend_from_slice(&self.born_ts.to_be_bytes());
            b.extend_from_slice(&self.born_ip);
            b.extend_from_slice(&self.born_port.to_be_bytes());
            b.extend_from_slice(&self.store_ts.to_be_bytes());
            b.extend_from_slice(&self.store_ip);
            b.extend_from_slice(&self.store_port.to_be_bytes());
            b.extend_from_slice(&self.reconsume.to_be_bytes());
            b.extend_from_slice(&self.prepared_tx.to_be_bytes());
            b.extend_from_slice(&(self.body.len() as i32).to_be_bytes());
            b.extend_from_slice(&self.body);
            if topic_len_size == 2 {
                b.extend_from_slice(&(self.topic.len() as i16).to_be_bytes());
            } else {
                b.push(self.topic.len() as u8);
            }
            b.extend_from_slice(&self.topic);
            b.extend_from_slice(&(self.props.len() as i16).to_be_bytes());
            b.extend_from_slice(&self.props);
            b
        }

        fn with_compressed_body(mut self, kind_bits: i32, compressed: Vec<u8>) -> Raw {
            self.sys_flag |= sysflag::COMPRESSED | kind_bits;
            self.body_crc = body_crc(&compressed);
            self.body = compressed;
            self
        }
    }

    fn decode_one(bytes: Vec<u8>) -> Result<MessageExt> {
        let mut buf = Bytes::from(bytes);
        decode_stored_message(&mut buf, &DecodeOptions::default())
    }

    fn decode_all(bytes: Vec<u8>) -> Result<Vec<MessageExt>> {
        decode_stored_messages(Bytes::from(bytes), &DecodeOptions::default())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn literal_v1_ipv4_record() -> Vec<u8> {
        [
            &[0x00, 0x00, 0x00, 0x80][..],                     // TOTALSIZE 128
            &[0xDA, 0xA3, 0x20, 0xA7],                         // MAGICCODE v1
            &[0x36, 0x10, 0xA6, 0x86],                         // BODYCRC of "hello"
            &[0, 0, 0, 3],                                     // QUEUEID 3
            &[0, 0, 0, 0],                                     // FLAG 0
            &[0, 0, 0, 0, 0, 0, 0, 42],                        // QUEUEOFFSET 42
            &[0, 0, 0, 0, 0, 0, 0x12, 0x34],                   // PHYSICALOFFSET 0x1234
            &[0, 0, 0, 0],                                     // SYSFLAG 0
            &[0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00], // BORNTIMESTAMP
            &[192, 168, 0, 10, 0, 0, 0xC3, 0x50],              // BORNHOST 192.168.0.10:50000
            &[0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x64], // STORETIMESTAMP
            &[10, 0, 0, 1, 0, 0, 0x2A, 0x9F],                  // STOREHOST 10.0.0.1:10911
            &[0, 0, 0, 0],                                     // RECONSUMETIMES
            &[0, 0, 0, 0, 0, 0, 0, 0],                         // PREPARED_TX_OFFSET
            &[0, 0, 0, 5],                                     // BODYLEN
            b"hello",
            &[9], // TOPICLEN (v1: one byte)
            b"TopicTest",
            &[0, 23], // PROPSLEN
            b"TAGS\x01TagA\x02UNIQ_KEY\x01ABC\x02",
        ]
        .concat()
    }

    // ---- stored records: known bytes ----

    #[test]
    fn literal_record_decodes_field_by_field() {
        let bytes = literal_v1_ipv4_record();
        assert_eq!(bytes.len(), 128);
        assert_eq!(bytes, Raw::sample().bytes());
        let msg = decode_one(bytes).unwrap();
        assert_eq!(msg.store_size, 128);
        assert_eq!(msg.body_crc, HELLO_CRC);
        assert_eq!(msg.queue_id, 3);
        assert_eq!(msg.flag, 0);
        assert_eq!(msg.queue_offset, 42);
        assert_eq!(msg.commit_log_offset, 0x1234);
        assert_eq!(msg.sys_flag, 0);
        assert_eq!(msg.born_timestamp, 1_700_000_000_000);
        assert_eq!(msg.born_host, addr("192.168.0.10:50000"));
        assert_eq!(msg.store_timestamp, 1_700_000_000_100);
        assert_eq!(msg.store_host, addr("10.0.0.1:10911"));
        assert_eq!(msg.reconsume_times, 0);
        assert_eq!(msg.prepared_transaction_offset, 0);
        assert_eq!(&msg.body[..], b"hello");
        assert_eq!(msg.topic, "TopicTest");
        assert_eq!(msg.tags(), Some("TagA"));
        assert_eq!(msg.unique_key(), Some("ABC"));
        assert_eq!(msg.keys(), None);
        assert_eq!(msg.offset_msg_id(), "0A00000100002A9F0000000000001234");
        assert_eq!(msg.msg_id(), "ABC");
    }

    #[test]
    fn literal_record_is_what_the_encoder_writes() {
        let bytes = literal_v1_ipv4_record();
        let msg = decode_one(bytes.clone()).unwrap();
        let mut out = Vec::new();
        encode_stored_message(&msg, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn msg_id_falls_back_to_offset_id() {
        let mut raw = Raw::sample();
        raw.props = b"TAGS\x01TagA\x02".to_vec();
        let msg = decode_one(raw.bytes()).unwrap();
        assert_eq!(msg.unique_key(), None);
        assert_eq!(msg.msg_id(), "0A00000100002A9F0000000000001234");
    }

    #[test]
    fn ipv6_born_and_store_hosts() {
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6;
        raw.born_ip = "2001:db8::7".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        raw.store_ip = "fe80::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        let bytes = raw.bytes();
        assert_eq!(bytes.len(), 128 + 24);
        let msg = decode_one(bytes.clone()).unwrap();
        assert_eq!(msg.born_host, addr("[2001:db8::7]:50000"));
        assert_eq!(msg.store_host, addr("[fe80::1]:10911"));
        // The fields after the hosts moved by 24 bytes and still decode.
        assert_eq!(msg.store_timestamp, 1_700_000_000_100);
        assert_eq!(&msg.body[..], b"hello");
        assert_eq!(msg.topic, "TopicTest");
        assert_eq!(msg.offset_msg_id().len(), 56);
        assert!(msg
            .offset_msg_id()
            .starts_with("FE800000000000000000000000000001"));
        let mut out = Vec::new();
        encode_stored_message(&msg, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn ipv6_born_host_only() {
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::BORNHOST_V6;
        raw.born_ip = Ipv6Addr::LOCALHOST.octets().to_vec();
        let msg = decode_one(raw.bytes()).unwrap();
        assert_eq!(msg.born_host, addr("[::1]:50000"));
        assert_eq!(msg.store_host, addr("10.0.0.1:10911"));
        assert_eq!(msg.offset_msg_id().len(), 32);
    }

    #[test]
    fn v2_magic_with_long_topic() {
        let mut raw = Raw::sample();
        raw.magic = MAGIC_CODE_V2;
        let topic = format!("%RETRY%{}", "g".repeat(193));
        raw.topic = topic.clone().into_bytes();
        let bytes = raw.bytes();
        // i16 topic length right after the body.
        assert_eq!(&bytes[93..95], &200i16.to_be_bytes());
        let msg = decode_one(bytes.clone()).unwrap();
        assert_eq!(msg.topic, topic);
        assert_eq!(msg.tags(), Some("TagA"));
        let mut out = Vec::new();
        encode_stored_message(&msg, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn v2_magic_with_short_topic_decodes() {
        let mut raw = Raw::sample();
        raw.magic = MAGIC_CODE_V2;
        assert_eq!(decode_one(raw.bytes()).unwrap().topic, "TopicTest");
    }

    #[test]
    fn v1_topic_length_is_read_unsigned() {
        // Java reads it as a signed byte and fails above 127; a 200-byte length is unambiguous
        // once TOTALSIZE agrees, so it is accepted.
        let mut raw = Raw::sample();
        raw.topic = vec![b't'; 200];
        assert_eq!(decode_one(raw.bytes()).unwrap().topic.len(), 200);
    }

    #[test]
    fn encoder_picks_magic_by_topic_length() {
        for (len, magic) in [
            (127, MAGIC_CODE_V1),
            (128, MAGIC_CODE_V2),
            (255, MAGIC_CODE_V2),
        ] {
            let msg = MessageExt {
                topic: "t".repeat(len),
                body: Bytes::from_static(b"x"),
                ..MessageExt::default()
            };
            let mut out = Vec::new();
            encode_stored_message(&msg, &mut out).unwrap();
            assert_eq!(&out[4..8], &magic.to_be_bytes(), "topic length {len}");
            assert_eq!(decode_one(out).unwrap().topic, msg.topic);
        }
    }

    #[test]
    fn empty_body_and_properties() {
        let mut raw = Raw::sample();
        raw.body.clear();
        raw.body_crc = 0;
        raw.props.clear();
        let bytes = raw.bytes();
        assert_eq!(bytes.len(), STORED_FIXED_LEN + 9);
        let msg = decode_one(bytes).unwrap();
        assert!(msg.body.is_empty());
        assert!(msg.properties.is_empty());
    }

    // ---- compression ----

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn lz4_frame(data: &[u8], info: lz4_flex::frame::FrameInfo) -> Vec<u8> {
        let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd_frame(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    fn check_compressed(kind_bits: i32, compressed: Vec<u8>) {
        let payload = sample_payload();
        assert_ne!(compressed, payload);
        let raw = Raw::sample().with_compressed_body(kind_bits, compressed);
        let opts = DecodeOptions::new().with_verify_crc(true);
        let msg = decode_stored_message(&mut Bytes::from(raw.bytes()), &opts).unwrap();
        assert_eq!(&msg.body[..], &payload[..]);
        // COMPRESSED is cleared as in Java; the type bits stay.
        assert_eq!(msg.sys_flag, kind_bits);
        assert_eq!(msg.body_crc, raw.body_crc);
    }

    #[test]
    fn zlib_compressed_body() {
        check_compressed(sysflag::COMPRESSION_ZLIB, zlib(&sample_payload()));
    }

    #[test]
    fn compression_type_zero_is_zlib() {
        check_compressed(0, zlib(&sample_payload()));
    }

    #[test]
    fn lz4_frame_compressed_body() {
        use lz4_flex::frame::FrameInfo;
        check_compressed(
            sysflag::COMPRESSION_LZ4,
            lz4_frame(&sample_payload(), FrameInfo::new()),
        );
        let checked = FrameInfo::new()
            .content_checksum(true)
            .block_checksums(true);
        check_compressed(
            sysflag::COMPRESSION_LZ4,
            lz4_frame(&sample_payload(), checked),
        );
    }

    #[test]
    fn zstd_compressed_body() {
        check_compressed(sysflag::COMPRESSION_ZSTD, zstd_frame(&sample_payload()));
    }

    #[test]
    fn decompression_is_capped() {
        let bomb = zlib(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 2048);
        let raw = Raw::sample().with_compressed_body(sysflag::COMPRESSION_ZLIB, bomb);
        let opts = DecodeOptions::new().with_max_body_size(64 * 1024);
        let err = decode_stored_messages(Bytes::from(raw.bytes()), &opts).unwrap_err();
        assert!(
            matches!(err, ProtocolError::Decompress { kind: "ZLIB", .. }),
            "{err:?}"
        );
        let opts = DecodeOptions::new().with_max_body_size(1 << 20);
        let msgs = decode_stored_messages(Bytes::from(raw.bytes()), &opts).unwrap();
        assert_eq!(msgs[0].body.len(), 1 << 20);
    }

    #[test]
    fn corrupt_compressed_bodies_are_errors() {
        for (bits, name) in [
            (sysflag::COMPRESSION_ZLIB, "ZLIB"),
            (sysflag::COMPRESSION_LZ4, "LZ4"),
            (sysflag::COMPRESSION_ZSTD, "ZSTD"),
        ] {
            let raw =
                Raw::sample().with_compressed_body(bits, b"definitely not compressed".to_vec());
            match decode_one(raw.bytes()) {
                Err(ProtocolError::Decompress { kind, .. }) => assert_eq!(kind, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_compression_type_is_an_error() {
        let raw = Raw::sample().with_compressed_body(0x400, zlib(b"x"));
        assert!(matches!(
            decode_one(raw.bytes()),
            Err(ProtocolError::Decompress {
                kind: "unknown",
                ..
            })
        ));
    }

    #[test]
    fn encoder_compresses_when_flag_is_set() {
        for kind in [
            CompressionType::Zlib,
            CompressionType::Lz4,
            CompressionType::Zstd,
        ] {
            let msg = MessageExt {
                topic: "T".into(),
                sys_flag: sysflag::COMPRESSED | kind.sys_flag_bits(),
                body: Bytes::from(sample_payload()),
                ..MessageExt::default()
            };
            let mut out = Vec::new();
            encode_stored_message(&msg, &mut out).unwrap();
            assert!(out.len() < sample_payload().len());
            let opts = DecodeOptions::new().with_verify_crc(true);
            let back = decode_stored_message(&mut Bytes::from(out), &opts).unwrap();
            assert_eq!(back.body, msg.body);
            assert_eq!(back.sys_flag, kind.sys_flag_bits());
        }
    }

    // ---- CRC ----

    #[test]
    fn crc_is_checked_only_when_asked() {
        let mut raw = Raw::sample();
        let strict = DecodeOptions::new().with_verify_crc(true);
        decode_stored_message(&mut Bytes::from(raw.bytes()), &strict).unwrap();
        raw.body_crc ^= 1;
        assert!(matches!(
            decode_stored_message(&mut Bytes::from(raw.bytes()), &strict),
            Err(ProtocolError::InvalidField {
                field: "BODYCRC",
                ..
            })
        ));
        decode_one(raw.bytes()).unwrap();
    }

    #[test]
    fn body_crc_is_masked_crc32() {
        assert_eq!(body_crc(b"hello"), HELLO_CRC);
        assert_eq!(body_crc(b""), 0);
        // crc32("The quick brown fox jumps over the lazy dog") = 0x414FA339.
        assert_eq!(
            body_crc(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        // crc32("a") = 0xE8B7BE43, high bit masked off.
        assert_eq!(body_crc(b"a"), 0x68B7_BE43);
    }

    // ---- sequences, inner batches, zero copy ----

    #[test]
    fn back_to_back_records() {
        let mut second = Raw::sample();
        second.queue_offset = 43;
        second.magic = MAGIC_CODE_V2;
        second.sys_flag = sysflag::STOREHOST_V6;
        second.store_ip = Ipv6Addr::LOCALHOST.octets().to_vec();
        let bytes = [Raw::sample().bytes(), second.bytes()].concat();
        let msgs = decode_all(bytes.clone()).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].queue_offset, 42);
        assert_eq!(msgs[1].queue_offset, 43);
        assert_eq!(msgs[1].store_host, addr("[::1]:10911"));

        let mut buf = Bytes::from(bytes);
        let first = decode_stored_message(&mut buf, &DecodeOptions::default()).unwrap();
        assert_eq!(first.queue_offset, 42);
        assert_eq!(buf.len(), second.bytes().len());
    }

    #[test]
    fn empty_pull_body_has_no_messages() {
        assert!(decode_all(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn bodies_are_zero_copy() {
        let buf = Bytes::from([Raw::sample().bytes(), Raw::sample().bytes()].concat());
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        for msg in decode_stored_messages(buf.clone(), &DecodeOptions::default()).unwrap() {
            assert!(range.contains(&(msg.body.as_ptr() as usize)));
        }
        let entries = {
            let mut body = Vec::new();
            encode_batch_body(&[Message::new("T", "abc")], &mut body).unwrap();
            let body = Bytes::from(body);
            let start = body.as_ptr() as usize;
            let entries = decode_batch_body(body.clone()).unwrap();
            assert_eq!(entries[0].body.as_ptr() as usize, start + 20);
            entries
        };
        assert_eq!(&entries[0].body[..], b"abc");
    }

    #[test]
    fn inner_batch_is_unwrapped() {
        let mut body = Vec::new();
        encode_batch_body(&inner_batch_messages(), &mut body).unwrap();
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
        raw.queue_offset = 100;
        raw.reconsume = 2;
        raw.topic = b"BatchTopic".to_vec();
        raw.props = b"WAIT\x01false\x02".to_vec();
        raw.body_crc = body_crc(&body);
        raw.body = body;
        let plain = Raw::sample();
        let msgs = decode_all([plain.bytes(), raw.bytes(), plain.bytes()].concat()).unwrap();
        assert_eq!(msgs.len(), 5);
        assert_eq!(msgs[0].queue_offset, 42);
        assert_eq!(msgs[4].queue_offset, 42);
        for (i, msg) in msgs[1..4].iter().enumerate() {
            assert_eq!(msg.queue_offset, 100 + i as i64);
            assert_eq!(msg.flag, 10 + i as i32);
            assert_eq!(msg.body, format!("body-{i}").as_bytes());
            assert_eq!(msg.tags(), Some(format!("tag{i}").as_str()));
            assert_eq!(msg.msg_id(), format!("ID{i}"));
            assert_eq!(msg.property(keys::WAIT), Some("false"));
            assert_eq!(msg.topic, "BatchTopic");
            assert_eq!(msg.queue_id, 3);
            assert_eq!(msg.commit_log_offset, 0x1234);
            assert_eq!(msg.store_host, addr("10.0.0.1:10911"));
            assert_eq!(msg.born_host, addr("192.168.0.10:50000"));
            assert_eq!(msg.born_timestamp, 1_700_000_000_000);
            assert_eq!(msg.store_timestamp, 1_700_000_000_100);
            assert_eq!(msg.sys_flag, sysflag::INNER_BATCH);
            // Unwrapping again changes nothing.
            let mut again = Vec::new();
            unwrap_inner_batch(msg.clone(), &mut again).unwrap();
            assert_eq!(again.len(), 1);
            assert_eq!(&again[0], msg);
            // Not copied by Java either.
            assert_eq!(msg.reconsume_times, 0);
            assert_eq!(msg.store_size, 0);
        }
    }

    #[test]
    fn compressed_inner_batch_is_decompressed_then_unwrapped() {
        let mut body = Vec::new();
        encode_batch_body(&inner_batch_messages(), &mut body).unwrap();
        let mut raw =
            Raw::sample().with_compressed_body(sysflag::COMPRESSION_ZSTD, zstd_frame(&body));
        raw.sys_flag |= sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
        let msgs = decode_all(raw.bytes()).unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[2].body, "body-2".as_bytes());
        assert_eq!(msgs[2].property(keys::WAIT), Some("true"));
    }

    #[test]
    fn inner_batch_without_need_unwrap_is_kept_whole() {
        let mut body = Vec::new();
        encode_batch_body(&inner_batch_messages(), &mut body).unwrap();
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::INNER_BATCH;
        raw.body = body.clone();
        let msgs = decode_all(raw.bytes()).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].body, body);
    }

    #[test]
    fn garbage_inner_batch_is_an_error() {
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
        assert!(decode_all(raw.bytes()).is_err());
    }

    #[test]
    fn inner_batch_offsets_wrap_instead_of_overflowing() {
        let mut body = Vec::new();
        encode_batch_body(&inner_batch_messages(), &mut body).unwrap();
        let mut raw = Raw::sample();
        raw.sys_flag = sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
        raw.queue_offset = i64::MAX;
        raw.body = body;
        let msgs = decode_all(raw.bytes()).unwrap();
        assert_eq!(msgs[1].queue_offset, i64::MIN);
    }

    // ---- malformed records ----

    fn expect_err(bytes: Vec<u8>) -> ProtocolError {
        let mut buf = Bytes::from(bytes);
        let before = buf.clone();
        let err = decode_stored_message(&mut buf, &DecodeOptions::default()).unwrap_err();
        assert_eq!(buf, before, "buffer must be unchanged on error");
        err
    }

    #[test]
    fn bad_magic() {
        let mut raw = Raw::sample();
        raw.magic = 0xCBD4_3194;
        assert_eq!(
            expect_err(raw.bytes()),
            ProtocolError::BadMagic(0xCBD4_3194)
        );
    }

    #[test]
    fn short_header_is_truncated() {
        let bytes = literal_v1_ipv4_record();
        for len in [1, 4, 7] {
            assert!(matches!(
                expect_err(bytes[..len].to_vec()),
                ProtocolError::Truncated { .. }
            ));
        }
    }

    #[test]
    fn record_longer_than_buffer_is_truncated() {
        let bytes = literal_v1_ipv4_record();
        assert_eq!(
            expect_err(bytes[..127].to_vec()),
            ProtocolError::truncated("stored message", 128, 127)
        );
    }

    #[test]
    fn totalsize_must_match_parsed_size() {
        for delta in [-1, 1, -40] {
            let mut raw = Raw::sample();
            raw.total_delta = delta;
            let mut bytes = raw.bytes();
            bytes.extend_from_slice(&[0; 64]);
            let err = expect_err(bytes);
            assert!(
                matches!(
                    err,
                    ProtocolError::InvalidLength { .. } | ProtocolError::Truncated { .. }
                ),
                "{delta}: {err:?}"
            );
        }
        let mut raw = Raw::sample();
        raw.total_delta = -200;
        assert!(matches!(
            expect_err(raw.bytes()),
            ProtocolError::InvalidLength { .. }
        ));
    }

    #[test]
    fn negative_lengths_are_invalid() {
        // Body length field at offset 84.
        let mut bytes = literal_v1_ipv4_record();
        bytes[84..88].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            expect_err(bytes),
            ProtocolError::InvalidLength { .. }
        ));
        // Properties length field at offset 103.
        let mut bytes = literal_v1_ipv4_record();
        bytes[103..105].copy_from_slice(&(-1i16).to_be_bytes());
        assert!(matches!(
            expect_err(bytes),
            ProtocolError::InvalidLength { .. }
        ));
        // v2 topic length.
        let mut raw = Raw::sample();
        raw.magic = MAGIC_CODE_V2;
        let mut bytes = raw.bytes();
        bytes[93..95].copy_from_slice(&(-9i16).to_be_bytes());
        assert!(matches!(
            expect_err(bytes),
            ProtocolError::InvalidLength { .. }
        ));
    }

    #[test]
    fn oversized_inner_lengths_are_truncated() {
        let mut bytes = literal_v1_ipv4_record();
        bytes[84..88].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(expect_err(bytes), ProtocolError::Truncated { .. }));
    }

    #[test]
    fn port_out_of_range() {
        let mut raw = Raw::sample();
        raw.store_port = 70_000;
        assert!(matches!(
            expect_err(raw.bytes()),
            ProtocolError::InvalidField {
                field: "store host port",
                ..
            }
        ));
        let mut raw = Raw::sample();
        raw.born_port = -1;
        assert!(matches!(
            expect_err(raw.bytes()),
            ProtocolError::InvalidField {
                field: "born host port",
                ..
            }
        ));
    }

    #[test]
    fn invalid_utf8_topic_and_properties() {
        let mut raw = Raw::sample();
        raw.topic = vec![0xFF, 0xFE];
        assert_eq!(
            expect_err(raw.bytes()),
            ProtocolError::InvalidUtf8 { what: "topic" }
        );
        let mut raw = Raw::sample();
        raw.props = b"A\x01\xC3\x02".to_vec();
        assert!(matches!(
            expect_err(raw.bytes()),
            ProtocolError::InvalidUtf8 { .. }
        ));
    }

    #[test]
    fn garbage_after_a_good_record_fails_the_body() {
        let mut bytes = literal_v1_ipv4_record();
        bytes.extend_from_slice(b"\0\0\0\x10junkjunk");
        assert!(decode_all(bytes).is_err());
    }

    // ---- encoder limits ----

    #[test]
    fn encoder_rejects_what_the_wire_cannot_carry() {
        let mut out = b"keep".to_vec();
        let long_topic = MessageExt {
            topic: "t".repeat(40_000),
            ..MessageExt::default()
        };
        assert!(matches!(
            encode_stored_message(&long_topic, &mut out),
            Err(ProtocolError::Unencodable { what: "topic", .. })
        ));
        let mut big_props = MessageExt::default();
        big_props.properties.insert("K", "v".repeat(40_000));
        assert!(matches!(
            encode_stored_message(&big_props, &mut out),
            Err(ProtocolError::Unencodable { .. })
        ));
        let mut bad_prop = MessageExt::default();
        bad_prop.properties.insert("K", "a\u{2}b");
        assert!(matches!(
            encode_stored_message(&bad_prop, &mut out),
            Err(ProtocolError::InvalidProperty(_))
        ));
        let unknown_kind = MessageExt {
            sys_flag: sysflag::COMPRESSED | 0x500,
            ..MessageExt::default()
        };
        assert!(matches!(
            encode_stored_message(&unknown_kind, &mut out),
            Err(ProtocolError::Unencodable { .. })
        ));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn encoder_sets_ipv6_bits_from_hosts() {
        let msg = MessageExt {
            born_host: addr("[::1]:1"),
            store_host: addr("1.2.3.4:5"),
            sys_flag: sysflag::STOREHOST_V6,
            ..MessageExt::default()
        };
        let mut out = Vec::new();
        encode_stored_message(&msg, &mut out).unwrap();
        let back = decode_one(out).unwrap();
        assert_eq!(back.sys_flag, sysflag::BORNHOST_V6);
        assert_eq!(back.born_host, msg.born_host);
        assert_eq!(back.store_host, msg.store_host);
    }

    #[test]
    fn message_ext_key_list_skips_empty_keys() {
        let mut msg = MessageExt::default();
        msg.properties.insert(keys::KEYS, " a  b ");
        assert_eq!(msg.key_list().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(MessageExt::default().key_list().count(), 0);
    }

    // ---- property tests ----

    fn any_host() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
        ]
    }

    fn any_compression_bits() -> impl Strategy<Value = i32> {
        prop_oneof![
            Just(0),
            Just(sysflag::COMPRESSED),
            Just(sysflag::COMPRESSED | sysflag::COMPRESSION_LZ4),
            Just(sysflag::COMPRESSED | sysflag::COMPRESSION_ZSTD),
            Just(sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB),
        ]
    }

    prop_compose! {
        fn any_message_ext()(
            ints in any::<(i32, i32, i32, i32)>(),
            longs in any::<(i64, i64, i64, i64, i64)>(),
            other_flags in any::<i32>(),
            compression in any_compression_bits(),
            born_host in any_host(),
            store_host in any_host(),
            topic in "[a-zA-Z0-9_%|-]{0,300}",
            properties in any_properties(),
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) -> MessageExt {
            let keep = !(sysflag::COMPRESSED | sysflag::COMPRESSION_TYPE_MASK);
            MessageExt {
                store_size: 0,
                body_crc: 0,
                queue_id: ints.0,
                flag: ints.1,
                reconsume_times: ints.2,
                sys_flag: (other_flags & keep) | compression,
                queue_offset: longs.0,
                commit_log_offset: longs.1,
                born_timestamp: longs.2,
                store_timestamp: longs.3,
                prepared_transaction_offset: longs.4,
                born_host,
                store_host,
                topic,
                properties,
                body: Bytes::from(body),
            }
        }
    }

    proptest! {
        #[test]
        fn stored_message_round_trip(msg in any_message_ext()) {
            let mut out = Vec::new();
            encode_stored_message(&msg, &mut out).unwrap();
            let opts = DecodeOptions::new().with_verify_crc(true);
            let mut buf = Bytes::from(out.clone());
            let back = decode_stored_message(&mut buf, &opts).unwrap();
            prop_assert!(buf.is_empty());
            let mut expected = msg.clone();
            expected.store_size = out.len() as i32;
            expected.body_crc = i32::from_be_bytes(out[8..12].try_into().unwrap());
            expected.sys_flag = host_sys_flag(msg.sys_flag, msg.born_host, msg.store_host)
                & !sysflag::COMPRESSED;
            prop_assert_eq!(back, expected);
        }

        #[test]
        fn stored_messages_sequence_round_trip(msgs in proptest::collection::vec(any_message_ext(), 0..4)) {
            let mut out = Vec::new();
            for msg in &msgs {
                let mut msg = msg.clone();
                msg.sys_flag &= !(sysflag::INNER_BATCH | sysflag::NEED_UNWRAP);
                encode_stored_message(&msg, &mut out).unwrap();
            }
            let back = decode_stored_messages(Bytes::from(out), &DecodeOptions::default()).unwrap();
            prop_assert_eq!(back.len(), msgs.len());
            for (b, m) in back.iter().zip(&msgs) {
                prop_assert_eq!(&b.body, &m.body);
                prop_assert_eq!(&b.topic, &m.topic);
                prop_assert_eq!(b.queue_offset, m.queue_offset);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_stored_messages(Bytes::from(bytes.clone()), &DecodeOptions::default());
            let _ = decode_batch_body(Bytes::from(bytes));
        }

        #[test]
        fn random_bytes_after_a_valid_header_never_panic(
            magic in prop_oneof![Just(MAGIC_CODE_V1), Just(MAGIC_CODE_V2)],
            sys_flag in any::<i32>(),
            tail in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&((tail.len() + 40) as i32).to_be_bytes());
            bytes.extend_from_slice(&magic.to_be_bytes());
            bytes.extend_from_slice(&[0; 28]);
            bytes.extend_from_slice(&sys_flag.to_be_bytes());
            bytes.extend_from_slice(&tail);
            let opts = DecodeOptions::new().with_verify_crc(true);
            let _ = decode_stored_messages(Bytes::from(bytes), &opts);
        }

        #[test]
        fn mutated_records_never_panic(
            msg in any_message_ext(),
            inner in proptest::collection::vec(any_message(), 0..3),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut msg = msg;
            if !inner.is_empty() {
                let mut body = Vec::new();
                encode_batch_body(&inner, &mut body).unwrap();
                msg.body = Bytes::from(body);
                msg.sys_flag |= sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
            }
            let mut out = Vec::new();
            encode_stored_message(&msg, &mut out).unwrap();
            for (at, byte) in edits {
                let i = at.index(out.len());
                out[i] = byte;
            }
            let opts = DecodeOptions::new().with_verify_crc(true).with_max_body_size(4096);
            let _ = decode_stored_messages(Bytes::from(out.clone()), &opts);
            out.truncate(cut.index(out.len() + 1));
            let _ = decode_stored_messages(Bytes::from(out), &opts);
        }

    }
}
