//! Process-wide allocator tuning (the one libc call of its kind, kept here
//! because this module is where `unsafe` lives).
//!
//! glibc raises its mmap threshold each time a large mmapped block is freed,
//! so after the first argon2id verification (19 MiB of working memory) later
//! ones are carved from the helper thread's arena and stay resident after
//! free: each login on a new arena ratchets the server's RSS up by ~20 MiB.
//! Pinning the threshold makes every block of 1 MiB or more an mmap that is
//! returned to the kernel on free.

/// Blocks of at least this many bytes are mmapped and unmapped on free.
const MMAP_THRESHOLD_BYTES: libc::c_int = 1 << 20;

/// Pins glibc's mmap threshold; call once at start-up, before threads start.
/// Returns false when the C library refused (the server runs on regardless).
pub fn return_large_blocks_to_the_kernel() -> bool {
    // SAFETY: U9: mallopt takes two integers and touches no memory of ours;
    // it is called at start-up on the main thread before any other thread runs.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
    ok == 1
}
