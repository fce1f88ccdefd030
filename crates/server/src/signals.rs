//! SIGTERM / SIGINT and SHUTDOWN: stop the process cleanly.

use crate::shared::Shared;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Starts a thread that turns SIGTERM and SIGINT into a clean shutdown.
pub fn install(shared: Arc<Shared>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let name = if signal == SIGTERM {
                    "SIGTERM"
                } else {
                    "SIGINT"
                };
                tracing::warn!("Received {name} scheduling shutdown...");
                shutdown_now(&shared);
            }
        })?;
    Ok(())
}

/// Nothing is persisted yet, so stopping means closing the listeners and exiting with status 0.
pub fn shutdown_now(shared: &Shared) -> ! {
    shared.stopping.store(true, Ordering::SeqCst);
    tracing::warn!("damselfly is now ready to exit, bye bye...");
    std::process::exit(0)
}
