//! System flag bits: the `sysFlag` of a stored message (REMOTING.md 7.5) and the `sysFlag`
//! header field of a pull request (7.6).
//!
//! Both are Java `int`s on the wire (and decimal strings in extFields), so they are `i32` here
//! rather than a bitflags type: a flag value from a newer broker with bits we do not know must
//! survive a decode/encode round trip unchanged.

/// Bits of `MessageSysFlag` (`common/sysflag/MessageSysFlag.java`), carried in the stored
/// message record and in the `sysFlag` field of SEND headers.
pub mod message {
    /// The body on the wire is compressed; bits 8–10 say with what.
    pub const COMPRESSED: i32 = 0x1;
    /// Set by the broker on topics of the MULTI_TAG filter type.
    pub const MULTI_TAGS: i32 = 0x2;
    /// Not a transactional message (bits 2–3 clear).
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    /// A half (prepared) message of a transaction.
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
    /// A committed transactional message.
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
    /// A rolled-back transactional message; also the mask of the two transaction bits.
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
    /// The born host in the stored record is 16 bytes of IPv6 instead of 4 of IPv4.
    pub const BORNHOST_V6: i32 = 0x10;
    /// The store host in the stored record is 16 bytes of IPv6 instead of 4 of IPv4.
    pub const STOREHOST_V6: i32 = 0x20;
    /// Together with [`INNER_BATCH`]: the body is a batch body (7.3) the client must unwrap.
    pub const NEED_UNWRAP: i32 = 0x40;
    /// The record holds a whole batch stored as one message (5.x inner batch).
    pub const INNER_BATCH: i32 = 0x80;
    /// Compression type LZ4 (frame format), in bits 8–10.
    pub const COMPRESSION_LZ4: i32 = 0x100;
    /// Compression type Zstandard, in bits 8–10.
    pub const COMPRESSION_ZSTD: i32 = 0x200;
    /// Compression type zlib (`java.util.zip.Deflater`), in bits 8–10.
    pub const COMPRESSION_ZLIB: i32 = 0x300;
    /// Mask of the compression type bits 8–10.
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits (one of the `TRANSACTION_*` constants), as Java's
    /// `getTransactionValue`: the broker routes half/commit/rollback messages by these.
    pub const fn transaction_value(sys_flag: i32) -> i32 {
        sys_flag & TRANSACTION_ROLLBACK_TYPE
    }

    /// `sys_flag` with its transaction bits replaced by `transaction_type`.
    pub const fn with_transaction_value(sys_flag: i32, transaction_type: i32) -> i32 {
        (sys_flag & !TRANSACTION_ROLLBACK_TYPE) | (transaction_type & TRANSACTION_ROLLBACK_TYPE)
    }

    /// Whether any bit of `bits` is set in `sys_flag` (Java's `MessageSysFlag.check`).
    pub const fn has(sys_flag: i32, bits: i32) -> bool {
        sys_flag & bits != 0
    }
}

/// Bits of `PullSysFlag` (`common/sysflag/PullSysFlag.java`), sent in the `sysFlag` field of
/// PULL_MESSAGE / LITE_PULL_MESSAGE headers.
pub mod pull {
    /// Ask the broker to commit the header's `commitOffset` for the consumer group.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Allow the broker to hold the request (long polling) when no message is available.
    pub const SUSPEND: i32 = 0x2;
    /// Use the header's `subscription`/`expressionType` instead of the heartbeat's.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Legacy filter-server class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Lite pull consumer (Java then sends request code 361).
    pub const LITE_PULL_MESSAGE: i32 = 0x10;

    /// The pull `sysFlag` for the given options, as Java's `PullSysFlag.buildSysFlag`.
    pub const fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
        lite_pull: bool,
    ) -> i32 {
        bit(commit_offset, COMMIT_OFFSET)
            | bit(suspend, SUSPEND)
            | bit(subscription, SUBSCRIPTION)
            | bit(class_filter, CLASS_FILTER)
            | bit(lite_pull, LITE_PULL_MESSAGE)
    }

    const fn bit(on: bool, value: i32) -> i32 {
        if on {
            value
        } else {
            0
        }
    }
}

/// How a compressed body is encoded (`common/compression/CompressionType.java`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// LZ4 *frame* format (lz4-java `LZ4FrameOutputStream`), not the raw block format.
    Lz4,
    /// A Zstandard frame.
    Zstd,
    /// zlib-wrapped deflate (`java.util.zip.Deflater`), Java's default.
    Zlib,
}

impl CompressionType {
    /// The compression type named by bits 8–10 of a message `sysFlag`, or `None` for the
    /// values 4–7 that no Java version writes.
    ///
    /// Type 0 means zlib (REMOTING.md gotcha 14): producers older than the typed compression
    /// set only [`message::COMPRESSED`] and always used zlib.
    pub const fn from_sys_flag(sys_flag: i32) -> Option<CompressionType> {
        match (sys_flag & message::COMPRESSION_TYPE_MASK) >> 8 {
            0 | 3 => Some(CompressionType::Zlib),
            1 => Some(CompressionType::Lz4),
            2 => Some(CompressionType::Zstd),
            _ => None,
        }
    }

    /// The type bits to OR into a `sysFlag` (together with [`message::COMPRESSED`]).
    pub const fn sys_flag_bits(self) -> i32 {
        match self {
            CompressionType::Lz4 => message::COMPRESSION_LZ4,
            CompressionType::Zstd => message::COMPRESSION_ZSTD,
            CompressionType::Zlib => message::COMPRESSION_ZLIB,
        }
    }

    /// The Java enum name, for error messages and configuration.
    pub const fn name(self) -> &'static str {
        match self {
            CompressionType::Lz4 => "LZ4",
            CompressionType::Zstd => "ZSTD",
            CompressionType::Zlib => "ZLIB",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_flags_match_java_values() {
        assert_eq!(message::COMPRESSED, 1);
        assert_eq!(message::MULTI_TAGS, 1 << 1);
        assert_eq!(message::TRANSACTION_PREPARED_TYPE, 1 << 2);
        assert_eq!(message::TRANSACTION_COMMIT_TYPE, 2 << 2);
        assert_eq!(message::TRANSACTION_ROLLBACK_TYPE, 3 << 2);
        assert_eq!(message::BORNHOST_V6, 1 << 4);
        assert_eq!(message::STOREHOST_V6, 1 << 5);
        assert_eq!(message::NEED_UNWRAP, 1 << 6);
        assert_eq!(message::INNER_BATCH, 1 << 7);
        assert_eq!(message::COMPRESSION_LZ4, 1 << 8);
        assert_eq!(message::COMPRESSION_ZSTD, 2 << 8);
        assert_eq!(message::COMPRESSION_ZLIB, 3 << 8);
        assert_eq!(message::COMPRESSION_TYPE_MASK, 7 << 8);
    }

    #[test]
    fn transaction_value_masks_bits_2_and_3() {
        use message::*;
        assert_eq!(transaction_value(0), TRANSACTION_NOT_TYPE);
        assert_eq!(
            transaction_value(COMPRESSED | TRANSACTION_PREPARED_TYPE | BORNHOST_V6),
            TRANSACTION_PREPARED_TYPE
        );
        assert_eq!(transaction_value(-1), TRANSACTION_ROLLBACK_TYPE);
        let f = with_transaction_value(
            COMPRESSED | TRANSACTION_PREPARED_TYPE,
            TRANSACTION_COMMIT_TYPE,
        );
        assert_eq!(f, COMPRESSED | TRANSACTION_COMMIT_TYPE);
        assert!(has(f, COMPRESSED));
        assert!(!has(f, INNER_BATCH | NEED_UNWRAP));
    }

    #[test]
    fn pull_build_matches_java() {
        assert_eq!(pull::build(false, false, false, false, false), 0);
        assert_eq!(pull::build(true, true, false, false, false), 3);
        assert_eq!(pull::build(false, true, true, false, true), 0x16);
        assert_eq!(pull::build(true, true, true, true, true), 0x1F);
    }

    #[test]
    fn compression_type_zero_is_zlib() {
        use message::*;
        assert_eq!(
            CompressionType::from_sys_flag(COMPRESSED),
            Some(CompressionType::Zlib)
        );
        assert_eq!(
            CompressionType::from_sys_flag(COMPRESSED | COMPRESSION_LZ4),
            Some(CompressionType::Lz4)
        );
        assert_eq!(
            CompressionType::from_sys_flag(COMPRESSED | COMPRESSION_ZSTD),
            Some(CompressionType::Zstd)
        );
        assert_eq!(
            CompressionType::from_sys_flag(COMPRESSION_ZLIB),
            Some(CompressionType::Zlib)
        );
        assert_eq!(CompressionType::from_sys_flag(0x400), None);
        assert_eq!(CompressionType::from_sys_flag(0x700), None);
        for t in [
            CompressionType::Lz4,
            CompressionType::Zstd,
            CompressionType::Zlib,
        ] {
            assert_eq!(CompressionType::from_sys_flag(t.sys_flag_bits()), Some(t));
        }
    }
}
