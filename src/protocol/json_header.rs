//! The JSON header (serialize type 0), written field by field straight into the frame buffer
//! and read leniently: peers differ in what they send (REMOTING.md §1.2, §10 item 24).

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::codes::LanguageCode;
use super::command::{CommandHeader, CommandMeta, ExtFields, FieldWriter};
use super::error::{ProtocolError, Result};

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_str(out: &mut BytesMut, s: &str) {
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.put_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.put_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.put_slice(b"\\u00");
                out.put_u8(HEX[(b >> 4) as usize]);
                out.put_u8(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.put_slice(&bytes[start..]);
    out.put_u8(b'"');
}

fn write_int(out: &mut BytesMut, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.put_slice(buf.format(v).as_bytes());
}

/// Writes `"key":"value"` pairs separated by commas.
struct JsonFieldWriter<'a> {
    out: &'a mut BytesMut,
    count: usize,
}

impl FieldWriter for JsonFieldWriter<'_> {
    fn put_str(&mut self, key: &str, value: &str) {
        if self.count > 0 {
            self.out.put_u8(b',');
        }
        self.count += 1;
        write_json_str(self.out, key);
        self.out.put_u8(b':');
        write_json_str(self.out, value);
    }
}

/// Appends the JSON header. Keys come in fastjson's (alphabetical) order; `extFields` and
/// `remark` are omitted when empty, as Java omits nulls.
pub(crate) fn encode<H: CommandHeader>(out: &mut BytesMut, meta: &CommandMeta<'_>, header: &H) {
    out.put_slice(b"{\"code\":");
    write_int(out, meta.code.into());
    let ext_start = out.len();
    out.put_slice(b",\"extFields\":{");
    let mut w = JsonFieldWriter { out, count: 0 };
    header.write_fields(&mut w);
    if w.count == 0 {
        out.truncate(ext_start);
    } else {
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    write_int(out, meta.flag.into());
    out.put_slice(b",\"language\":");
    write_json_str(out, meta.language.name().unwrap_or("OTHER"));
    out.put_slice(b",\"opaque\":");
    write_int(out, meta.opaque.into());
    if let Some(remark) = meta.remark {
        out.put_slice(b",\"remark\":");
        write_json_str(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    write_int(out, meta.version.into());
    out.put_u8(b'}');
}

/// The decoded fixed part plus `extFields`.
pub(crate) struct DecodedHeader {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Option<LenientLanguage>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<LenientExtFields>,
}

/// `language` as a name (Java) or a number (seen from other peers).
struct LenientLanguage(LanguageCode);

impl<'de> Deserialize<'de> for LenientLanguage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LenientLanguage;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a language name or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(LenientLanguage(LanguageCode::from_name(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(LenientLanguage(LanguageCode::from_byte(
                    u8::try_from(v).unwrap_or(u8::MAX),
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(LenientLanguage(LanguageCode::from_byte(
                    u8::try_from(v).unwrap_or(u8::MAX),
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// `extFields` whose values may be strings, numbers or booleans (the C++ client writes
/// numbers); nulls are dropped, as a null is "missing" to Java. Keys and values are copied
/// from the frame straight into the fields' one buffer (borrowed while parsing, no `String`
/// per field).
struct LenientExtFields(ExtFields);

impl<'de> Deserialize<'de> for LenientExtFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientExtFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of header fields")
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(LenientExtFields(ExtFields::new()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                // Typical responses carry under ten short fields.
                let mut ext = ExtFields::with_capacity(8, 256);
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    if let Some(Text(value)) = map.next_value::<LenientScalar<'de>>()?.0 {
                        ext.insert(key, value);
                    }
                }
                Ok(LenientExtFields(ext))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string borrowed from the frame when it has no escapes, else owned.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field value: a string, or a number or boolean as its text; `None` for null.
struct LenientScalar<'de>(Option<Text<'de>>);

impl<'de> Deserialize<'de> for LenientScalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        fn owned<'de>(s: String) -> LenientScalar<'de> {
            LenientScalar(Some(Text(Cow::Owned(s))))
        }
        impl<'de> Visitor<'de> for V {
            type Value = LenientScalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(LenientScalar(Some(Text(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(owned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(owned(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(owned(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(owned(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
                Ok(owned(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(LenientScalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a JSON header.
pub(crate) fn decode(header: &[u8]) -> Result<DecodedHeader> {
    let raw: RawHeader =
        serde_json::from_slice(header).map_err(|e| ProtocolError::InvalidJson {
            what: "frame header",
            reason: e.to_string(),
        })?;
    Ok(DecodedHeader {
        code: raw.code,
        language: raw.language.map_or(LanguageCode::Unknown(u8::MAX), |l| l.0),
        version: raw.version,
        opaque: raw.opaque,
        flag: raw.flag,
        remark: raw.remark,
        ext_fields: raw.ext_fields.map(|e| e.0).unwrap_or_default(),
    })
}
