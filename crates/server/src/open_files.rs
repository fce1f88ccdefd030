//! Fitting maxclients to the open files limit, as Redis's adjustOpenFilesLimit does: raise
//! RLIMIT_NOFILE to maxclients plus a reserve, and when the system refuses, lower maxclients to
//! what the limit allows, with Redis's warnings.

use std::io::Error;

/// Descriptors kept for everything that is not a client (Redis's CONFIG_MIN_RESERVED_FDS).
pub const RESERVED_FDS: u64 = 32;

/// The maxclients the open files limit allows for `requested`, raising the limit if it can.
/// Err holds the fatal message when not even one client would fit.
pub fn fit_maxclients(requested: u64) -> Result<u64, String> {
    let wanted = requested + RESERVED_FDS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
        tracing::warn!(
            "Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the max clients configuration accordingly.",
            os_error_text(&Error::last_os_error())
        );
        return Ok(1024 - RESERVED_FDS);
    }
    let original = limit.rlim_cur;
    if original >= wanted {
        return Ok(requested);
    }
    // Ask for the whole need, then a little less each time the system refuses.
    const STEP: u64 = 16;
    let mut best = wanted;
    let mut refusal = None;
    while best > original {
        let attempt = libc::rlimit {
            rlim_cur: best,
            rlim_max: best,
        };
        // SAFETY: setrlimit only reads the rlimit we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &attempt) } != -1 {
            break;
        }
        refusal = Some(Error::last_os_error());
        if best < STEP {
            best = original;
            break;
        }
        best -= STEP;
    }
    let best = best.max(original);
    if best >= wanted {
        tracing::info!(
            "Increased maximum number of open files to {wanted} (it was originally set to {original})."
        );
        return Ok(requested);
    }
    if best <= RESERVED_FDS {
        return Err(format!(
            "Your current 'ulimit -n' of {original} is not enough for the server to start. Please increase your open file limit to at least {wanted}. Exiting."
        ));
    }
    let reduced = best - RESERVED_FDS;
    tracing::warn!(
        "You requested maxclients of {requested} requiring at least {wanted} max file descriptors."
    );
    tracing::warn!(
        "Server can't set maximum open files to {wanted} because of OS error: {}.",
        refusal.map_or_else(String::new, |err| os_error_text(&err))
    );
    tracing::warn!(
        "Current maximum open files is {best}. maxclients has been reduced to {reduced} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
    );
    Ok(reduced)
}

/// strerror's text, without the " (os error N)" Rust appends.
fn os_error_text(err: &Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_within_the_current_limit_is_kept() {
        assert_eq!(fit_maxclients(1), Ok(1));
    }

    #[test]
    fn os_errors_read_like_strerror() {
        assert_eq!(
            os_error_text(&Error::from_raw_os_error(libc::EPERM)),
            "Operation not permitted"
        );
    }
}
