//! The ROCKETMQ binary header (serialize type 1), REMOTING.md §1.3:
//! `i16 code, u8 language, i16 version, i32 opaque, i32 flag, i32+remark, i32+ext block`,
//! ext block = `{ i16 keyLen, key, i32 valLen, val }*`. A zero-length string means null.

use bytes::{BufMut, BytesMut};

use super::codes::LanguageCode;
use super::command::{CommandHeader, CommandMeta, ExtFields, FieldWriter};
use super::error::{ProtocolError, Result};
use super::json_header::DecodedHeader;

struct BinaryFieldWriter<'a> {
    out: &'a mut BytesMut,
    error: Option<ProtocolError>,
}

impl FieldWriter for BinaryFieldWriter<'_> {
    fn put_str(&mut self, key: &str, value: &str) {
        let Ok(key_len) = i16::try_from(key.len()) else {
            self.error.get_or_insert(ProtocolError::Unencodable {
                what: "binary header key",
                reason: format!("{} bytes exceed i16", key.len()),
            });
            return;
        };
        self.out.put_i16(key_len);
        self.out.put_slice(key.as_bytes());
        // Values are bounded by the 24-bit header length checked by the frame encoder.
        self.out.put_i32(value.len() as i32);
        self.out.put_slice(value.as_bytes());
    }
}

/// Appends the binary header.
pub(crate) fn encode<H: CommandHeader>(
    out: &mut BytesMut,
    meta: &CommandMeta<'_>,
    header: &H,
) -> Result<()> {
    let code = i16::try_from(meta.code).map_err(|_| ProtocolError::Unencodable {
        what: "binary header code",
        reason: format!("{} does not fit in i16 (use the JSON header)", meta.code),
    })?;
    let version = i16::try_from(meta.version).map_err(|_| ProtocolError::Unencodable {
        what: "binary header version",
        reason: format!("{} does not fit in i16", meta.version),
    })?;
    out.put_i16(code);
    out.put_u8(meta.language.to_byte());
    out.put_i16(version);
    out.put_i32(meta.opaque);
    out.put_i32(meta.flag);
    let remark = meta.remark.unwrap_or("");
    out.put_i32(remark.len() as i32);
    out.put_slice(remark.as_bytes());
    let ext_len_at = out.len();
    out.put_i32(0);
    let mut w = BinaryFieldWriter { out, error: None };
    header.write_fields(&mut w);
    if let Some(e) = w.error {
        return Err(e);
    }
    let ext_len = out.len() - ext_len_at - 4;
    out[ext_len_at..ext_len_at + 4].copy_from_slice(&(ext_len as i32).to_be_bytes());
    Ok(())
}

/// A bounds-checked reader over the header bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(ProtocolError::truncated(what, n, available));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.take(2, what)?.try_into().unwrap()))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    fn len(&mut self, len: i64, what: &'static str) -> Result<usize> {
        usize::try_from(len).map_err(|_| ProtocolError::InvalidLength { what, value: len })
    }

    fn str(&mut self, len: usize, what: &'static str) -> Result<&'a str> {
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8 { what })
    }
}

/// Parses a binary header; every length is checked against what is left of the header.
pub(crate) fn decode(header: &[u8]) -> Result<DecodedHeader> {
    let mut r = Reader {
        buf: header,
        pos: 0,
    };
    let code = r.i16("header code")?.into();
    let language = LanguageCode::from_byte(r.take(1, "header language")?[0]);
    let version = r.i16("header version")?.into();
    let opaque = r.i32("header opaque")?;
    let flag = r.i32("header flag")?;
    let remark_len = r.i32("remark length")?;
    let remark_len = r.len(remark_len.into(), "remark")?;
    let remark = match remark_len {
        0 => None,
        n => Some(r.str(n, "remark")?.to_owned()),
    };
    let ext_len = r.i32("extFields length")?;
    let ext_len = r.len(ext_len.into(), "extFields")?;
    let mut ext = Reader {
        buf: r.take(ext_len, "extFields")?,
        pos: 0,
    };
    let mut ext_fields = ExtFields::new();
    while ext.pos < ext.buf.len() {
        let key_len = ext.i16("extField key length")?;
        let key_len = ext.len(key_len.into(), "extField key")?;
        let key = ext.str(key_len, "extField key")?;
        let val_len = ext.i32("extField value length")?;
        let val_len = ext.len(val_len.into(), "extField value")?;
        let value = ext.str(val_len, "extField value")?;
        // Java reads a zero-length string as null, and a null value is a missing field.
        if !key.is_empty() && !value.is_empty() {
            ext_fields.insert(key, value);
        }
    }
    Ok(DecodedHeader {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
    })
}
