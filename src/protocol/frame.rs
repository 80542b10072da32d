//! Frames on the wire (REMOTING.md §1.1):
//! `i32 length | i32 (serializeType << 24 | headerLength) | header | body`,
//! where `length` counts everything after itself.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::binary_header;
use super::codes::SerializeType;
use super::command::{CommandHeader, CommandMeta, RemotingCommand};
use super::error::{ProtocolError, Result};
use super::json_header;

/// The broker's default maximum frame, including the 4-byte length prefix (`NettyDecoder`).
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The header length is the low 24 bits of the header word.
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// Appends the length prefix, header word and header of a frame whose body (`body_len`
/// bytes) the caller sends right after, e.g. as a second buffer of a vectored write.
pub fn encode_frame_head<H: CommandHeader>(
    out: &mut BytesMut,
    meta: &CommandMeta<'_>,
    header: &H,
    body_len: usize,
    serialize_type: SerializeType,
) -> Result<()> {
    let start = out.len();
    out.put_u64(0); // length and header word, patched below
    let written = match serialize_type {
        SerializeType::Json => {
            json_header::encode(out, meta, header);
            Ok(())
        }
        SerializeType::RocketMq => binary_header::encode(out, meta, header),
    };
    let header_len = out.len() - start - 8;
    let check = written.and_then(|()| {
        if header_len > MAX_HEADER_LEN {
            return Err(ProtocolError::Unencodable {
                what: "header",
                reason: format!("{header_len} bytes exceed the 24-bit header length"),
            });
        }
        i32::try_from(4 + header_len + body_len).map_err(|_| ProtocolError::Unencodable {
            what: "frame",
            reason: format!("{body_len}-byte body is too large"),
        })
    });
    let frame_len = match check {
        Ok(len) => len,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    let word = (u32::from(serialize_type.to_byte()) << 24) | header_len as u32;
    out[start..start + 4].copy_from_slice(&frame_len.to_be_bytes());
    out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    Ok(())
}

/// Appends a whole frame: head and body.
pub fn encode_frame<H: CommandHeader>(
    out: &mut BytesMut,
    meta: &CommandMeta<'_>,
    header: &H,
    body: &[u8],
    serialize_type: SerializeType,
) -> Result<()> {
    encode_frame_head(out, meta, header, body.len(), serialize_type)?;
    out.put_slice(body);
    Ok(())
}

impl RemotingCommand {
    /// Appends this command as a frame.
    pub fn encode(&self, out: &mut BytesMut, serialize_type: SerializeType) -> Result<()> {
        encode_frame(
            out,
            &self.meta(),
            &self.ext_fields,
            &self.body,
            serialize_type,
        )
    }

    /// This command as a frame in a fresh buffer.
    pub fn to_frame(&self, serialize_type: SerializeType) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(256 + self.body.len());
        self.encode(&mut out, serialize_type)?;
        Ok(out.freeze())
    }
}

/// Decodes one frame without its length prefix (header word, header, body). The body of the
/// result is a slice of `frame`.
pub fn decode_frame_payload(mut frame: Bytes) -> Result<RemotingCommand> {
    let frame_len = frame.len();
    if frame_len < 4 {
        return Err(ProtocolError::truncated("header word", 4, frame_len));
    }
    let word = frame.get_u32();
    let header_len = (word & MAX_HEADER_LEN as u32) as usize;
    let type_byte = (word >> 24) as u8;
    if header_len > frame.len() {
        return Err(ProtocolError::HeaderLengthExceedsFrame {
            header_len,
            frame_len,
        });
    }
    let serialize_type = SerializeType::from_byte(type_byte)
        .ok_or(ProtocolError::UnknownSerializeType(type_byte))?;
    let header = frame.split_to(header_len);
    let h = match serialize_type {
        SerializeType::Json => json_header::decode(&header)?,
        SerializeType::RocketMq => binary_header::decode(&header)?,
    };
    Ok(RemotingCommand {
        code: h.code,
        language: h.language,
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields,
        body: frame,
        serialize_type,
    })
}

/// Decodes one complete frame including its length prefix; trailing bytes are an error.
pub fn decode_frame(mut frame: Bytes) -> Result<RemotingCommand> {
    let available = frame.len();
    if available < 4 {
        return Err(ProtocolError::truncated("frame length", 4, available));
    }
    let len = frame.get_i32();
    if len < 0 || len as usize != frame.len() {
        return Err(ProtocolError::InvalidLength {
            what: "frame",
            value: len.into(),
        });
    }
    decode_frame_payload(frame)
}

/// A streaming decoder: feed received bytes into a `BytesMut`, take whole frames out.
///
/// Each frame is split off the read buffer without copying; the decoded body is a slice of it.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// `max_frame_len` bounds a frame including its 4-byte length prefix, as the broker does.
    pub fn new(max_frame_len: usize) -> Self {
        FrameDecoder { max_frame_len }
    }

    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// The next whole frame in `buf`, if one is there. On `Ok(None)` it has reserved room for
    /// the rest of the frame, never more than the maximum frame length. An error leaves the
    /// stream unusable: the connection must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RemotingCommand>> {
        match self.next_frame(buf)? {
            Some(frame) => decode_frame_payload(frame).map(Some),
            None => Ok(None),
        }
    }

    /// Splits the next whole frame (without its length prefix) off `buf`.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = i32::from_be_bytes(buf[..4].try_into().unwrap());
        if len < 4 {
            return Err(ProtocolError::InvalidLength {
                what: "frame",
                value: len.into(),
            });
        }
        let total = len as usize + 4;
        if total > self.max_frame_len {
            return Err(ProtocolError::FrameTooLarge {
                len: total,
                max: self.max_frame_len,
            });
        }
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mut frame = buf.split_to(total);
        frame.advance(4);
        Ok(Some(frame.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes::LanguageCode;
    use crate::protocol::command::ExtFields;

    fn route_request_meta() -> CommandMeta<'static> {
        CommandMeta {
            code: 105,
            language: LanguageCode::Java,
            version: 479,
            opaque: 1,
            flag: 0,
            remark: None,
        }
    }

    fn topic_fields() -> ExtFields {
        [("topic", "TopicTest")].into_iter().collect()
    }

    /// REMOTING.md §1.7: the worked binary frame, byte for byte.
    #[test]
    fn worked_binary_frame_matches_reference_bytes() {
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            &route_request_meta(),
            &topic_fields(),
            &[],
            SerializeType::RocketMq,
        )
        .unwrap();
        let expected: Vec<u8> = [
            &[0x00, 0x00, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29][..],
            &[
                0x00, 0x69, 0x00, 0x01, 0xdf, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &[0x00, 0x00, 0x00, 0x14, 0x00, 0x05],
            b"topic",
            &[0x00, 0x00, 0x00, 0x09],
            b"TopicTest",
        ]
        .concat();
        assert_eq!(&out[..], &expected[..]);
        let cmd = decode_frame(out.freeze()).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.ext_fields.get("topic"), Some("TopicTest"));
        assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
    }

    /// REMOTING.md §1.7: the worked JSON frame has a 131-byte header in a 139-byte frame.
    #[test]
    fn worked_json_frame_matches_reference_lengths() {
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            &route_request_meta(),
            &topic_fields(),
            &[],
            SerializeType::Json,
        )
        .unwrap();
        assert_eq!(&out[..8], &[0, 0, 0, 0x87, 0, 0, 0, 0x83]);
        assert_eq!(out.len(), 139);
        let header = std::str::from_utf8(&out[8..]).unwrap();
        assert_eq!(
            header,
            r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn json_decode_is_lenient() {
        // Numbers as extField values (C++ client), language as a number, unknown keys, null.
        let header = br#"{"code":0,"extFields":{"queueId":3,"ok":true,"gone":null,"s":"x"},"flag":1,"language":9,"opaque":7,"whatever":[1,2],"remark":null}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(4 + header.len() as u32 + 2);
        frame.put_u32(header.len() as u32);
        frame.put_slice(header);
        frame.put_slice(b"hi");
        let cmd = decode_frame(frame.freeze()).unwrap();
        assert_eq!(cmd.ext_fields.get("queueId"), Some("3"));
        assert_eq!(cmd.ext_fields.get("ok"), Some("true"));
        assert_eq!(cmd.ext_fields.get("gone"), None);
        assert_eq!(cmd.language, LanguageCode::Go);
        assert!(cmd.is_response());
        assert_eq!(cmd.remark, None);
        assert_eq!(&cmd.body[..], b"hi");
    }

    #[test]
    fn json_strings_are_escaped() {
        let cmd = RemotingCommand {
            code: 1,
            remark: Some("quote \" slash \\ nl \n ctl \u{1} ünï".into()),
            ext_fields: [("k\"", "v\t")].into_iter().collect(),
            ..Default::default()
        };
        let back = decode_frame(cmd.to_frame(SerializeType::Json).unwrap()).unwrap();
        assert_eq!(back.remark, cmd.remark);
        assert_eq!(back.ext_fields, cmd.ext_fields);
    }

    #[test]
    fn streaming_decoder_yields_whole_frames_only() {
        let a = RemotingCommand::response(0, 1, None).with_body(&b"first"[..]);
        let b = RemotingCommand::response(0, 2, Some("r".into())).with_body(&b"second"[..]);
        let mut wire = BytesMut::new();
        a.encode(&mut wire, SerializeType::Json).unwrap();
        b.encode(&mut wire, SerializeType::RocketMq).unwrap();
        let wire = wire.freeze();
        let mut dec = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            while let Some(cmd) = dec.decode(&mut buf).unwrap() {
                got.push(cmd);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].opaque, &got[0].body[..]), (1, &b"first"[..]));
        assert_eq!((got[1].opaque, &got[1].body[..]), (2, &b"second"[..]));
        assert_eq!(got[1].remark.as_deref(), Some("r"));
        assert!(buf.is_empty());
    }

    #[test]
    fn decoder_rejects_bad_lengths_before_allocating() {
        let mut dec = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        assert!(buf.capacity() < 1024);
        let mut neg = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        assert!(matches!(
            dec.decode(&mut neg),
            Err(ProtocolError::InvalidLength { .. })
        ));
    }

    #[test]
    fn header_errors_are_typed() {
        // Header length larger than the frame.
        let mut f = BytesMut::new();
        f.put_u32(8);
        f.put_u32(100);
        f.put_u32(0);
        assert!(matches!(
            decode_frame(f.freeze()),
            Err(ProtocolError::HeaderLengthExceedsFrame { .. })
        ));
        // Unknown serialize type.
        let mut f = BytesMut::new();
        f.put_u32(4);
        f.put_u32(0x0500_0000);
        assert_eq!(
            decode_frame(f.freeze()),
            Err(ProtocolError::UnknownSerializeType(5))
        );
        // Invalid JSON.
        let mut f = BytesMut::new();
        f.put_u32(7);
        f.put_u32(3);
        f.put_slice(b"{x}");
        assert!(matches!(
            decode_frame(f.freeze()),
            Err(ProtocolError::InvalidJson { .. })
        ));
        // Binary header with a remark longer than the header.
        let mut f = BytesMut::new();
        let mut h = BytesMut::new();
        h.put_slice(&[0, 0, 0, 0, 0]);
        h.put_i32(0);
        h.put_i32(0);
        h.put_i32(1000);
        f.put_u32(4 + h.len() as u32);
        f.put_u32(0x0100_0000 | h.len() as u32);
        f.put_slice(&h);
        assert!(matches!(
            decode_frame(f.freeze()),
            Err(ProtocolError::Truncated { .. })
        ));
        // Binary header with invalid UTF-8 in a key.
        let mut h = BytesMut::new();
        h.put_slice(&[0, 0, 0, 0, 0]);
        h.put_i32(0);
        h.put_i32(0);
        h.put_i32(0);
        h.put_i32(2 + 1 + 4 + 1);
        h.put_i16(1);
        h.put_u8(0xff);
        h.put_i32(1);
        h.put_u8(b'v');
        let mut f = BytesMut::new();
        f.put_u32(4 + h.len() as u32);
        f.put_u32(0x0100_0000 | h.len() as u32);
        f.put_slice(&h);
        assert!(matches!(
            decode_frame(f.freeze()),
            Err(ProtocolError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn binary_rejects_codes_beyond_i16() {
        let cmd = RemotingCommand {
            code: 200_050,
            ..Default::default()
        };
        let mut out = BytesMut::new();
        assert!(cmd.encode(&mut out, SerializeType::RocketMq).is_err());
        assert!(
            out.is_empty(),
            "a failed encode leaves the buffer as it was"
        );
        assert!(cmd.encode(&mut out, SerializeType::Json).is_ok());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn command() -> impl Strategy<Value = RemotingCommand> {
            (
                any::<i16>(),
                any::<u8>(),
                any::<i16>(),
                any::<i32>(),
                any::<i32>(),
                proptest::option::of(".{1,40}"),
                proptest::collection::vec(("[a-zA-Z0-9_#]{1,12}", ".{1,30}"), 0..8),
                proptest::collection::vec(any::<u8>(), 0..300),
            )
                .prop_map(|(code, lang, version, opaque, flag, remark, ext, body)| {
                    RemotingCommand {
                        code: code.into(),
                        language: LanguageCode::from_byte(lang % 14),
                        version: version.into(),
                        opaque,
                        flag,
                        remark,
                        ext_fields: ext.into_iter().collect(),
                        body: body.into(),
                        serialize_type: SerializeType::Json,
                    }
                })
        }

        proptest! {
            #[test]
            fn frames_round_trip_with_both_serializers(cmd in command()) {
                for ser in [SerializeType::Json, SerializeType::RocketMq] {
                    let back = decode_frame(cmd.to_frame(ser).unwrap()).unwrap();
                    prop_assert_eq!(&back, &RemotingCommand { serialize_type: ser, ..cmd.clone() });
                }
            }

            #[test]
            fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = decode_frame(Bytes::from(data.clone()));
                let _ = decode_frame_payload(Bytes::from(data.clone()));
                let mut dec = FrameDecoder::new(4096);
                let mut buf = BytesMut::from(&data[..]);
                while let Ok(Some(_)) = dec.decode(&mut buf) {}
                prop_assert!(buf.capacity() <= 4096 + data.len());
            }

            #[test]
            fn random_headers_never_panic(
                ser in 0u8..2,
                header in proptest::collection::vec(any::<u8>(), 0..256),
            ) {
                let mut f = BytesMut::new();
                f.put_u32(u32::from(ser) << 24 | header.len() as u32);
                f.put_slice(&header);
                let _ = decode_frame_payload(f.freeze());
            }
        }
    }
}
