//! SIGTERM / SIGINT and SHUTDOWN: stop the process cleanly.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Starts a thread that turns SIGTERM and SIGINT into a clean shutdown.
pub fn install() -> std::io::Result<()> {
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
                shutdown_now();
            }
        })?;
    Ok(())
}

/// Stops the process with status 0; the kernel closes every socket. (SIGTERM does not save: see docs/persistence.md.)
pub fn shutdown_now() -> ! {
    tracing::warn!("damselfly is now ready to exit, bye bye...");
    std::process::exit(0)
}
