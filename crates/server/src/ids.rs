//! Random identifiers: the run id and replication ids Redis prints.

use std::time::{SystemTime, UNIX_EPOCH};

/// A 40-character hex id like Redis's run_id and replication id.
pub fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (0..40)
        .map(|i| {
            let nibble = (rng.gen::<u8>() ^ (seed >> (i % 16)) as u8) & 0xf;
            char::from_digit(u32::from(nibble), 16).unwrap_or('0')
        })
        .collect()
}
