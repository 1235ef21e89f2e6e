//! Buffer memory shared with the kernel: page-aligned allocations, the
//! registered (fixed) buffer pool and the provided-buffer ring (group 0).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};

use nix::errno::Errno;
use nix::unistd::{sysconf, SysconfVar};

/// The provided-buffer group id every `recv_provided` selects from.
pub(super) const PROVIDED_GROUP: u16 = 0;

/// The kernel caps a buffer ring at 2^15 entries.
const MAX_RING_ENTRIES: u16 = 1 << 15;

/// `struct io_uring_buf_ring` overlays its `tail` on entry 0's `resv`
/// field, at byte 14 (after `u64 addr`, `u32 len`, `u16 bid`).
const TAIL_OFFSET: usize = 14;

fn page_size() -> usize {
    match sysconf(SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Zeroed, page-aligned heap memory (zeroed so that handing out `&[u8]` over
/// it never exposes uninitialised bytes).
#[derive(Debug)]
pub(super) struct PageAlloc {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl PageAlloc {
    /// At least `len` (> 0) bytes, rounded up to whole pages.
    pub(super) fn new(len: usize) -> Result<PageAlloc, Errno> {
        let page = page_size();
        let size = len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or(Errno::ENOMEM)?;
        let layout = Layout::from_size_align(size, page).map_err(|_| Errno::ENOMEM)?;
        // SAFETY: U6: `layout` has a non-zero size (at least one page).
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(Errno::ENOMEM)?;
        Ok(PageAlloc { ptr, layout })
    }

    pub(super) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for PageAlloc {
    fn drop(&mut self) {
        // SAFETY: U6: `ptr` came from `alloc_zeroed(self.layout)` and is freed
        // only here, once; U3/U8: a Ring that gave up on in-flight ops leaks
        // its allocations instead of dropping them.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The registered memory and its free list, shared by the pool and every
/// [`FixedBuf`] (so a buffer can go back by itself, whoever drops it).
struct FixedShared {
    /// Keeps the registered memory alive even if the Ring is dropped first.
    mem: PageAlloc,
    free: RefCell<Vec<u16>>,
    size: usize,
}

/// A registered buffer owned by the caller between ops. Moves into a
/// `recv_fixed`/`write_fixed` op and comes back in its completion; dropping
/// it, on any path, puts it back on its pool's free list (tokio-uring's
/// `FixedBuf` shape), so no error path can leak one.
pub struct FixedBuf {
    pool: Rc<FixedShared>,
    index: u16,
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        self.pool.free.borrow_mut().push(self.index);
    }
}

impl std::fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("capacity", &self.pool.size)
            .finish()
    }
}

impl FixedBuf {
    /// The bytes `0..len` (valid data after a receive of `len` bytes).
    pub fn bytes(&self, len: usize) -> &[u8] {
        let len = len.min(self.pool.size);
        // SAFETY: U4: this FixedBuf is the only holder of its region
        // `[index*cap, index*cap+cap)` of the live, zero-initialised
        // allocation, and it is not in flight (ops own it while in flight).
        unsafe { std::slice::from_raw_parts(self.ptr(), len) }
    }

    /// Mutable access, e.g. to convert TYPE A data in place before a write.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: U4: as in `bytes`, and `&mut self` makes this the only
        // reference into the region.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.pool.size) }
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.pool.size
    }

    /// Start of this buffer's region (pointer arithmetic only, no access).
    pub(super) fn ptr(&self) -> *mut u8 {
        self.pool
            .mem
            .ptr()
            .wrapping_add(self.index as usize * self.pool.size)
    }

    /// The registration index for READ_FIXED / WRITE_FIXED.
    pub(super) fn index(&self) -> u16 {
        self.index
    }
}

/// The registered buffers: one allocation cut into `count` equal buffers,
/// registered as one iovec each so the buffer index is the iovec index.
pub(super) struct FixedPool {
    shared: Option<Rc<FixedShared>>,
    count: u16,
}

impl FixedPool {
    pub(super) fn empty() -> FixedPool {
        FixedPool {
            shared: None,
            count: 0,
        }
    }

    pub(super) fn new(count: u16, size: u32) -> Result<FixedPool, Errno> {
        if count == 0 || size == 0 {
            return Ok(FixedPool::empty());
        }
        let size = size as usize;
        let total = size.checked_mul(count as usize).ok_or(Errno::ENOMEM)?;
        let shared = FixedShared {
            mem: PageAlloc::new(total)?,
            // Reversed so that `pop` hands out index 0 first.
            free: RefCell::new((0..count).rev().collect()),
            size,
        };
        Ok(FixedPool {
            shared: Some(Rc::new(shared)),
            count,
        })
    }

    /// The iovecs to pass to `register_buffers` (empty when no pool).
    pub(super) fn iovecs(&self) -> Vec<libc::iovec> {
        let Some(sh) = &self.shared else {
            return Vec::new();
        };
        (0..self.count as usize)
            .map(|i| libc::iovec {
                iov_base: sh.mem.ptr().wrapping_add(i * sh.size).cast(),
                iov_len: sh.size,
            })
            .collect()
    }

    pub(super) fn take(&mut self) -> Option<FixedBuf> {
        let sh = self.shared.as_ref()?;
        let index = sh.free.borrow_mut().pop()?;
        Some(FixedBuf {
            pool: Rc::clone(sh),
            index,
        })
    }

    /// Buffers on the free list.
    pub(super) fn free_count(&self) -> usize {
        self.shared.as_ref().map_or(0, |sh| sh.free.borrow().len())
    }
}

/// A provided buffer filled by a receive. Read it with [`ProvidedBuf::data`];
/// dropping it hands it back to the kernel's buffer ring.
pub struct ProvidedBuf {
    pool: Rc<RefCell<ProvidedPool>>,
    /// Start of this buffer's bytes (inside the pool's allocation, which the
    /// `Rc` keeps alive).
    start: *const u8,
    bid: u16,
    len: u32,
}

impl std::fmt::Debug for ProvidedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidedBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

impl ProvidedBuf {
    /// The received bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: U5: this handle holds buffer `bid`, so it is out of the
        // kernel's ring and nothing writes it; `start..start+len` lies inside
        // the live (Rc), zero-initialised allocation (len <= buffer size).
        unsafe { std::slice::from_raw_parts(self.start, self.len as usize) }
    }
}

impl Drop for ProvidedBuf {
    fn drop(&mut self) {
        // `try_borrow_mut`: a buffer dropped while the pool is being filled
        // (it cannot be, the ring only borrows it inside its own calls) would
        // otherwise panic; such a buffer is lost rather than a crash.
        if let Ok(mut pool) = self.pool.try_borrow_mut() {
            pool.push_back(self.bid);
        }
    }
}

/// `struct io_uring_buf` minus the trailing `resv`, which for entry 0 is
/// the ring's tail: writing this (unaligned, 14 bytes) never touches it.
#[repr(C, packed)]
struct BufDesc {
    addr: u64,
    len: u32,
    bid: u16,
}

/// The provided-buffer ring of group 0 and the buffers it hands out.
pub(super) struct ProvidedPool {
    ring_mem: PageAlloc,
    bufs: PageAlloc,
    mask: u16,
    count: u16,
    size: u32,
    tail: u16,
}

impl ProvidedPool {
    pub(super) fn new(count: u16, size: u32) -> Result<Option<Self>, Errno> {
        let count = count.min(MAX_RING_ENTRIES);
        if count == 0 || size == 0 {
            return Ok(None);
        }
        // entries >= count: the ring can hold every buffer at once (U5).
        let entries = count.next_power_of_two();
        let ring_mem = PageAlloc::new(
            entries as usize * std::mem::size_of::<io_uring::types::BufRingEntry>(),
        )?;
        let total = (size as usize)
            .checked_mul(count as usize)
            .ok_or(Errno::ENOMEM)?;
        let bufs = PageAlloc::new(total)?;
        Ok(Some(ProvidedPool {
            ring_mem,
            bufs,
            mask: entries - 1,
            count,
            size,
            tail: 0,
        }))
    }

    pub(super) fn ring_addr(&self) -> u64 {
        self.ring_mem.ptr() as u64
    }

    pub(super) fn entries(&self) -> u16 {
        self.mask + 1
    }

    /// Hands every buffer to the kernel (after registration).
    pub(super) fn fill(&mut self) {
        for bid in 0..self.count {
            self.write_entry(bid);
        }
        self.publish();
    }

    /// Gives one buffer back to the kernel.
    pub(super) fn push_back(&mut self, bid: u16) {
        if bid < self.count {
            self.write_entry(bid);
            self.publish();
        }
    }

    fn write_entry(&mut self, bid: u16) {
        let desc = BufDesc {
            addr: self
                .bufs
                .ptr()
                .wrapping_add(bid as usize * self.size as usize) as u64,
            len: self.size,
            bid,
        };
        let entry_size = std::mem::size_of::<io_uring::types::BufRingEntry>();
        let slot = self
            .ring_mem
            .ptr()
            .wrapping_add((self.tail & self.mask) as usize * entry_size);
        // SAFETY: U5: `slot` is inside the ring allocation (index masked), and
        // the kernel does not read it until the tail covering it is published;
        // the 14-byte write leaves entry 0's `resv` (the tail) alone.
        unsafe { slot.cast::<BufDesc>().write_unaligned(desc) }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the written entries visible to the kernel.
    fn publish(&self) {
        let tail_ptr = self.ring_mem.ptr().wrapping_add(TAIL_OFFSET).cast::<u16>();
        // SAFETY: U5: the tail is a 2-byte-aligned u16 inside the live ring
        // allocation that the kernel only reads (with acquire), so treating it
        // as an atomic shared with the kernel is sound.
        let tail = unsafe { AtomicU16::from_ptr(tail_ptr) };
        // Release: the entry writes above happen-before the kernel sees them.
        tail.store(self.tail, Ordering::Release);
    }

    /// Size of each buffer (the length a provided recv asks for).
    pub(super) fn buf_size(&self) -> u32 {
        self.size
    }

    /// Wraps buffer `bid`, which the kernel filled with `len` bytes, for the
    /// caller; `None` for a bid this pool never handed out.
    pub(super) fn handle(
        this: &Rc<RefCell<ProvidedPool>>,
        bid: u16,
        len: u32,
    ) -> Option<ProvidedBuf> {
        let pool = this.borrow();
        if bid >= pool.count {
            return None;
        }
        let start = pool
            .bufs
            .ptr()
            .wrapping_add(bid as usize * pool.size as usize)
            .cast_const();
        Some(ProvidedBuf {
            pool: Rc::clone(this),
            start,
            bid,
            len: len.min(pool.size),
        })
    }
}
