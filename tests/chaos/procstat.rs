//! Diagnostics for a failed round: what the server's threads were doing. A sampler reads
//! /proc/<pid>/task/*/stat every 500 ms during the round; when the round fails, the last samples show per
//! thread its state letters and the CPU it used per interval, which tells a frozen executor (sleeping, no
//! CPU, while clients wait) from a starved one (runnable, little CPU) or a busy one (running, full CPU).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One thread at one moment: name, state letter, CPU ticks (user + system).
type ThreadStat = (String, char, u64);
/// Timestamped samples of every thread, by thread id.
type Samples = Vec<(Instant, BTreeMap<u32, ThreadStat>)>;

fn sample(pid: u32) -> BTreeMap<u32, ThreadStat> {
    let mut out = BTreeMap::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "tid (comm) S ppid ... utime stime ...": fields after the last ')' start with the state (field 3);
        // utime and stime are fields 14 and 15.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let state = rest.first().and_then(|s| s.chars().next()).unwrap_or('?');
        let ticks = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.insert(tid, (comm, state, ticks(11) + ticks(12)));
    }
    out
}

pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Samples>>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Samples `pid`'s threads every 500 ms, keeping the last 40 samples.
    pub fn start(pid: Option<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples: Arc<Mutex<Samples>> = Arc::default();
        let handle = pid.map(|pid| {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let s = sample(pid);
                    let mut v = samples.lock().unwrap_or_else(|e| e.into_inner());
                    v.push((Instant::now(), s));
                    if v.len() > 40 {
                        v.remove(0);
                    }
                    drop(v);
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        });
        Sampler {
            stop,
            samples,
            handle,
        }
    }

    /// Stops sampling; returns, per server thread, one line: its state in each sample and the CPU ticks
    /// (1/100 s) it used since the previous one.
    pub fn finish(mut self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let Some((first, _)) = samples.first() else {
            return "no samples of the server's threads".into();
        };
        let mut out = format!(
            "server threads over the last {:.1?}, one sample per 500 ms as state:cpu-ticks-since-previous \
             (R running, S sleeping, D disk, T stopped):",
            samples.last().map(|(t, _)| t.duration_since(*first)).unwrap_or_default()
        );
        let tids: Vec<u32> = samples
            .last()
            .map(|(_, s)| s.keys().copied().collect())
            .unwrap_or_default();
        for tid in tids {
            let mut line = String::new();
            let mut prev: Option<u64> = None;
            let mut name = String::new();
            for (_, s) in samples.iter() {
                match s.get(&tid) {
                    Some((comm, state, ticks)) => {
                        name = comm.clone();
                        let used = prev.map(|p| ticks.saturating_sub(p)).unwrap_or(0);
                        let _ = write!(line, " {state}:{used}");
                        prev = Some(*ticks);
                    }
                    None => line.push_str(" -"),
                }
            }
            let _ = write!(out, "\n    {tid} {name}:{line}");
        }
        out
    }
}
