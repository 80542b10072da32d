//! The batch body (REMOTING.md 7.3) a producer sends with SEND_BATCH_MESSAGE, which also
//! appears inside stored "inner batch" records: [`BatchEntry`], [`encode_batch_body`] and
//! [`decode_batch_body`].

use bytes::Bytes;

use super::reader::{check_total, i16_len, i32_len, too_long, Reader};
use super::Message;
use crate::protocol::error::Result;
use crate::protocol::properties::Properties;

/// Fixed bytes of a batch entry: TOTALSIZE, MAGICCODE, BODYCRC, FLAG, BODYLEN, PROPSLEN.
const BATCH_ENTRY_FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One entry of a batch body: only flag, body and properties travel per message; the topic is
/// the batch's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    /// User flag.
    pub flag: i32,
    /// Payload, a zero-copy slice of the decoded buffer.
    pub body: Bytes,
    /// The entry's own properties (the broker stores only these, not the header's).
    pub properties: Properties,
}

/// Appends the SEND_BATCH_MESSAGE body for `msgs` (Java `MessageDecoder.encodeMessages`).
///
/// Topic, `WAIT` and `DELAY` rules of a batch are the caller's to check; this only encodes.
/// Fails with [`ProtocolError::Unencodable`] for properties over 32767 bytes or an entry over
/// `i32::MAX` bytes, and with [`ProtocolError::InvalidProperty`] for a property the wire cannot
/// carry; `out` is left as it was on error.
///
/// [`ProtocolError::Unencodable`]: crate::protocol::ProtocolError::Unencodable
/// [`ProtocolError::InvalidProperty`]: crate::protocol::ProtocolError::InvalidProperty
pub fn encode_batch_body(msgs: &[Message], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    for msg in msgs {
        if let Err(e) = encode_batch_entry(msg.flag, &msg.body, &msg.properties, out) {
            out.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

/// The length [`encode_batch_body`] makes for `msgs` (saturating; for size limits).
pub fn encoded_batch_len(msgs: &[Message]) -> usize {
    msgs.iter().fold(0usize, |n, m| {
        n.saturating_add(BATCH_ENTRY_FIXED_LEN + m.body.len() + m.properties.encoded_len())
    })
}

fn encode_batch_entry(flag: i32, body: &[u8], props: &Properties, out: &mut Vec<u8>) -> Result<()> {
    let props_len = i16_len(props.encoded_len(), "batch entry properties")?;
    let body_len = i32_len(body.len(), "batch entry body")?;
    let total = BATCH_ENTRY_FIXED_LEN
        .checked_add(body.len())
        .and_then(|n| n.checked_add(props.encoded_len()))
        .ok_or_else(|| too_long("batch entry", usize::MAX))?;
    let total = i32_len(total, "batch entry")?;
    let start = out.len();
    out.reserve(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // MAGICCODE, ignored by the broker
    out.extend_from_slice(&0i32.to_be_bytes()); // BODYCRC, computed by the broker
    out.extend_from_slice(&flag.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&props_len.to_be_bytes());
    props.encode_into(out)?;
    debug_assert_eq!(out.len() - start, total as usize);
    Ok(())
}

/// Splits a batch body into its entries (Java `MessageDecoder.decodeMessages`).
///
/// Stricter than Java, which ignores TOTALSIZE: each entry's TOTALSIZE must equal its parsed
/// size, so a misframed body is an error rather than a run of garbage messages. MAGICCODE and
/// BODYCRC are ignored, as the broker does.
pub fn decode_batch_body(body: Bytes) -> Result<Vec<BatchEntry>> {
    let mut reader = Reader::new(&body);
    let mut entries = Vec::new();
    while reader.remaining() > 0 {
        entries.push(decode_batch_entry(&mut reader)?);
    }
    Ok(entries)
}

fn decode_batch_entry(r: &mut Reader<'_>) -> Result<BatchEntry> {
    let start = r.position();
    let total = r.i32("batch entry TOTALSIZE")?;
    let _magic = r.i32("batch entry MAGICCODE")?;
    let _crc = r.i32("batch entry BODYCRC")?;
    let flag = r.i32("batch entry FLAG")?;
    let body_len = r.len_i32("batch entry body")?;
    let body = r.bytes(body_len, "batch entry body")?;
    let props_len = r.len_i16("batch entry properties")?;
    let properties = Properties::decode(r.take(props_len, "batch entry properties")?)?;
    check_total(total, r.position() - start, "batch entry TOTALSIZE")?;
    Ok(BatchEntry {
        flag,
        body,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ProtocolError;
    use crate::protocol::message::tests::{any_message, inner_batch_messages};
    use proptest::prelude::*;

    #[test]
    fn batch_entry_known_bytes() {
        let mut m = Message::new("T", "ab");
        m.flag = 7;
        m.set_tags("x");
        let mut out = Vec::new();
        encode_batch_body(&[m.clone()], &mut out).unwrap();
        let expected = [
            &[0, 0, 0, 31][..], // TOTALSIZE = 22 + 2 + 7
            &[0, 0, 0, 0],      // MAGICCODE
            &[0, 0, 0, 0],      // BODYCRC
            &[0, 0, 0, 7],      // FLAG
            &[0, 0, 0, 2],      // BODYLEN
            b"ab",
            &[0, 7], // PROPSLEN
            b"TAGS\x01x\x02",
        ]
        .concat();
        assert_eq!(out, expected);
        let entries = decode_batch_body(Bytes::from(out)).unwrap();
        assert_eq!(
            entries,
            [BatchEntry {
                flag: 7,
                body: Bytes::from_static(b"ab"),
                properties: m.properties.clone(),
            }]
        );
    }

    #[test]
    fn batch_round_trip_and_empty() {
        let msgs = inner_batch_messages();
        let mut out = Vec::new();
        encode_batch_body(&msgs, &mut out).unwrap();
        let entries = decode_batch_body(Bytes::from(out)).unwrap();
        assert_eq!(entries.len(), 3);
        for (m, e) in msgs.iter().zip(&entries) {
            assert_eq!(
                (m.flag, &m.body, &m.properties),
                (e.flag, &e.body, &e.properties)
            );
        }
        assert!(decode_batch_body(Bytes::new()).unwrap().is_empty());
        let mut out = Vec::new();
        encode_batch_body(&[], &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn batch_encoder_rejects_and_leaves_output() {
        let mut ok = Message::new("T", "fine");
        ok.set_tags("a");
        let mut big = Message::new("T", "x");
        big.set_property("P", "v".repeat(i16::MAX as usize));
        let mut bad = Message::new("T", "x");
        bad.set_property("P\u{1}", "v");
        let mut out = b"keep".to_vec();
        assert!(matches!(
            encode_batch_body(&[ok.clone(), big], &mut out),
            Err(ProtocolError::Unencodable { .. })
        ));
        assert!(matches!(
            encode_batch_body(&[ok, bad], &mut out),
            Err(ProtocolError::InvalidProperty(_))
        ));
        assert_eq!(out, b"keep");
        // Exactly i16::MAX bytes of properties is allowed.
        let mut edge = Message::new("T", "x");
        edge.set_property("P", "v".repeat(i16::MAX as usize - 3));
        assert_eq!(edge.properties.encoded_len(), i16::MAX as usize);
        encode_batch_body(&[edge], &mut out).unwrap();
    }

    #[test]
    fn batch_decoder_rejects_malformed_entries() {
        let mut good = Vec::new();
        encode_batch_body(&inner_batch_messages()[..1], &mut good).unwrap();
        // TOTALSIZE off by one.
        let mut bad = good.clone();
        bad[3] += 1;
        assert!(matches!(
            decode_batch_body(Bytes::from(bad)),
            Err(ProtocolError::InvalidLength {
                what: "batch entry TOTALSIZE",
                ..
            })
        ));
        // Negative body length.
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decode_batch_body(Bytes::from(bad)),
            Err(ProtocolError::InvalidLength { .. })
        ));
        // Truncated anywhere.
        for len in 1..good.len() {
            assert!(
                decode_batch_body(Bytes::copy_from_slice(&good[..len])).is_err(),
                "{len}"
            );
        }
    }

    // ---- property tests ----

    proptest! {
        #[test]
        fn batch_round_trip(msgs in proptest::collection::vec(any_message(), 0..8)) {
            let mut out = Vec::new();
            encode_batch_body(&msgs, &mut out).unwrap();
            prop_assert_eq!(encoded_batch_len(&msgs), out.len());
            let entries = decode_batch_body(Bytes::from(out)).unwrap();
            prop_assert_eq!(entries.len(), msgs.len());
            for (e, m) in entries.iter().zip(&msgs) {
                prop_assert_eq!(e.flag, m.flag);
                prop_assert_eq!(&e.body, &m.body);
                prop_assert_eq!(&e.properties, &m.properties);
            }
        }

        #[test]
        fn mutated_batches_never_panic(
            msgs in proptest::collection::vec(any_message(), 1..4),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut out = Vec::new();
            encode_batch_body(&msgs, &mut out).unwrap();
            for (at, byte) in edits {
                let i = at.index(out.len());
                out[i] = byte;
            }
            let _ = decode_batch_body(Bytes::from(out));
        }
    }
}
