//! Support shared by damselfly's fuzz targets (the `fuzz_*` proptests in each crate's `tests/`).
//!
//! * [`config`]: how many cases each target runs, from `DAMSELFLY_FUZZ_CASES`, so that CI runs
//!   a few thousand and `scripts/fuzz.sh` millions with the same code.
//! * [`CountingAlloc`]: a global allocator that keeps per-thread live and peak byte counts, so a
//!   target can check that parsing `n` bytes of input never holds more than a small multiple
//!   of `n` (a length field that claims 4 GB must not be trusted for an allocation).
//! * [`mutation`]: byte-level mutations of valid inputs (flips, inserts, hostile fragments).
//! * [`bounded`]: runs one case under that meter and under a watchdog that aborts the process,
//!   printing the input, when a case runs too long (a hang would otherwise stall CI silently).

mod alloc;
pub mod mutation;
mod watchdog;

pub use alloc::CountingAlloc;

use proptest::test_runner::Config;

/// Cases per target when `DAMSELFLY_FUZZ_CASES` is not set: enough to catch regressions in CI
/// while keeping every crate's fuzz targets within a few seconds.
const DEFAULT_CASES: u32 = 2000;

/// Allocation every case may use regardless of its input size: small fixed buffers
/// (preallocated argument vectors, 1024-element reservations) stay below this.
pub const ALLOCATION_FLOOR: usize = 64 * 1024;

/// Cases per target: `DAMSELFLY_FUZZ_CASES`, or [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    std::env::var("DAMSELFLY_FUZZ_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The proptest configuration of a fuzz target. Failures are not persisted to
/// `proptest-regressions` files: every finding is kept as a named regression test instead.
pub fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `parse` on `input` and returns its result, panicking (so that proptest reports and
/// shrinks the case) when the peak of bytes it held at once exceeds
/// `max(ALLOCATION_FLOOR, factor * input.len())`. The watchdog aborts the process when the
/// call takes longer than `DAMSELFLY_FUZZ_TIMEOUT` seconds (default 10).
///
/// The binary must install [`CountingAlloc`] as its `#[global_allocator]`; without it the
/// measured peak is 0 and only the watchdog applies.
pub fn bounded<T>(input: &[u8], factor: usize, parse: impl FnOnce() -> T) -> T {
    let _watch = watchdog::watch(input);
    let before = alloc::start_peak();
    let result = parse();
    let peak = alloc::peak_since(before);
    let limit = ALLOCATION_FLOOR.max(factor.saturating_mul(input.len()));
    assert!(
        peak <= limit,
        "parsing {} bytes held {peak} bytes at once (limit {limit})",
        input.len()
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc;

    #[test]
    fn small_allocations_pass() {
        let len = bounded(&[0u8; 10], 4, || vec![0u8; 1000].len());
        assert_eq!(len, 1000);
    }

    #[test]
    #[should_panic(expected = "held")]
    fn allocations_beyond_the_bound_fail() {
        bounded(&[0u8; 10], 4, || {
            std::hint::black_box(vec![0u8; 2 * ALLOCATION_FLOOR]).len()
        });
    }
}
