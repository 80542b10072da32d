//! Body compression as Java's producer and the broker use it (ZLIB, LZ4 frames, ZSTD):
//! [`compress_body`], [`decompress_body`] with its cap on the output, and the compression
//! type a sysFlag names.

use std::io::{Read, Write};

use crate::protocol::error::{ProtocolError, Result};
use crate::protocol::sysflag::{message as sysflag, CompressionType};

/// Compression level Java's producer uses (`rocketmq.message.compressLevel` default 5).
const COMPRESSION_LEVEL: i32 = 5;

/// The compression type in `sys_flag`'s type bits; an unknown one is a
/// [`ProtocolError::Decompress`] of kind "unknown".
pub(super) fn compression_of(sys_flag: i32) -> Result<CompressionType> {
    CompressionType::from_sys_flag(sys_flag).ok_or_else(|| ProtocolError::Decompress {
        kind: "unknown",
        reason: format!(
            "compression type {} in sysFlag {sys_flag:#x}",
            (sys_flag & sysflag::COMPRESSION_TYPE_MASK) >> 8
        ),
    })
}

/// Compresses a body the way Java's producer does (level 5; LZ4 in frame format), for the
/// producer side and for [`encode_stored_message`].
///
/// [`encode_stored_message`]: super::encode_stored_message
pub fn compress_body(kind: CompressionType, body: &[u8]) -> Result<Vec<u8>> {
    compress_body_at(kind, body, COMPRESSION_LEVEL)
}

/// [`compress_body`] at `level`: zlib 0–9 (higher values mean 9), zstd 1–22; LZ4 frames have
/// no level.
pub fn compress_body_at(kind: CompressionType, body: &[u8], level: i32) -> Result<Vec<u8>> {
    let unencodable = |e: std::io::Error| ProtocolError::Unencodable {
        what: "compressed body",
        reason: format!("{} compression failed: {e}", kind.name()),
    };
    match kind {
        CompressionType::Zlib => {
            let level = flate2::Compression::new(level.clamp(0, 9) as u32);
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), level);
            encoder.write_all(body).map_err(unencodable)?;
            encoder.finish().map_err(unencodable)
        }
        CompressionType::Lz4 => {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            encoder.write_all(body).map_err(unencodable)?;
            encoder.finish().map_err(|e| unencodable(e.into()))
        }
        CompressionType::Zstd => zstd::stream::encode_all(body, level).map_err(unencodable),
    }
}

/// Decompresses a body, failing with [`ProtocolError::Decompress`] on corrupt input or when the
/// result would exceed `max_len` bytes; output is never buffered beyond `max_len + 1` bytes.
pub fn decompress_body(kind: CompressionType, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    match kind {
        CompressionType::Zlib => read_capped(flate2::read::ZlibDecoder::new(data), kind, max_len),
        CompressionType::Lz4 => {
            read_capped(lz4_flex::frame::FrameDecoder::new(data), kind, max_len)
        }
        CompressionType::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|e| decompress_error(kind, &e))?;
            // Refuse frames that ask for a larger window than a body within the limit needs,
            // so a crafted header cannot make the decoder reserve up to 2 GiB.
            decoder
                .window_log_max(zstd_window_log_max(max_len))
                .map_err(|e| decompress_error(kind, &e))?;
            read_capped(decoder, kind, max_len)
        }
    }
}

/// Window log limit for a body of at most `max_len` bytes: enough for it, never below what any
/// level-5..19 encoder uses for small inputs (2^23), never above zstd's own default (2^27).
fn zstd_window_log_max(max_len: usize) -> u32 {
    let needed = usize::BITS - max_len.saturating_sub(1).leading_zeros();
    needed.clamp(23, 27)
}

fn read_capped(reader: impl Read, kind: CompressionType, max_len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let cap = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| decompress_error(kind, &e))?;
    if out.len() > max_len {
        return Err(ProtocolError::Decompress {
            kind: kind.name(),
            reason: format!("decompressed body exceeds the limit of {max_len} bytes"),
        });
    }
    Ok(out)
}

fn decompress_error(kind: CompressionType, e: &std::io::Error) -> ProtocolError {
    ProtocolError::Decompress {
        kind: kind.name(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::tests::sample_payload;
    use crate::protocol::message::DEFAULT_MAX_BODY_SIZE;

    #[test]
    fn compress_body_round_trips_every_kind() {
        let payload = sample_payload();
        for kind in [
            CompressionType::Zlib,
            CompressionType::Lz4,
            CompressionType::Zstd,
        ] {
            let packed = compress_body(kind, &payload).unwrap();
            assert!(packed.len() < payload.len(), "{kind:?}");
            assert_eq!(
                decompress_body(kind, &packed, payload.len()).unwrap(),
                payload
            );
            let err = decompress_body(kind, &packed, payload.len() - 1).unwrap_err();
            assert!(
                matches!(err, ProtocolError::Decompress { .. }),
                "{kind:?}: {err:?}"
            );
        }
    }

    #[test]
    fn zstd_window_limit() {
        assert_eq!(zstd_window_log_max(DEFAULT_MAX_BODY_SIZE), 26);
        assert_eq!(zstd_window_log_max(1), 23);
        assert_eq!(zstd_window_log_max(usize::MAX), 27);
        assert_eq!(zstd_window_log_max((1 << 24) + 1), 25);
    }
}
