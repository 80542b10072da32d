//! Splits a byte stream into whole frames (length prefix included) without decoding them, and
//! the frame damage each fault mode applies.

use bytes::{Bytes, BytesMut};

use crate::protocol::codes::response;
use crate::protocol::frame::decode_frame;
use crate::protocol::RemotingCommand;

/// Above this a length prefix is not believed: the stream is forwarded as raw bytes from then
/// on (the proxy must pass through whatever the peer sends, frames or not).
const MAX_BELIEVED_FRAME: usize = 256 * 1024 * 1024;

/// A unit the proxy forwards: a whole frame, or raw bytes of a stream that is not framed.
pub(crate) enum Unit {
    Frame(Bytes),
    Raw(Bytes),
}

#[derive(Default)]
pub(crate) struct Splitter {
    raw: bool,
}

impl Splitter {
    /// The next unit in `buf`, if one is complete.
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> Option<Unit> {
        if self.raw {
            return (!buf.is_empty()).then(|| Unit::Raw(buf.split().freeze()));
        }
        if buf.len() < 4 {
            return None;
        }
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if len < 4 || len as usize > MAX_BELIEVED_FRAME {
            self.raw = true;
            return self.next(buf);
        }
        let total = len as usize + 4;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return None;
        }
        Some(Unit::Frame(buf.split_to(total).freeze()))
    }
}

/// A frame that no decoder accepts: an unknown serialize type, and flipped header bytes in
/// case the decoder ignored the type.
pub(crate) fn corrupt(frame: &Bytes) -> Bytes {
    let mut bad = BytesMut::from(&frame[..]);
    if bad.len() > 4 {
        bad[4] = 0x55;
    }
    for b in bad.iter_mut().skip(8).take(16) {
        *b ^= 0xA5;
    }
    bad.freeze()
}

/// A length prefix (just under 2 GiB) no client accepts, then the original frame's bytes.
pub(crate) fn oversize(frame: &Bytes) -> Bytes {
    let mut out = BytesMut::with_capacity(frame.len() + 4);
    out.extend_from_slice(&0x7FFF_FFF0i32.to_be_bytes());
    out.extend_from_slice(frame);
    out.freeze()
}

/// The frame with its opaque moved far away, if it is a response that decodes; else `None`.
pub(crate) fn wrong_opaque(frame: &Bytes) -> Option<Bytes> {
    let mut cmd = decode_frame(frame.clone()).ok()?;
    if !cmd.is_response() {
        return None;
    }
    cmd.opaque = cmd.opaque.wrapping_add(0x4000_0000);
    cmd.to_frame(cmd.serialize_type).ok()
}

/// The SYSTEM_BUSY answer to a request frame, or `None` for a oneway request or a frame that
/// does not decode (those are dropped).
pub(crate) fn system_busy_answer(frame: &Bytes) -> Option<Bytes> {
    let cmd = decode_frame(frame.clone()).ok()?;
    if cmd.is_response() || cmd.is_oneway() {
        return None;
    }
    let resp = RemotingCommand::response(
        response::SYSTEM_BUSY,
        cmd.opaque,
        Some("[fault proxy] system busy".into()),
    );
    resp.to_frame(cmd.serialize_type).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes::{request, SerializeType};
    use crate::protocol::EmptyHeader;

    fn request_frame() -> Bytes {
        let mut cmd = RemotingCommand::request(request::GET_MAX_OFFSET, &EmptyHeader);
        cmd.opaque = 7;
        cmd.to_frame(SerializeType::Json).unwrap()
    }

    #[test]
    fn splitter_yields_whole_frames_and_keeps_partial_ones() {
        let f = request_frame();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&f);
        buf.extend_from_slice(&f[..5]);
        let mut s = Splitter::default();
        assert!(matches!(s.next(&mut buf), Some(Unit::Frame(x)) if x == f));
        assert!(s.next(&mut buf).is_none());
        buf.extend_from_slice(&f[5..]);
        assert!(matches!(s.next(&mut buf), Some(Unit::Frame(x)) if x == f));
    }

    #[test]
    fn splitter_passes_unframed_bytes_raw() {
        let mut buf = BytesMut::from(&[0xFFu8, 0xFF, 0xFF, 0xFF, 1, 2][..]);
        let mut s = Splitter::default();
        assert!(matches!(s.next(&mut buf), Some(Unit::Raw(x)) if x.len() == 6));
    }

    #[test]
    fn damaged_frames_do_not_decode() {
        let f = request_frame();
        assert!(decode_frame(corrupt(&f)).is_err());
        let mut buf = BytesMut::from(&oversize(&f)[..]);
        assert!(crate::protocol::FrameDecoder::default()
            .next_frame(&mut buf)
            .is_err());
    }

    #[test]
    fn busy_answer_keeps_the_opaque_and_wrong_opaque_moves_it() {
        let busy = decode_frame(system_busy_answer(&request_frame()).unwrap()).unwrap();
        assert_eq!((busy.code, busy.opaque), (response::SYSTEM_BUSY, 7));
        assert!(busy.is_response());
        let moved =
            decode_frame(wrong_opaque(&busy.to_frame(SerializeType::Json).unwrap()).unwrap())
                .unwrap();
        assert_ne!(moved.opaque, 7);
        assert!(wrong_opaque(&request_frame()).is_none());
    }
}
