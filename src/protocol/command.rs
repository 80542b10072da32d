//! The decoded form of a frame ([`RemotingCommand`]) and the traits that move typed headers
//! in and out of `extFields` without building a map first.

use bytes::Bytes;

use super::codes::{LanguageCode, SerializeType};
use super::error::{ProtocolError, Result};

/// Flag bit 0: the frame is a response (REMOTING.md §1.4).
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: the request is oneway; the receiver sends nothing back.
pub const FLAG_ONEWAY: i32 = 0x2;

/// Receives header fields one by one. Encoders implement it to write each field straight
/// into the frame buffer; [`ExtFields`] implements it to collect them.
///
/// Every value is a string on the wire; the typed methods exist so numbers are formatted
/// without allocating.
pub trait FieldWriter {
    fn put_str(&mut self, key: &str, value: &str);

    fn put_i64(&mut self, key: &str, value: i64) {
        let mut buf = itoa::Buffer::new();
        self.put_str(key, buf.format(value));
    }

    fn put_bool(&mut self, key: &str, value: bool) {
        self.put_str(key, if value { "true" } else { "false" });
    }
}

/// A typed request or response header: written field by field, read back from `extFields`.
pub trait CommandHeader: Sized {
    /// Writes every present field (absent optionals are skipped, as Java skips nulls).
    fn write_fields<W: FieldWriter>(&self, w: &mut W);

    /// Reads the header from decoded `extFields`; a missing required field or an unparsable
    /// value is a [`ProtocolError`].
    fn decode(ext: &ExtFields) -> Result<Self>;

    /// The header as an owned field list (for tests, signing and the mock broker).
    fn to_ext_fields(&self) -> ExtFields {
        let mut ext = ExtFields::default();
        self.write_fields(&mut ext);
        ext
    }
}

/// A header with no fields (heartbeat, cluster info, lock/unlock batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyHeader;

impl CommandHeader for EmptyHeader {
    fn write_fields<W: FieldWriter>(&self, _w: &mut W) {}

    fn decode(_ext: &ExtFields) -> Result<Self> {
        Ok(EmptyHeader)
    }
}

/// The `extFields` of a frame: string keys to string values, in arrival order.
///
/// Every key and value lives in one string buffer, addressed by spans: a decoded header costs
/// two allocations, not two per field. A linear scan finds a field: headers have a handful of
/// fields, and scanning them is cheaper than hashing.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    /// (key start, key end, value start, value end) in `text`.
    spans: Vec<[u32; 4]>,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `fields` fields of `bytes` bytes of text in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        ExtFields {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(fields),
        }
    }

    fn slice(&self, from: u32, to: u32) -> &str {
        &self.text[from as usize..to as usize]
    }

    fn append(&mut self, s: &str) -> (u32, u32) {
        let from = self.text.len();
        self.text.push_str(s);
        // A header is far below 4 GiB (frames are capped well below that).
        (from as u32, self.text.len() as u32)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.spans
            .iter()
            .position(|&[ks, ke, _, _]| self.slice(ks, ke) == key)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.position(key)?;
        let [_, _, vs, ve] = self.spans[i];
        Some(self.slice(vs, ve))
    }

    /// Sets `key`, replacing an earlier value (its old text stays in the buffer, unused).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        match self.position(key) {
            Some(i) => {
                let (vs, ve) = self.append(value);
                self.spans[i][2] = vs;
                self.spans[i][3] = ve;
            }
            None => {
                let (ks, ke) = self.append(key);
                let (vs, ve) = self.append(value);
                self.spans.push([ks, ke, vs, ve]);
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key)?;
        let [_, _, vs, ve] = self.spans.remove(i);
        Some(self.slice(vs, ve).to_owned())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans
            .iter()
            .map(|&[ks, ke, vs, ve]| (self.slice(ks, ke), self.slice(vs, ve)))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The value of a required field.
    pub fn required(&self, key: &'static str) -> Result<&str> {
        self.get(key).ok_or(ProtocolError::MissingField(key))
    }
}

impl FieldWriter for ExtFields {
    fn put_str(&mut self, key: &str, value: &str) {
        self.insert(key, value);
    }
}

impl CommandHeader for ExtFields {
    fn write_fields<W: FieldWriter>(&self, w: &mut W) {
        for (k, v) in self.iter() {
            w.put_str(k, v);
        }
    }

    fn decode(ext: &ExtFields) -> Result<Self> {
        Ok(ext.clone())
    }
}

/// Equal when the same fields have the same values in the same order (whatever the buffer holds).
impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl std::fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ext = ExtFields::default();
        for (k, v) in iter {
            ext.insert(k, v);
        }
        ext
    }
}

/// A header field type: how it is written and parsed (Java's `decodeCommandCustomHeader`
/// rules, REMOTING.md §1.8).
pub trait HeaderValue: Sized {
    fn write_to<W: FieldWriter>(&self, key: &str, w: &mut W);
    fn read_from(ext: &ExtFields, key: &'static str) -> Result<Self>;
}

impl HeaderValue for String {
    fn write_to<W: FieldWriter>(&self, key: &str, w: &mut W) {
        w.put_str(key, self);
    }

    fn read_from(ext: &ExtFields, key: &'static str) -> Result<Self> {
        ext.required(key).map(str::to_owned)
    }
}

macro_rules! integer_header_value {
    ($($t:ty),*) => {$(
        impl HeaderValue for $t {
            fn write_to<W: FieldWriter>(&self, key: &str, w: &mut W) {
                w.put_i64(key, i64::from(*self));
            }

            fn read_from(ext: &ExtFields, key: &'static str) -> Result<Self> {
                let raw = ext.required(key)?;
                raw.trim().parse().map_err(|_| ProtocolError::InvalidField {
                    field: key,
                    value: raw.to_owned(),
                })
            }
        }
    )*};
}
integer_header_value!(i32, i64);

impl HeaderValue for bool {
    fn write_to<W: FieldWriter>(&self, key: &str, w: &mut W) {
        w.put_bool(key, *self);
    }

    /// Java's `Boolean.parseBoolean`: "true" in any case is true, anything else false.
    fn read_from(ext: &ExtFields, key: &'static str) -> Result<Self> {
        Ok(ext.required(key)?.eq_ignore_ascii_case("true"))
    }
}

impl<T: HeaderValue> HeaderValue for Option<T> {
    fn write_to<W: FieldWriter>(&self, key: &str, w: &mut W) {
        if let Some(v) = self {
            v.write_to(key, w);
        }
    }

    fn read_from(ext: &ExtFields, key: &'static str) -> Result<Self> {
        match ext.get(key) {
            None => Ok(None),
            Some(_) => T::read_from(ext, key).map(Some),
        }
    }
}

/// Everything of a frame but its custom header fields and body: what the encoder needs to write
/// the fixed part of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandMeta<'a> {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<&'a str>,
}

/// A decoded frame. The body is a slice of the received frame, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemotingCommand {
    /// Request code in a request, response code in a response.
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// How the header arrived (a broker answers in JSON whatever the request used).
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request carrying a typed header.
    pub fn request<H: CommandHeader>(code: i32, header: &H) -> Self {
        RemotingCommand {
            code,
            ext_fields: header.to_ext_fields(),
            ..Default::default()
        }
    }

    /// A response to the request with `opaque`.
    pub fn response(code: i32, opaque: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            opaque,
            flag: FLAG_RESPONSE,
            remark,
            ..Default::default()
        }
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Reads the typed header out of `extFields`.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H> {
        H::decode(&self.ext_fields)
    }

    pub fn meta(&self) -> CommandMeta<'_> {
        CommandMeta {
            code: self.code,
            language: self.language,
            version: self.version,
            opaque: self.opaque,
            flag: self.flag,
            remark: self.remark.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_fields_insert_replaces_and_keeps_order() {
        let mut ext = ExtFields::new();
        ext.insert("b", "1");
        ext.insert("a", "2");
        ext.insert("b", "3");
        assert_eq!(ext.iter().collect::<Vec<_>>(), vec![("b", "3"), ("a", "2")]);
        assert_eq!(ext.get("b"), Some("3"));
        assert_eq!(ext.remove("b").as_deref(), Some("3"));
        assert_eq!(ext.len(), 1);
        assert_eq!(ext.get("b"), None);
        assert_eq!(ext, [("a", "2")].into_iter().collect::<ExtFields>());
        assert_eq!(format!("{ext:?}"), r#"{"a": "2"}"#);
        assert!(ext.required("zz").is_err());
    }

    #[test]
    fn header_values_parse_like_java() {
        let ext: ExtFields = [("n", " 42 "), ("b", "TRUE"), ("x", "yes"), ("bad", "4x")]
            .into_iter()
            .collect();
        assert_eq!(i32::read_from(&ext, "n").unwrap(), 42);
        assert!(bool::read_from(&ext, "b").unwrap());
        assert!(!bool::read_from(&ext, "x").unwrap());
        assert_eq!(
            i64::read_from(&ext, "bad"),
            Err(ProtocolError::InvalidField {
                field: "bad",
                value: "4x".into()
            })
        );
        assert_eq!(Option::<i64>::read_from(&ext, "missing").unwrap(), None);
        assert_eq!(
            String::read_from(&ext, "missing"),
            Err(ProtocolError::MissingField("missing"))
        );
    }

    #[test]
    fn flags() {
        let r = RemotingCommand::response(0, 7, None);
        assert!(r.is_response());
        assert!(!r.is_oneway());
    }
}
