//! The width of the big-endian length prefix.

use std::fmt;

/// How many bytes the big-endian unsigned length prefix takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefixWidth {
    /// Two bytes (Arctop): payloads of at most 65,535 bytes.
    U16,
    /// Four bytes (ARKEO): payloads of at most 4 GiB - 1, further bounded by the codec's
    /// configured maximum.
    U32,
}

impl PrefixWidth {
    /// The number of bytes the prefix occupies on the wire.
    pub const fn size(self) -> usize {
        match self {
            PrefixWidth::U16 => 2,
            PrefixWidth::U32 => 4,
        }
    }

    /// The largest payload length the prefix can express at all.
    pub const fn max_expressible(self) -> u64 {
        match self {
            PrefixWidth::U16 => u16::MAX as u64,
            PrefixWidth::U32 => u32::MAX as u64,
        }
    }

    /// Reads the announced payload length from the first [`size`](Self::size) bytes.
    ///
    /// The caller guarantees `head.len() >= self.size()`.
    pub(crate) fn read(self, head: &[u8]) -> u64 {
        match self {
            PrefixWidth::U16 => u64::from(u16::from_be_bytes([head[0], head[1]])),
            PrefixWidth::U32 => u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]])),
        }
    }

    /// Writes `len` as a prefix. The caller guarantees `len <= max_expressible()`.
    pub(crate) fn write(self, len: usize, dst: &mut bytes::BytesMut) {
        use bytes::BufMut;
        match self {
            PrefixWidth::U16 => dst.put_u16(len as u16),
            PrefixWidth::U32 => dst.put_u32(len as u32),
        }
    }
}

impl fmt::Display for PrefixWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-byte", self.size())
    }
}
