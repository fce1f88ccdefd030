//! Aborts the test process when one case runs too long, printing its input: proptest cannot
//! interrupt a hung case, and a stalled CI job would not say which input hung.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Watched {
    id: u64,
    deadline: Instant,
    input: Vec<u8>,
}

static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());
static NEXT_ID: Mutex<u64> = Mutex::new(0);
static STARTED: OnceLock<()> = OnceLock::new();

fn timeout() -> Duration {
    let secs = std::env::var("DAMSELFLY_FUZZ_TIMEOUT")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A case that panicked while holding the lock leaves valid data behind.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run() {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = Instant::now();
        let watched = lock(&WATCHED);
        if let Some(hung) = watched.iter().find(|w| w.deadline <= now) {
            eprintln!(
                "fuzz case exceeded {:?}; its input ({} bytes): {:?}",
                timeout(),
                hung.input.len(),
                hung.input.escape_ascii().to_string()
            );
            std::process::abort();
        }
    }
}

/// Unregisters its case when dropped, also when the case panics.
pub(crate) struct Watch(u64);

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&WATCHED).retain(|w| w.id != self.0);
    }
}

/// Registers a case with the watchdog until the returned guard is dropped.
pub(crate) fn watch(input: &[u8]) -> Watch {
    STARTED.get_or_init(|| {
        std::thread::spawn(run);
    });
    let id = {
        let mut next = lock(&NEXT_ID);
        *next += 1;
        *next
    };
    lock(&WATCHED).push(Watched {
        id,
        deadline: Instant::now() + timeout(),
        input: input.to_vec(),
    });
    Watch(id)
}
