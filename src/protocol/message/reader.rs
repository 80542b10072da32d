//! The length helpers and the bounds-checked big-endian `Reader` that the batch and
//! stored-record decoders share: every read is checked against the bytes left, and every
//! length an encoder writes against the width of its field.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use crate::protocol::error::{ProtocolError, Result};

pub(super) fn check_total(declared: i32, parsed: usize, what: &'static str) -> Result<()> {
    if usize::try_from(declared) == Ok(parsed) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidLength {
            what,
            value: i64::from(declared),
        })
    }
}

pub(super) fn i16_len(len: usize, what: &'static str) -> Result<i16> {
    i16::try_from(len).map_err(|_| too_long(what, len))
}

pub(super) fn i32_len(len: usize, what: &'static str) -> Result<i32> {
    i32::try_from(len).map_err(|_| too_long(what, len))
}

pub(super) fn too_long(what: &'static str, len: usize) -> ProtocolError {
    ProtocolError::Unencodable {
        what,
        reason: format!("length {len} does not fit its length field"),
    }
}

/// Big-endian reads over a `Bytes`, each checked against the bytes left.
pub(super) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a Bytes) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(super) fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn check(&self, n: usize, what: &'static str) -> Result<()> {
        if n > self.remaining() {
            return Err(ProtocolError::truncated(what, n, self.remaining()));
        }
        Ok(())
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        self.check(n, what)?;
        let buf: &'a [u8] = self.buf;
        let slice = &buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    pub(super) fn skip(&mut self, n: usize, what: &'static str) -> Result<()> {
        self.take(n, what).map(|_| ())
    }

    /// A zero-copy slice of the underlying `Bytes`.
    pub(super) fn bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes> {
        self.check(n, what)?;
        let slice = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i16(&mut self, what: &'static str) -> Result<i16> {
        self.array(what).map(i16::from_be_bytes)
    }

    pub(super) fn i32(&mut self, what: &'static str) -> Result<i32> {
        self.array(what).map(i32::from_be_bytes)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32> {
        self.array(what).map(u32::from_be_bytes)
    }

    pub(super) fn i64(&mut self, what: &'static str) -> Result<i64> {
        self.array(what).map(i64::from_be_bytes)
    }

    /// An i32 length prefix; negative is [`ProtocolError::InvalidLength`].
    pub(super) fn len_i32(&mut self, what: &'static str) -> Result<usize> {
        let value = self.i32(what)?;
        usize::try_from(value).map_err(|_| ProtocolError::InvalidLength {
            what,
            value: i64::from(value),
        })
    }

    /// An i16 length prefix; negative is [`ProtocolError::InvalidLength`].
    pub(super) fn len_i16(&mut self, what: &'static str) -> Result<usize> {
        let value = self.i16(what)?;
        usize::try_from(value).map_err(|_| ProtocolError::InvalidLength {
            what,
            value: i64::from(value),
        })
    }

    /// A host: 4 or 16 address bytes, then the port as an i32 that must fit a `u16`.
    pub(super) fn host(
        &mut self,
        v6: bool,
        what: &'static str,
        port_field: &'static str,
    ) -> Result<SocketAddr> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(what)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(what)?))
        };
        let port = self.i32(what)?;
        let port = u16::try_from(port).map_err(|_| ProtocolError::InvalidField {
            field: port_field,
            value: port.to_string(),
        })?;
        Ok(SocketAddr::new(ip, port))
    }
}
