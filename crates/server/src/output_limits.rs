//! `client-output-buffer-limit`: per client class, a hard limit, a soft limit and soft seconds, as
//! Redis has them. A client whose unsent output passes the hard limit, or stays past the soft limit
//! for the soft seconds, is closed. Read on every push to a client, so the values are atomics.

use crate::units::parse_memory;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Redis's client classes for output limits (a master link counts as normal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputClass {
    Normal = 0,
    Replica = 1,
    PubSub = 2,
}

impl OutputClass {
    const ALL: [OutputClass; 3] = [
        OutputClass::Normal,
        OutputClass::Replica,
        OutputClass::PubSub,
    ];

    /// Redis's class names (`slave` and `replica` are the same class; `master` is refused here).
    fn parse(name: &str) -> Option<OutputClass> {
        match name.to_ascii_lowercase().as_str() {
            "normal" => Some(OutputClass::Normal),
            "slave" | "replica" => Some(OutputClass::Replica),
            "pubsub" => Some(OutputClass::PubSub),
            _ => None,
        }
    }

    /// The name CONFIG GET prints.
    fn name(self) -> &'static str {
        match self {
            OutputClass::Normal => "normal",
            OutputClass::Replica => "slave",
            OutputClass::PubSub => "pubsub",
        }
    }
}

/// One class's limits, in bytes and seconds (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Redis's defaults: `normal 0 0 0`, `replica 256mb 64mb 60`, `pubsub 32mb 8mb 60`.
pub fn default_limit(class: OutputClass) -> ClassLimit {
    match class {
        OutputClass::Normal => ClassLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        },
        OutputClass::Replica => ClassLimit {
            hard: 256 << 20,
            soft: 64 << 20,
            soft_seconds: 60,
        },
        OutputClass::PubSub => ClassLimit {
            hard: 32 << 20,
            soft: 8 << 20,
            soft_seconds: 60,
        },
    }
}

/// Parses `<class> <hard> <soft> <soft seconds>` groups; the whole text is refused if any part is
/// wrong, with Redis's reasons.
pub fn parse(words: &[&str]) -> Result<Vec<(OutputClass, ClassLimit)>, &'static str> {
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let number = |word: &str| {
        parse_memory(word).map_err(|_| {
            "Error in hard, soft or soft_seconds setting in buffer limit configuration."
        })
    };
    words
        .chunks(4)
        .map(|group| {
            let class = OutputClass::parse(group[0])
                .ok_or("Invalid client class specified in buffer limit configuration.")?;
            Ok((
                class,
                ClassLimit {
                    hard: number(group[1])?,
                    soft: number(group[2])?,
                    soft_seconds: number(group[3])?,
                },
            ))
        })
        .collect()
}

/// The limits in force, shared by every executor.
pub struct OutputLimits {
    values: [[AtomicU64; 3]; 3],
}

impl Default for OutputLimits {
    fn default() -> OutputLimits {
        let limits = OutputLimits {
            values: Default::default(),
        };
        for class in OutputClass::ALL {
            limits.set(class, default_limit(class));
        }
        limits
    }
}

impl OutputLimits {
    pub fn set(&self, class: OutputClass, limit: ClassLimit) {
        let slot = &self.values[class as usize];
        slot[0].store(limit.hard, Ordering::Relaxed);
        slot[1].store(limit.soft, Ordering::Relaxed);
        slot[2].store(limit.soft_seconds, Ordering::Relaxed);
    }

    pub fn get(&self, class: OutputClass) -> ClassLimit {
        let slot = &self.values[class as usize];
        ClassLimit {
            hard: slot[0].load(Ordering::Relaxed),
            soft: slot[1].load(Ordering::Relaxed),
            soft_seconds: slot[2].load(Ordering::Relaxed),
        }
    }

    /// CONFIG GET's value: `normal 0 0 0 slave 268435456 67108864 60 pubsub ...`.
    pub fn render(&self) -> String {
        OutputClass::ALL
            .iter()
            .map(|&class| {
                let limit = self.get(class);
                format!(
                    "{} {} {} {}",
                    class.name(),
                    limit.hard,
                    limit.soft,
                    limit.soft_seconds
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Redis's checkClientOutputBufferLimits for one client holding `bytes` of unsent output: past the
/// hard limit at once; past the soft limit once it has stayed there for more than the soft seconds. `soft_since`
/// is the client's soft-limit clock, started when it first passes the soft limit and reset when it
/// drops below.
pub fn exceeded(limit: ClassLimit, bytes: usize, soft_since: &Cell<Option<Instant>>) -> bool {
    let bytes = bytes as u64;
    if limit.hard != 0 && bytes >= limit.hard {
        return true;
    }
    if limit.soft == 0 || bytes < limit.soft {
        soft_since.set(None);
        return false;
    }
    match soft_since.get() {
        None => {
            soft_since.set(Some(Instant::now()));
            false
        }
        Some(since) => since.elapsed() > std::time::Duration::from_secs(limit.soft_seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_redis_defaults() {
        assert_eq!(
            OutputLimits::default().render(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn parses_groups_with_units_and_refuses_like_redis() {
        let parsed = parse(&["pubsub", "1mb", "512kb", "5", "replica", "0", "0", "0"])
            .expect("valid groups");
        assert_eq!(parsed[0].0, OutputClass::PubSub);
        assert_eq!(
            parsed[0].1,
            ClassLimit {
                hard: 1 << 20,
                soft: 512 << 10,
                soft_seconds: 5
            }
        );
        assert_eq!(parsed[1].0, OutputClass::Replica);
        assert_eq!(
            parse(&["master", "1", "1", "1"]),
            Err("Invalid client class specified in buffer limit configuration.")
        );
        assert_eq!(
            parse(&["pubsub", "1", "1"]),
            Err("Wrong number of arguments in buffer limit configuration.")
        );
        assert_eq!(
            parse(&["pubsub", "-1", "1", "1"]),
            Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        );
        assert_eq!(parse(&[]), Ok(Vec::new()));
    }

    #[test]
    fn hard_limit_is_immediate_and_soft_limit_needs_its_seconds() {
        let clock = Cell::new(None);
        let limit = ClassLimit {
            hard: 100,
            soft: 10,
            soft_seconds: 0,
        };
        assert!(exceeded(limit, 100, &clock));
        assert!(!exceeded(limit, 9, &clock));
        assert!(!exceeded(limit, 10, &clock), "the soft clock starts");
        assert!(
            exceeded(limit, 10, &clock),
            "zero soft seconds: the next check closes"
        );
        let patient = ClassLimit {
            soft_seconds: 60,
            ..limit
        };
        let clock = Cell::new(None);
        assert!(!exceeded(patient, 50, &clock));
        assert!(!exceeded(patient, 50, &clock));
        clock.set(Instant::now().checked_sub(Duration::from_secs(61)));
        assert!(exceeded(patient, 50, &clock));
        assert!(!exceeded(patient, 5, &clock));
        assert_eq!(
            clock.get(),
            None,
            "dropping below the soft limit resets its clock"
        );
    }
}
