//! Self-test of the harness: `DAMSELFLY_CHAOS_SABOTAGE=<mode>` breaks one invariant on purpose from the
//! client side (after the warm-up round), so one can see the invariant's check fail. A run with a mode set
//! is expected to FAIL with the invariant named below; it proves the check is not vacuous.
//!
//! | mode | what it does | the check that must fail |
//! | --- | --- | --- |
//! | `leak` | keeps one idle connection open | invariant 3 (connected_clients) |
//! | `block` | keeps one connection blocked in BLPOP | invariant 3 (blocked_clients) |
//! | `write` | overwrites a transaction key behind the model's back during the round | the transaction readers (mixed stamps) and invariant 5 |
//! | `model` | after the round, overwrites a pipeliner's key behind the model's back | invariant 5 (acknowledged writes) |
//! | `memory` | stores 24 MB of extra values | invariant 4 (RSS) |
//! | `stall` | freezes the server process with SIGSTOP, 250 ms at a time with 2 ms breaks, during the latency check | invariant 1 (shard latency) |

use crate::common::process_state;
use crate::net::Conn;
use crate::writers::tx_group;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sabotage {
    Leak,
    Block,
    Write,
    Model,
    Memory,
    Stall,
}

impl Sabotage {
    pub fn from_env() -> Option<Sabotage> {
        let v = std::env::var("DAMSELFLY_CHAOS_SABOTAGE").ok()?;
        Some(match v.as_str() {
            "leak" => Sabotage::Leak,
            "block" => Sabotage::Block,
            "write" => Sabotage::Write,
            "model" => Sabotage::Model,
            "memory" => Sabotage::Memory,
            "stall" => Sabotage::Stall,
            other => panic!(
                "DAMSELFLY_CHAOS_SABOTAGE={other:?}: use leak, block, write, model, memory or stall"
            ),
        })
    }
}

/// Runs during the round's active phase (mode `write`): a rogue writer of one transaction stamp key.
pub fn during_round(
    mode: Sabotage,
    addr: SocketAddr,
    shards: usize,
    until: Instant,
) -> Option<JoinHandle<()>> {
    (mode == Sabotage::Write).then(|| {
        std::thread::spawn(move || {
            let (keys, _) = tx_group(0, shards);
            let Ok(mut c) = Conn::connect(addr) else {
                return;
            };
            while Instant::now() < until {
                let _ = c.cmd(&["SET", &keys[keys.len() - 1], "1"]);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    })
}

/// Runs after the actors finished and before the checks; connections it returns stay open until the run
/// ends. Mode `stall` returns the thread that freezes the server for the next three seconds.
pub fn before_checks(
    mode: Sabotage,
    addr: SocketAddr,
    pid: Option<u32>,
) -> (Vec<Conn>, Option<JoinHandle<()>>) {
    let mut keep = Vec::new();
    let mut thread = None;
    match mode {
        Sabotage::Leak => keep.extend(Conn::connect(addr).ok()),
        Sabotage::Block => {
            if let Ok(mut c) = Conn::connect(addr) {
                let _ = c.send_pipeline(&[vec!["BLPOP", "chaos:sabotage:never", "0"]]);
                keep.push(c);
            }
        }
        Sabotage::Model => {
            if let Ok(mut c) = Conn::connect(addr) {
                let _ = c.cmd(&["SET", "chaos:pipe:0:0", "rogue"]);
            }
        }
        Sabotage::Memory => {
            if let Ok(mut c) = Conn::connect(addr) {
                let value = "m".repeat(1 << 20);
                for i in 0..24 {
                    let _ = c.cmd(&["SET", &format!("chaos:sabotage:mem:{i}"), &value]);
                }
            }
        }
        Sabotage::Stall => {
            // Freeze the whole process (SIGSTOP) for 250 ms at a time with 2 ms breaks, for three seconds.
            thread = pid.map(|pid| {
                std::thread::spawn(move || {
                    let signal = |sig: &str| {
                        let _ = std::process::Command::new("kill")
                            .args([sig, &pid.to_string()])
                            .status();
                    };
                    let end = Instant::now() + Duration::from_secs(3);
                    while Instant::now() < end {
                        signal("-STOP");
                        std::thread::sleep(Duration::from_millis(250));
                        signal("-CONT");
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    signal("-CONT");
                })
            });
            // The checks must start while the process is stopped.
            if let Some(pid) = pid {
                let end = Instant::now() + Duration::from_secs(2);
                while process_state(pid) != Some('T') && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        Sabotage::Write => {}
    }
    (keep, thread)
}
