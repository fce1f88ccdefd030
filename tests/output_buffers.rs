//! client-output-buffer-limit end to end: a client that stops reading is closed by its class's
//! limit instead of making the server buffer without bound, the clients that push to it never
//! wait, and the rest of the server keeps answering. Expectations are Redis 7.0.15's.
mod common;

use common::*;
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MESSAGE: usize = 10_000;

/// A client that subscribes to `channel` and then never reads: its receive buffer is made tiny
/// before connecting so that the server's unsent output grows at once.
fn stalled_subscriber(server: &Server, channel: &str) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr: std::net::SocketAddr = server.addr().parse().expect("address");
    socket.connect(&addr.into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    std::io::Write::write_all(&mut stream, &encode_cmd(&["SUBSCRIBE", channel]))
        .expect("subscribe");
    let mut confirmation = [0u8; 64];
    let read = stream.read(&mut confirmation).expect("confirmation");
    assert!(
        confirmation[..read].starts_with(b"*3\r\n$9\r\nsubscribe\r\n"),
        "{:?}",
        String::from_utf8_lossy(&confirmation[..read])
    );
    stream
}

/// CLIENT LIST's line for the client whose command was `cmd`, as field → value.
fn client_with_cmd(r: &mut Raw, cmd: &str) -> Option<std::collections::HashMap<String, String>> {
    let list = r.cmd(&["CLIENT", "LIST"]).as_string();
    list.lines()
        .map(|line| {
            line.split(' ')
                .filter_map(|field| field.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        })
        .find(|fields| fields.get("cmd").map(String::as_str) == Some(cmd))
}

/// Each server thread's name, state, kernel wait channel and current syscall (for a stall report).
fn thread_states(pid: u32) -> String {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("proc tasks");
    tasks
        .filter_map(Result::ok)
        .map(|task| {
            let read = |name: &str| {
                std::fs::read_to_string(task.path().join(name))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            format!(
                "[{} stat={} wchan={} syscall={}]",
                read("comm"),
                read("stat").split(' ').nth(2).unwrap_or("?"),
                read("wchan"),
                read("syscall")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn rss_kb(server: &Server) -> u64 {
    let pid = server.pid().expect("server pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

fn publish_batch(publisher: &mut Raw, channel: &str, count: usize) -> Vec<i64> {
    let payload = "x".repeat(MESSAGE);
    let one = encode_cmd(&["PUBLISH", channel, payload.as_str()]);
    publisher.send(&one.repeat(count)).expect("publish");
    publisher
        .read_replies(count)
        .iter()
        .map(Reply::as_int)
        .collect()
}

/// Reads whatever the stalled client still has coming until the server closes it; returns the
/// byte count.
fn drain_until_closed(mut stream: TcpStream) -> usize {
    let mut total = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return total,
            Err(e) => panic!("the stalled subscriber was never closed: {e} after {total} bytes"),
        }
    }
}

/// The repro: 30,000 messages of 10 KB to one subscriber that never reads. It is closed
/// once its output passes the pubsub hard limit (32 MB), the publisher never waits for it, the
/// server's RSS stays within the limit plus 64 MB, and PING through new connections keeps answering.
#[test]
fn a_stalled_subscriber_is_closed_at_the_hard_limit_and_nobody_waits() {
    for_each_thread_count(|threads| {
        let server = Server::start(threads, &[]);
        let start_rss = rss_kb(&server);
        let subscriber = stalled_subscriber(&server, "flood");
        let mut publisher = server.raw();
        let flooding = Arc::new(AtomicBool::new(true));
        let probe = {
            let (flooding, addr) = (flooding.clone(), server.addr());
            let pid = server.pid().expect("server pid");
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                while flooding.load(Ordering::Relaxed) {
                    // A new connection each time, so with several threads every executor is probed.
                    let mut r = Raw::connect(&addr);
                    r.stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .expect("read timeout");
                    let began = Instant::now();
                    r.send(b"PING\r\n").expect("send PING");
                    let mut pong = [0u8; 7];
                    if let Err(e) = r.stream.read_exact(&mut pong) {
                        panic!(
                            "PING unanswered for 5 s ({e}); server threads: {}",
                            thread_states(pid)
                        );
                    }
                    assert_eq!(&pong, b"+PONG\r\n");
                    latencies.push(began.elapsed());
                    std::thread::sleep(Duration::from_millis(2));
                }
                latencies
            })
        };
        let mut peak_rss = start_rss;
        let mut delivered = Vec::new();
        let began = Instant::now();
        for _ in 0..30 {
            delivered.extend(publish_batch(&mut publisher, "flood", 1000));
            peak_rss = peak_rss.max(rss_kb(&server));
        }
        let flood_time = began.elapsed();
        flooding.store(false, Ordering::Relaxed);
        let mut latencies = probe.join().expect("probe thread");
        latencies.sort();
        let p99 = latencies[latencies.len() * 99 / 100];
        eprintln!(
            "threads {threads}: flood of 30000 x 10 KB in {flood_time:?}, PING p99 {p99:?} over {} probes, RSS {start_rss} kB -> peak {peak_rss} kB",
            latencies.len()
        );
        assert_eq!(delivered[0], 1, "the first message reaches the subscriber");
        assert_eq!(
            *delivered.last().expect("replies"),
            0,
            "the subscriber was closed during the flood"
        );
        let received = drain_until_closed(subscriber);
        assert!(
            received < 32 * MESSAGE * 1000,
            "the subscriber got {received} bytes: it was not cut off near the 32 MB limit"
        );
        assert!(
            peak_rss <= start_rss + (32 + 64) * 1024,
            "RSS grew from {start_rss} kB to {peak_rss} kB"
        );
        // The 5 ms target is measured on a quiet machine (docs/benchmarks.md); here, with other
        // tests running beside it, the bound only proves no shard stalls behind the subscriber.
        assert!(
            p99 < Duration::from_millis(250),
            "PING p99 {p99:?} while flooding"
        );
        wait_for("the closing to be logged", Duration::from_secs(10), || {
            server
                .log_text()
                .contains("scheduled to be closed ASAP for overcoming of output buffer limits")
                .then_some(())
        });
        let mut r = server.raw();
        assert_eq!(r.run("SET k1 v"), Reply::ok());
        assert_eq!(r.run("MSET k2 v k3 v k4 v"), Reply::ok());
        assert_eq!(r.run("DBSIZE"), Reply::int(4));
        assert_eq!(r.run("PUBLISH flood x"), Reply::int(0));
    });
}

/// Past the soft limit a client is closed only once it has stayed there longer than the soft
/// seconds; CLIENT LIST and INFO show its unsent output meanwhile.
#[test]
fn the_soft_limit_closes_after_its_seconds() {
    for_each_thread_count(|threads| {
        let server = Server::start(threads, &[]);
        let mut admin = server.raw();
        assert_eq!(
            admin.cmd(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "pubsub 0 1mb 1"
            ]),
            Reply::ok()
        );
        let subscriber = stalled_subscriber(&server, "soft");
        let mut publisher = server.raw();
        let passed_soft = wait_for("the subscriber to pass 1 MB", IO_TIMEOUT, || {
            publish_batch(&mut publisher, "soft", 50);
            let fields = client_with_cmd(&mut admin, "subscribe")?;
            let omem: u64 = fields.get("omem")?.parse().ok()?;
            (omem > 1 << 20).then(|| {
                assert_eq!(fields.get("flags").map(String::as_str), Some("P"));
                assert_eq!(fields.get("sub").map(String::as_str), Some("1"));
                Instant::now()
            })
        });
        // Redis samples it once a second; damselfly reports the current largest.
        wait_for(
            "client_recent_max_output_buffer to show it",
            Duration::from_secs(5),
            || {
                info_field_of(&mut admin, "clients", "client_recent_max_output_buffer")
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&bytes| bytes > 1 << 20)
            },
        );
        wait_for(
            "the soft limit to close it",
            Duration::from_secs(10),
            || {
                publish_batch(&mut publisher, "soft", 1);
                client_with_cmd(&mut admin, "subscribe")
                    .is_none()
                    .then_some(())
            },
        );
        let after = passed_soft.elapsed();
        assert!(
            after >= Duration::from_millis(900),
            "closed {after:?} after passing the soft limit: before its 1 s"
        );
        drain_until_closed(subscriber);
    });
}

/// The normal class: a reply larger than its hard limit closes the client, as in Redis; others
/// go on.
#[test]
fn a_normal_client_past_its_hard_limit_is_closed() {
    with_servers(&[], |server| {
        let mut admin = server.raw();
        assert_eq!(
            admin.cmd(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 1mb 0 0"
            ]),
            Reply::ok()
        );
        let big = "v".repeat(2 << 20);
        assert_eq!(admin.cmd(&["SET", "big", big.as_str()]), Reply::ok());
        let mut reader = server.raw();
        reader.send(&encode_cmd(&["GET", "big"])).expect("send");
        let mut chunk = vec![0u8; 1 << 16];
        let mut received = 0;
        loop {
            match reader.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => received += n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the reader was not closed: {e}"),
            }
        }
        assert!(received < big.len(), "the whole 2 MB reply was sent");
        assert_eq!(admin.run("STRLEN big"), Reply::int(2 << 20));
    });
}

#[test]
fn config_get_set_and_flags_follow_redis() {
    with_servers(
        &["--client-output-buffer-limit", "pubsub 1mb 512kb 5"],
        |server| {
            let mut r = server.raw();
            let get = |r: &mut Raw| {
                r.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])
                    .as_strings()
            };
            assert_eq!(
                get(&mut r),
                vec![
                    "client-output-buffer-limit",
                    "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 5"
                ]
            );
            assert_eq!(
                r.cmd(&[
                    "CONFIG",
                    "SET",
                    "client-output-buffer-limit",
                    "replica 1gb 0 0 normal 10 20 30"
                ]),
                Reply::ok()
            );
            assert_eq!(
                get(&mut r)[1],
                "normal 10 20 30 slave 1073741824 0 0 pubsub 1048576 524288 5"
            );
            let failed = |reason: &str| {
                Reply::err(&format!(
                    "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {reason}"
                ))
            };
            for (value, reason) in [
                (
                    "master 1 1 1",
                    "Invalid client class specified in buffer limit configuration.",
                ),
                (
                    "pubsub 1 1",
                    "Wrong number of arguments in buffer limit configuration.",
                ),
                (
                    "pubsub x 1 1",
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                ),
                (
                    "pubsub -1 1 1",
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                ),
            ] {
                assert_eq!(
                    r.cmd(&["CONFIG", "SET", "client-output-buffer-limit", value]),
                    failed(reason),
                    "{value}"
                );
            }
            assert_eq!(
                get(&mut r)[1],
                "normal 10 20 30 slave 1073741824 0 0 pubsub 1048576 524288 5",
                "a refused value changes nothing"
            );
        },
    );
}

#[test]
fn the_config_file_sets_each_class_on_its_own_line() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("obl-config");
    let file = dir.join("redis.conf");
    std::fs::write(
        &file,
        "client-output-buffer-limit normal 0 0 0\nclient-output-buffer-limit replica 512mb 128mb 120\nclient-output-buffer-limit pubsub 64mb 16mb 90\n",
    )
    .expect("write config");
    for threads in thread_counts() {
        let server = Server::start_damselfly_with_config(threads, &file, &[]);
        let mut r = server.raw();
        assert_eq!(
            r.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])
                .as_strings()[1],
            "normal 0 0 0 slave 536870912 134217728 120 pubsub 67108864 16777216 90"
        );
    }
}
