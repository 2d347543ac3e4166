//! Where bytes read from local sockets land: a few fixed regions, reused.
//!
//! Each chunk read is split off a region as `Bytes` and handed on (a DATA message's body on
//! its way into TLS), so a region can be written again only once every chunk split off it
//! is dropped. Allocating a fresh region whenever the current one was still referenced, as
//! a single `BytesMut` does, hands each region back to the allocator when its last chunk
//! goes, and the allocator gives the memory back to the kernel: the next region is then
//! page-faulted in again while the socket's bytes are copied into it. With 100 sessions
//! that was 3% of the tunnel's time. [`ReadRegions`] keeps up to [`MAX_REGIONS`] regions
//! and takes the first one whose chunks are all gone, so the memory stays mapped and warm.
//!
//! Every read starts on a cache line ([`ALIGN`]). A fresh region starts 16 bytes into one
//! (where the allocator puts a large block), and the kernel's copy out of the socket into
//! it cost about a tenth more of the whole tunnel's time moving bytes up than into the same
//! memory 64 bytes further on (docs/arrow-efficiency.md, rule 9).

use bytes::{Buf, BufMut, BytesMut};

/// Size of one region.
const REGION: usize = 256 * 1024;
/// Regions kept for reuse; when every one of them still has chunks in flight, the current
/// one is replaced (and freed once its chunks are).
const MAX_REGIONS: usize = 4;
/// Where each read starts: a multiple of this, one cache line.
const ALIGN: usize = 64;

/// Up to [`MAX_REGIONS`] regions of [`REGION`] bytes.
#[derive(Debug, Default)]
pub(crate) struct ReadRegions {
    regions: Vec<BytesMut>,
    current: usize,
}

impl ReadRegions {
    /// No region yet: the first read allocates one.
    pub(crate) fn new() -> Self {
        ReadRegions::default()
    }

    /// An empty buffer with room for at least `want` bytes (at most [`REGION`] less
    /// [`ALIGN`]), starting on a cache line: write into it, then `split()` the chunk off.
    pub(crate) fn room(&mut self, want: usize) -> &mut BytesMut {
        let want = want.min(REGION - ALIGN);
        // Room for the chunk after up to a cache line of padding.
        let fits = self
            .regions
            .get(self.current)
            .is_some_and(|r| r.capacity() >= want + ALIGN);
        if !fits {
            match self.regions.iter_mut().position(|r| r.try_reclaim(REGION)) {
                Some(i) => self.current = i,
                None if self.regions.len() < MAX_REGIONS => {
                    self.regions.push(BytesMut::with_capacity(REGION));
                    self.current = self.regions.len() - 1;
                }
                None => self.regions[self.current] = BytesMut::with_capacity(REGION),
            }
        }
        let region = &mut self.regions[self.current];
        debug_assert!(region.is_empty(), "the last chunk was not split off");
        let pad = region.as_ptr().align_offset(ALIGN);
        if pad > 0 {
            region.put_bytes(0, pad);
            region.advance(pad);
        }
        region
    }

    /// Regions held.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.regions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: usize = 64 * 1024;

    /// Fills `room(n)` with `n` bytes of `fill` and splits them off.
    fn read(regions: &mut ReadRegions, n: usize, fill: u8) -> bytes::Bytes {
        let buf = regions.room(n);
        buf.extend(std::iter::repeat_n(fill, n));
        buf.split().freeze()
    }

    fn start_of(chunk: &bytes::Bytes) -> usize {
        chunk.as_ptr() as usize
    }

    #[test]
    fn every_read_starts_on_a_cache_line() {
        let mut regions = ReadRegions::new();
        let sizes = [1, 33, 1000, CHUNK, 65, 4096, CHUNK - 1];
        let kept: Vec<_> = (0..4)
            .flat_map(|_| sizes)
            .enumerate()
            .map(|(i, n)| (i as u8, read(&mut regions, n, i as u8)))
            .collect();
        for (fill, chunk) in &kept {
            assert_eq!(
                start_of(chunk) % ALIGN,
                0,
                "a chunk of {} bytes",
                chunk.len()
            );
            assert!(chunk.iter().all(|b| b == fill), "chunks do not overlap");
        }
    }

    #[test]
    fn a_region_whose_chunks_are_gone_is_written_again_from_its_start() {
        let mut regions = ReadRegions::new();
        let first = read(&mut regions, CHUNK, 7);
        let start = start_of(&first);
        drop(first);
        // Once the region is full and its chunks are gone, it is reclaimed, not replaced.
        let came_back = (0..8).any(|_| start_of(&read(&mut regions, CHUNK, 7)) == start);
        assert!(came_back);
        assert_eq!(regions.held(), 1);
    }

    #[test]
    fn a_region_with_a_chunk_in_flight_is_not_overwritten() {
        let mut regions = ReadRegions::new();
        let kept: Vec<_> = (0..4).map(|_| read(&mut regions, CHUNK, 7)).collect();
        let next = read(&mut regions, CHUNK, 8);
        for chunk in &kept {
            assert!(chunk.iter().all(|b| *b == 7));
            let range = start_of(chunk)..start_of(chunk) + chunk.len();
            assert!(!range.contains(&start_of(&next)));
        }
        assert_eq!(regions.held(), 2);
    }

    #[test]
    fn at_most_max_regions_are_held_when_every_one_is_in_flight() {
        let mut regions = ReadRegions::new();
        let kept: Vec<_> = (0..4 * (MAX_REGIONS + 2))
            .map(|_| read(&mut regions, CHUNK, 7))
            .collect();
        assert_eq!(regions.held(), MAX_REGIONS);
        assert!(kept.iter().all(|c| c.len() == CHUNK));
    }

    #[test]
    fn an_older_region_is_reused_once_its_chunks_are_gone() {
        let mut regions = ReadRegions::new();
        let old = read(&mut regions, CHUNK, 7);
        let old_start = start_of(&old);
        let mut old = vec![old];
        // Fill the first region, then hold a chunk of the second.
        let held = loop {
            let chunk = read(&mut regions, CHUNK, 7);
            if chunk.as_ptr_range().contains(&(old_start as *const u8)) || regions.held() == 1 {
                old.push(chunk);
            } else {
                break chunk;
            }
        };
        assert_eq!(regions.held(), 2);
        drop(old);
        // The second region fills up, then the first comes back.
        let mut later = Vec::new();
        let came_back = (0..8).any(|_| {
            later.push(read(&mut regions, CHUNK, 7));
            later.last().map(start_of) == Some(old_start)
        });
        assert!(came_back);
        assert_eq!(regions.held(), 2);
        drop(held);
    }
}
