//! Shared harness for the end-to-end tests.
//!
//! Every test talks to a real server process over TCP. By default that is the
//! `damselfly` binary built by Cargo; with `DAMSELFLY_TEST_AGAINST_REDIS=1` the
//! same tests run against a real `redis-server` instead, which is how the
//! expected replies are validated (Redis 7.0 is the reference).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-tests cargo test --release --tests`
//! Against real Redis: prefix with `DAMSELFLY_TEST_AGAINST_REDIS=1` (the
//! harness then starts `redis-server --port P --bind 127.0.0.1 --save ''
//! --appendonly no`, dropping damselfly-only flags such as `--threads`, and
//! runs each `for_each_thread_count` body once instead of per thread count).
//!
//! Not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(20);
/// Read timeout for every client connection the harness hands out.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// True when the suite should run against a real redis-server.
pub fn against_redis() -> bool {
    matches!(
        std::env::var("DAMSELFLY_TEST_AGAINST_REDIS").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// Whether `redis-server` (or another binary) is on PATH.
pub fn have_binary(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The thread counts every test is run with. Against real Redis the count
/// is meaningless, so the body runs once.
pub fn thread_counts() -> Vec<usize> {
    if against_redis() {
        vec![1]
    } else {
        vec![1, 2]
    }
}

/// Runs `f` once per thread count (`--threads 1` and `--threads 2`).
pub fn for_each_thread_count(mut f: impl FnMut(usize)) {
    for threads in thread_counts() {
        eprintln!("--- running with --threads {threads}");
        f(threads);
    }
}

/// Starts a server per thread count and hands it to `f`.
pub fn with_servers(extra_args: &[&str], mut f: impl FnMut(&Server)) {
    for_each_thread_count(|threads| {
        let server = Server::start(threads, extra_args);
        f(&server);
    });
}

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty scratch directory under the system temp dir, removed with everything in it
/// when dropped unless the test failed (so passing runs leave nothing behind in /tmp).
pub struct ScratchDir(PathBuf);

impl std::ops::Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for ScratchDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for ScratchDir {
    /// Kept when a test fails, so its server log and files can be read.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch_dir(tag: &str) -> ScratchDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "damselfly-test-{tag}-{}-{}-{nanos}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).expect("create scratch dir");
    ScratchDir(dir)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

/// Which binary the server process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Damselfly,
    Redis,
    /// `redis-server <conf> --sentinel`: always the real Sentinel, whatever it monitors.
    Sentinel,
}

/// A running server process; killed on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub kind: Kind,
    pub threads: usize,
    dir: ScratchDir,
    log: PathBuf,
    password: Option<String>,
}

/// Flags that only damselfly understands and that are dropped when the
/// harness launches redis-server instead.
const DAMSELFLY_ONLY_FLAGS: &[&str] = &["--threads"];

fn password_from_args(args: &[&str]) -> Option<String> {
    args.windows(2)
        .find(|w| w[0] == "--requirepass")
        .map(|w| w[1].to_string())
}

impl Server {
    /// Starts the server under test (damselfly, or redis-server when
    /// `DAMSELFLY_TEST_AGAINST_REDIS=1`).
    pub fn start(threads: usize, extra_args: &[&str]) -> Server {
        if against_redis() {
            Self::start_kind(Kind::Redis, threads, None, extra_args)
        } else {
            Self::start_kind(Kind::Damselfly, threads, None, extra_args)
        }
    }

    /// Starts damselfly (never redis) with a config file as the first
    /// positional argument.
    pub fn start_damselfly_with_config(threads: usize, config: &Path, extra: &[&str]) -> Server {
        Self::start_kind(Kind::Damselfly, threads, Some(config), extra)
    }

    /// Starts the server under test with RLIMIT_NOFILE (soft and hard) set to `open_files`, as
    /// `ulimit -n` would.
    pub fn start_with_open_files_limit(threads: usize, open_files: u64, extra: &[&str]) -> Server {
        let kind = if against_redis() {
            Kind::Redis
        } else {
            Kind::Damselfly
        };
        Self::start_limited(kind, threads, None, extra, Some(open_files))
    }

    /// Always starts a real redis-server (for differential tests).
    pub fn redis() -> Server {
        Self::start_kind(Kind::Redis, 1, None, &[])
    }

    /// Always starts a real redis-server, with extra flags (a Redis primary for damselfly).
    pub fn redis_with(extra: &[&str]) -> Server {
        Self::start_kind(Kind::Redis, 1, None, extra)
    }

    /// Starts a real Redis Sentinel with the directives in `conf` (its `port` and `bind` are
    /// added). The file is copied into the Sentinel's own scratch dir, because Sentinel rewrites
    /// its config file on every state change and refuses to start without a writable one.
    pub fn sentinel(conf: &Path) -> Server {
        Self::start_kind(Kind::Sentinel, 1, Some(conf), &[])
    }

    fn start_kind(kind: Kind, threads: usize, config: Option<&Path>, extra: &[&str]) -> Server {
        Self::start_limited(kind, threads, config, extra, None)
    }

    fn start_limited(
        kind: Kind,
        threads: usize,
        config: Option<&Path>,
        extra: &[&str],
        open_files: Option<u64>,
    ) -> Server {
        let mut last_log = String::new();
        // The free-port probe is racy (another process may grab the port
        // between our release and the server's bind), so retry a few times
        // when the server reports the address is in use.
        for _attempt in 0..5 {
            let port = free_port();
            match Self::try_start(kind, threads, port, config, extra, open_files) {
                Ok(server) => return server,
                Err(log) => {
                    let lower = log.to_lowercase();
                    if lower.contains("in use") {
                        last_log = log;
                        continue;
                    }
                    panic!("{kind:?} server failed to start on port {port}; log:\n{log}");
                }
            }
        }
        panic!("{kind:?} server could not find a free port; last log:\n{last_log}");
    }

    fn try_start(
        kind: Kind,
        threads: usize,
        port: u16,
        config: Option<&Path>,
        extra: &[&str],
        open_files: Option<u64>,
    ) -> Result<Server, String> {
        let dir = scratch_dir(match kind {
            Kind::Damselfly => "damselfly",
            Kind::Redis => "redis",
            Kind::Sentinel => "sentinel",
        });
        let log = dir.join("server.log");
        let log_file = File::create(&log).expect("create log file");
        let port_s = port.to_string();
        let mut cmd = match kind {
            Kind::Damselfly => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_damselfly"));
                if let Some(config) = config {
                    cmd.arg(config);
                }
                cmd.args(["--port", &port_s, "--bind", "127.0.0.1"]);
                cmd.args(["--threads", &threads.to_string()]);
                cmd.args(extra);
                cmd
            }
            Kind::Redis => {
                let mut cmd = Command::new("redis-server");
                cmd.args(["--port", &port_s, "--bind", "127.0.0.1"]);
                cmd.args(["--save", "", "--appendonly", "no"]);
                cmd.args(["--enable-debug-command", "yes"]);
                cmd.arg("--dir").arg(&dir);
                let mut i = 0;
                while i < extra.len() {
                    if DAMSELFLY_ONLY_FLAGS.contains(&extra[i]) {
                        i += 2; // flag and its value
                        continue;
                    }
                    cmd.arg(extra[i]);
                    i += 1;
                }
                cmd
            }
            Kind::Sentinel => {
                let own = dir.join("sentinel.conf");
                let source = config.expect("a Sentinel needs a config file");
                fs::copy(source, &own).expect("copy the Sentinel config");
                let mut cmd = Command::new("redis-server");
                cmd.arg(&own).arg("--sentinel");
                cmd.args(["--port", &port_s, "--bind", "127.0.0.1"]);
                cmd.arg("--dir").arg(&dir);
                cmd.args(extra);
                cmd
            }
        };
        if let Some(limit) = open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and only touches the child about to exec.
            unsafe {
                cmd.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {kind:?} server: {e}"));
        let mut server = Server {
            child: Some(child),
            port,
            kind,
            threads,
            dir,
            log,
            password: password_from_args(extra),
        };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                server.child = None;
                return Err(format!("(exited with {status})\n{}", server.log_text()));
            }
            if server.answers_ping() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = server.log_text();
                panic!(
                    "{kind:?} server on port {port} not ready after {STARTUP_DEADLINE:?}; log:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// True when a fresh connection gets a well-formed reply to PING
    /// (+PONG, or -NOAUTH when a password is required).
    fn answers_ping(&self) -> bool {
        let Ok(mut s) =
            TcpStream::connect_timeout(&self.addr().parse().unwrap(), Duration::from_millis(500))
        else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 256];
        while !buf.ends_with(b"\r\n") {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.starts_with(b"+PONG") || buf.starts_with(b"-NOAUTH")
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// A redis-rs connection (authenticated when started with
    /// `--requirepass`).
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client url");
        let con = client
            .get_connection_with_timeout(IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr()));
        con.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        con.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        con
    }

    /// A raw TCP connection speaking RESP by hand (never authenticates).
    pub fn raw(&self) -> Raw {
        Raw::connect(&self.addr())
    }

    /// A raw connection that already sent AUTH when a password is set.
    pub fn raw_authed(&self) -> Raw {
        let mut r = self.raw();
        if let Some(p) = self.password.clone() {
            assert_eq!(r.cmd(&["AUTH", &p]), Reply::ok());
        }
        r
    }

    /// `INFO <section>` parsed into the value of `name`.
    pub fn info_field(&self, section: &str, name: &str) -> Option<String> {
        let mut r = self.raw_authed();
        info_field_of(&mut r, section, name)
    }

    /// Waits for the process to exit by itself (bounded).
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let end = Instant::now() + deadline;
        let child = self.child.as_mut().expect("server already reaped");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > end {
                panic!(
                    "server did not exit within {deadline:?}; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: String = log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            eprintln!(
                "=== {:?} server log (port {}, {}), last lines:\n{tail}",
                self.kind,
                self.port,
                self.log.display()
            );
        }
    }
}

/// `INFO <section>` over an existing raw connection, value of `name`.
pub fn info_field_of(r: &mut Raw, section: &str, name: &str) -> Option<String> {
    let text = match r.cmd(&["INFO", section]) {
        Reply::Bulk(b) => String::from_utf8(b).expect("INFO is UTF-8"),
        Reply::Verbatim(_, b) => String::from_utf8(b).expect("INFO is UTF-8"),
        other => panic!("INFO {section} replied {other:?}"),
    };
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == name).then(|| v.trim_end().to_string())
    })
}

/// Polls `f` until it returns `Some`, panicking with `what` after `deadline`.
pub fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// RESP replies
// ---------------------------------------------------------------------------

/// One parsed RESP2/RESP3 reply, kept exact so tests can compare byte for
/// byte what two servers said.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`
    NilBulk,
    /// `*-1`
    NilArray,
    /// RESP3 `_`
    Null,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(String),
    Bool(bool),
    Verbatim(String, Vec<u8>),
    BigNumber(String),
    Push(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status("OK".into())
    }
    pub fn status(s: &str) -> Reply {
        Reply::Status(s.into())
    }
    pub fn err(s: &str) -> Reply {
        Reply::Error(s.into())
    }
    pub fn int(i: i64) -> Reply {
        Reply::Int(i)
    }
    pub fn bulk(s: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(s.as_ref().to_vec())
    }
    pub fn nil() -> Reply {
        Reply::NilBulk
    }
    pub fn arr(items: Vec<Reply>) -> Reply {
        Reply::Array(items)
    }
    /// An array of bulk strings.
    pub fn bulks<S: AsRef<[u8]>>(items: &[S]) -> Reply {
        Reply::Array(items.iter().map(Reply::bulk).collect())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    pub fn as_int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Reply::Bulk(b) | Reply::Verbatim(_, b) => b,
            Reply::Status(s) => s.as_bytes(),
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    pub fn as_string(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    pub fn as_array(&self) -> &[Reply] {
        match self {
            Reply::Array(a) | Reply::Set(a) | Reply::Push(a) => a,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }

    /// Array of bulk strings -> Vec<String>.
    pub fn as_strings(&self) -> Vec<String> {
        self.as_array().iter().map(|r| r.as_string()).collect()
    }

    pub fn as_string_set(&self) -> HashSet<String> {
        self.as_strings().into_iter().collect()
    }

    /// Serializes back to RESP (for debugging and byte comparisons).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Status(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Reply::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
            Reply::Int(i) => out.extend_from_slice(format!(":{i}\r\n").as_bytes()),
            Reply::Bulk(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::NilBulk => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Null => out.extend_from_slice(b"_\r\n"),
            Reply::Array(a) | Reply::Set(a) | Reply::Push(a) => {
                let c = match self {
                    Reply::Array(_) => '*',
                    Reply::Set(_) => '~',
                    _ => '>',
                };
                out.extend_from_slice(format!("{c}{}\r\n", a.len()).as_bytes());
                for r in a {
                    r.encode(out);
                }
            }
            Reply::Map(m) => {
                out.extend_from_slice(format!("%{}\r\n", m.len()).as_bytes());
                for (k, v) in m {
                    k.encode(out);
                    v.encode(out);
                }
            }
            Reply::Double(d) => out.extend_from_slice(format!(",{d}\r\n").as_bytes()),
            Reply::Bool(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Verbatim(f, b) => {
                out.extend_from_slice(format!("={}\r\n{f}:", b.len() + 4).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::BigNumber(n) => out.extend_from_slice(format!("({n}\r\n").as_bytes()),
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) => write!(f, "+{s:?}"),
            Reply::Error(s) => write!(f, "-{s:?}"),
            Reply::Int(i) => write!(f, ":{i}"),
            Reply::Bulk(b) => write!(f, "${:?}", String::from_utf8_lossy(b)),
            Reply::NilBulk => write!(f, "$nil"),
            Reply::NilArray => write!(f, "*nil"),
            Reply::Null => write!(f, "_null"),
            Reply::Array(a) => f.debug_list().entries(a).finish(),
            Reply::Set(a) => {
                write!(f, "~")?;
                f.debug_list().entries(a).finish()
            }
            Reply::Push(a) => {
                write!(f, ">")?;
                f.debug_list().entries(a).finish()
            }
            Reply::Map(m) => f
                .debug_map()
                .entries(m.iter().map(|(k, v)| (k, v)))
                .finish(),
            Reply::Double(d) => write!(f, ",{d}"),
            Reply::Bool(b) => write!(f, "#{b}"),
            Reply::Verbatim(t, b) => write!(f, "={t}:{:?}", String::from_utf8_lossy(b)),
            Reply::BigNumber(n) => write!(f, "({n}"),
        }
    }
}

/// Parses one reply from the front of `buf`. `Ok(None)` means more bytes are
/// needed; `Err` means the bytes are not valid RESP.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    fn line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
        let rest = &buf[from..];
        let pos = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((&rest[..pos], from + pos + 2))
    }
    fn text(b: &[u8]) -> Result<String, String> {
        String::from_utf8(b.to_vec()).map_err(|e| format!("non-UTF-8 line: {e}"))
    }
    fn num(b: &[u8]) -> Result<i64, String> {
        text(b)?
            .parse::<i64>()
            .map_err(|e| format!("bad number {:?}: {e}", String::from_utf8_lossy(b)))
    }
    fn at(buf: &[u8], pos: usize) -> Result<Option<(Reply, usize)>, String> {
        if pos >= buf.len() {
            return Ok(None);
        }
        let Some((l, next)) = line(buf, pos + 1) else {
            return Ok(None);
        };
        let tag = buf[pos];
        let aggregate = |n: i64, mut next: usize, per: usize| -> Result<_, String> {
            let mut items = Vec::with_capacity(n.max(0) as usize * per);
            for _ in 0..n * per as i64 {
                match at(buf, next)? {
                    None => return Ok(None),
                    Some((r, nn)) => {
                        items.push(r);
                        next = nn;
                    }
                }
            }
            Ok(Some((items, next)))
        };
        let reply = match tag {
            b'+' => (Reply::Status(text(l)?), next),
            b'-' => (Reply::Error(text(l)?), next),
            b':' => (Reply::Int(num(l)?), next),
            b'_' => (Reply::Null, next),
            b',' => (Reply::Double(text(l)?), next),
            b'(' => (Reply::BigNumber(text(l)?), next),
            b'#' => (Reply::Bool(l == b"t"), next),
            b'$' | b'=' | b'!' => {
                let n = num(l)?;
                if n < 0 {
                    (Reply::NilBulk, next)
                } else {
                    let n = n as usize;
                    if buf.len() < next + n + 2 {
                        return Ok(None);
                    }
                    let data = buf[next..next + n].to_vec();
                    if &buf[next + n..next + n + 2] != b"\r\n" {
                        return Err("bulk string not terminated by CRLF".into());
                    }
                    let r = match tag {
                        b'$' => Reply::Bulk(data),
                        b'!' => Reply::Error(text(&data)?),
                        _ => {
                            if data.len() < 4 {
                                return Err("short verbatim string".into());
                            }
                            Reply::Verbatim(text(&data[..3])?, data[4..].to_vec())
                        }
                    };
                    (r, next + n + 2)
                }
            }
            b'*' | b'~' | b'>' => {
                let n = num(l)?;
                if n < 0 {
                    (Reply::NilArray, next)
                } else {
                    let Some((items, next)) = aggregate(n, next, 1)? else {
                        return Ok(None);
                    };
                    let r = match tag {
                        b'*' => Reply::Array(items),
                        b'~' => Reply::Set(items),
                        _ => Reply::Push(items),
                    };
                    (r, next)
                }
            }
            b'%' => {
                let n = num(l)?;
                let Some((items, next)) = aggregate(n, next, 2)? else {
                    return Ok(None);
                };
                let mut it = items.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                (Reply::Map(pairs), next)
            }
            other => return Err(format!("unknown RESP type byte {:?}", other as char)),
        };
        Ok(Some(reply))
    }
    at(buf, 0)
}

/// Encodes a command as a RESP multibulk.
pub fn encode_cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

// ---------------------------------------------------------------------------
// Raw connection
// ---------------------------------------------------------------------------

/// A plain TCP connection: send arbitrary bytes, read parsed replies.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// What a read ended with when the peer may close the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    Reply(Reply),
    Closed,
}

impl Raw {
    pub fn connect(addr: &str) -> Raw {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes bytes; write errors (peer already closed) are returned.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends one command as a multibulk and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(&encode_cmd(args)).expect("write command");
        self.read_reply()
    }

    /// Splits `line` on whitespace and sends it as a multibulk command.
    pub fn run(&mut self, line: &str) -> Reply {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.cmd(&args)
    }

    /// `run(line)` and assert the reply.
    #[track_caller]
    pub fn check(&mut self, line: &str, expected: Reply) {
        let got = self.run(line);
        assert_eq!(got, expected, "reply to {line:?}");
    }

    /// `cmd(args)` and assert the reply.
    #[track_caller]
    pub fn check_cmd<A: AsRef<[u8]>>(&mut self, args: &[A], expected: Reply) {
        let got = self.cmd(args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            .collect();
        assert_eq!(got, expected, "reply to {shown:?}");
    }

    /// Sends one inline command line (CRLF appended) and reads its reply.
    pub fn inline(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes())
            .expect("write inline command");
        self.read_reply()
    }

    /// Reads one reply, panicking on EOF, timeout or malformed data.
    pub fn read_reply(&mut self) -> Reply {
        match self.read_reply_or_close() {
            ReadEnd::Reply(r) => r,
            ReadEnd::Closed => panic!(
                "connection closed while waiting for a reply (buffered: {:?})",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads one reply or notices the peer closed the connection (EOF or
    /// reset). Panics on timeout.
    pub fn read_reply_or_close(&mut self) -> ReadEnd {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((r, used))) => {
                    self.buf.drain(..used);
                    return ReadEnd::Reply(r);
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "malformed reply: {e}; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return ReadEnd::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return ReadEnd::Closed
                }
                Err(e) => panic!(
                    "read failed ({e}) while waiting for a reply; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// Asserts that the server closes the connection without sending any
    /// more data (bounded by the read timeout).
    pub fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected extra data: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        match self.read_reply_or_close() {
            ReadEnd::Closed => {}
            ReadEnd::Reply(r) => panic!("expected the connection to close, got {r:?}"),
        }
    }

    /// Reads exactly `n` replies.
    pub fn read_replies(&mut self, n: usize) -> Vec<Reply> {
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// Raw bytes received so far but not yet parsed.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

// Short reply constructors for table-style assertions.
pub fn ok() -> Reply {
    Reply::ok()
}
pub fn nil() -> Reply {
    Reply::NilBulk
}
pub fn int(i: i64) -> Reply {
    Reply::Int(i)
}
pub fn bulk(s: impl AsRef<[u8]>) -> Reply {
    Reply::bulk(s)
}
pub fn err(s: &str) -> Reply {
    Reply::err(s)
}
pub fn status(s: &str) -> Reply {
    Reply::status(s)
}
pub fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}
/// The standard wrong-arity error.
pub fn arity_err(cmd: &str) -> Reply {
    Reply::Error(format!(
        "ERR wrong number of arguments for '{}' command",
        cmd.to_lowercase()
    ))
}
/// The "invalid expire time" error for `cmd`.
pub fn expire_err(cmd: &str) -> Reply {
    Reply::Error(format!("ERR invalid expire time in '{cmd}' command"))
}
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";

/// Runs `cmd` to completion with stdout and stderr captured (combined),
/// killing it and panicking if it outlives `deadline`.
pub fn run_to_exit(cmd: &mut Command, deadline: Duration) -> (ExitStatus, String) {
    let dir = scratch_dir("run");
    let out = dir.join("output.log");
    let f = File::create(&out).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .expect("spawn");
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} still running after {deadline:?}; output:\n{}",
                fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = fs::read_to_string(&out).unwrap_or_default();
    let _ = fs::remove_dir_all(&dir);
    (status, text)
}

/// Sends a signal to a process with the `kill` utility.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

// ---------------------------------------------------------------------------
// Replication helpers
// ---------------------------------------------------------------------------

impl Server {
    /// Starts a replica of `primary` with `--replicaof 127.0.0.1 <port>` (two argv entries, as
    /// redis-server takes them) followed by `extra`.
    pub fn start_replica_of(threads: usize, primary: &Server, extra: &[&str]) -> Server {
        let port = primary.port.to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
        args.extend_from_slice(extra);
        Server::start(threads, &args)
    }

    /// `DEBUG DIGEST` over a fresh (authenticated) connection.
    pub fn digest(&self) -> Reply {
        self.raw_authed().run("DEBUG DIGEST")
    }

    /// Freezes the process with SIGSTOP (SIGKILL on drop still works on a stopped process).
    pub fn stop_process(&self) {
        send_signal(self.pid().expect("server is running"), "STOP");
        let pid = self.pid().unwrap();
        wait_for("the process to stop", Duration::from_secs(5), || {
            (process_state(pid) == Some('T')).then_some(())
        });
    }

    /// Resumes a process frozen by `stop_process`.
    pub fn continue_process(&self) {
        send_signal(self.pid().expect("server is running"), "CONT");
    }

    /// The process state letter from /proc (`T` when stopped), None when it is gone.
    pub fn process_state(&self) -> Option<char> {
        process_state(self.pid()?)
    }
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T` for stopped, ...).
pub fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": comm may contain spaces and parentheses, the state follows the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// The text of `INFO <section>` (with the password when the server has one).
pub fn info_text(s: &Server, section: &str) -> String {
    match s.raw_authed().cmd(&["INFO", section]) {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8(b).expect("INFO is UTF-8"),
        other => panic!("INFO {section} replied {other:?}"),
    }
}

/// One `name:value` field of an INFO text.
pub fn field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == name).then(|| v.trim_end().to_string())
    })
}

/// An integer INFO field; panics with the whole section when it is missing.
pub fn int_field(s: &Server, section: &str, name: &str) -> i64 {
    let text = info_text(s, section);
    field(&text, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no integer {name}:\n{text}"))
}

/// Mixed data in several dbs: every type, small and large encodings, streams with a consumer
/// group and a pending entry, TTLs.
pub fn load_mixed(primary: &Server) {
    let mut r = primary.raw();
    for db in ["0", "2", "9"] {
        r.check_cmd(&["SELECT", db], ok());
        for i in 0..200 {
            let (k, v) = (format!("str:{db}:{i}"), format!("value-{i}"));
            r.check_cmd(&["SET", &k, &v], ok());
        }
        r.check_cmd(&["SET", "int", "12345"], ok());
        r.check_cmd(&["SET", "long", &"x".repeat(5000)], ok());
        r.check_cmd(&["RPUSH", "list", "a", "b", "c"], int(3));
        for i in 0..300 {
            let v = format!("element-{i}-{}", "y".repeat(40));
            r.check_cmd(&["RPUSH", "biglist", &v], int(i + 1));
        }
        r.check_cmd(&["SADD", "intset", "1", "2", "3"], int(3));
        for i in 0..600 {
            r.check_cmd(&["SADD", "bigset", &format!("member-{i}")], int(1));
        }
        r.check_cmd(&["HSET", "hash", "f1", "v1", "f2", "v2"], int(2));
        for i in 0..200 {
            let f = format!("field-{i}");
            r.check_cmd(&["HSET", "bighash", &f, &"z".repeat(70)], int(1));
        }
        r.check_cmd(&["ZADD", "zset", "1", "a", "2.5", "b"], int(2));
        for i in 0..200 {
            let (score, m) = (i.to_string(), format!("m{i}"));
            r.check_cmd(&["ZADD", "bigzset", &score, &m], int(1));
        }
        r.check_cmd(&["XADD", "stream", "1-1", "f", "v"], bulk("1-1"));
        r.check_cmd(&["XADD", "stream", "2-1", "f", "w"], bulk("2-1"));
        r.check_cmd(&["XGROUP", "CREATE", "stream", "group", "0"], ok());
        let read = r.cmd(&[
            "XREADGROUP",
            "GROUP",
            "group",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "stream",
            ">",
        ]);
        assert!(!read.is_error(), "XREADGROUP: {read:?}");
        r.check_cmd(&["SET", "ttl", "soon-or-later", "EX", "100000"], ok());
        r.check_cmd(&["HSET", "ttlhash", "f", "v"], int(1));
        r.check_cmd(&["PEXPIRE", "ttlhash", "500000"], int(1));
    }
}
