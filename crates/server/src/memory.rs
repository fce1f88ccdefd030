//! Memory and CPU figures for INFO: jemalloc's own counters and the kernel's view of the process.

use std::sync::atomic::{AtomicU64, Ordering};
use tikv_jemalloc_ctl::{epoch, stats};

static PEAK: AtomicU64 = AtomicU64::new(0);

/// Bytes the allocator has handed out and not yet freed (Redis's used_memory).
pub fn allocated_bytes() -> u64 {
    let _ = epoch::advance();
    let allocated = stats::allocated::read().unwrap_or(0) as u64;
    PEAK.fetch_max(allocated, Ordering::Relaxed);
    allocated
}

pub fn peak_bytes() -> u64 {
    PEAK.load(Ordering::Relaxed)
}

pub fn allocator_resident_bytes() -> u64 {
    stats::resident::read().unwrap_or(0) as u64
}

/// Resident set size from /proc/self/statm (Redis's used_memory_rss).
pub fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| {
            text.split_whitespace()
                .nth(1)
                .and_then(|field| field.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
    pages * page_size
}

pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64) * (page_size.max(0) as u64)
}

/// User and system CPU seconds of the whole process.
pub fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}
