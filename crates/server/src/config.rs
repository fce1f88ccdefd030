//! Startup configuration: command-line flags (redis-server's names) over an optional redis.conf-style file.

use crate::output_limits::{ClassLimit, OutputClass};
use crate::units::parse_memory;
use clap::Parser;
use std::path::PathBuf;

/// SCAN cursors keep the shard index in 10 bits.
pub const MAX_THREADS: usize = 1024;

/// The flags as given on the command line; `None` means "not given here" so a config file value can apply.
#[derive(Parser, Debug, Default)]
#[command(
    name = "damselfly",
    version,
    about = "A Redis-compatible, thread-per-core in-memory data store"
)]
pub struct Args {
    /// Optional config file in redis.conf syntax; flags given on the command line override it.
    pub config_file: Option<PathBuf>,
    /// TCP port to listen on.
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (repeatable); default: all interfaces.
    #[arg(long, num_args = 1..)]
    pub bind: Vec<String>,
    /// Number of shards (one pinned executor each); default: every CPU this process may use.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Password clients must give with AUTH.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Number of logical databases.
    #[arg(long)]
    pub databases: Option<usize>,
    /// debug, verbose, notice or warning.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Log to this file instead of standard output.
    #[arg(long)]
    pub logfile: Option<String>,
    /// yes or no: refuse non-loopback clients when no password and no bind address is set.
    #[arg(long)]
    pub protected_mode: Option<String>,
    /// Memory limit in bytes (accepts 100mb, 1gb...); reported by INFO and CONFIG GET.
    #[arg(long)]
    pub maxmemory: Option<String>,
    /// Working directory for snapshot files.
    #[arg(long)]
    pub dir: Option<String>,
    /// Snapshot file name.
    #[arg(long)]
    pub dbfilename: Option<String>,
    /// Replicate this primary: `host port` or `host:port`.
    #[arg(long, num_args = 1..=2, value_names = ["HOST", "PORT"])]
    pub replicaof: Vec<String>,
    /// The old name of --replicaof.
    #[arg(long, num_args = 1..=2, value_names = ["HOST", "PORT"])]
    pub slaveof: Vec<String>,
    /// Password to send to a primary that requires one.
    #[arg(long)]
    pub masterauth: Option<String>,
    /// yes or no: whether a replica refuses writes from clients (default yes).
    #[arg(long)]
    pub replica_read_only: Option<String>,
    /// Seconds without traffic after which a replication link is considered dead (default 60).
    #[arg(long)]
    pub repl_timeout: Option<u64>,
    /// Seconds between the PINGs a primary sends down an idle Redis-format replication stream
    /// (default 10).
    #[arg(long, alias = "repl-ping-slave-period")]
    pub repl_ping_replica_period: Option<u64>,
    /// Total bytes of recent journal kept for partial resynchronization (default 16mb).
    #[arg(long)]
    pub repl_backlog_size: Option<String>,
    /// Seconds without redis-server replicas after which the Redis-format stream and its backlog
    /// are dropped (default 3600; 0: never).
    #[arg(long)]
    pub repl_backlog_ttl: Option<u64>,
    /// Refuse writes while fewer replicas than this acknowledged recently (default 0: off).
    #[arg(long, alias = "min-slaves-to-write")]
    pub min_replicas_to_write: Option<u64>,
    /// Seconds within which a replica must have acknowledged to count (default 10).
    #[arg(long, alias = "min-slaves-max-lag")]
    pub min_replicas_max_lag: Option<u64>,
    /// Sentinel promotes the replica with the lowest priority; 0: never promote this one (default 100).
    #[arg(long, alias = "slave-priority")]
    pub replica_priority: Option<u64>,
    /// yes or no: whether Sentinel lists this replica in SENTINEL REPLICAS (default yes).
    #[arg(long)]
    pub replica_announced: Option<String>,
    /// The address a replica asks its primary to list it under (INFO slaveN ip=, which Sentinel
    /// uses to reach it); default: the address it connected from.
    #[arg(long, alias = "slave-announce-ip")]
    pub replica_announce_ip: Option<String>,
    /// The port a replica asks its primary to list it under; default 0: its --port.
    #[arg(long, alias = "slave-announce-port")]
    pub replica_announce_port: Option<u16>,
    /// Entries per list node (positive) or node size limit (-1..-5: 4..64 KiB); default -2.
    #[arg(long, allow_hyphen_values = true)]
    pub list_max_listpack_size: Option<String>,
    /// Largest hash kept as a listpack, in fields (default 128).
    #[arg(long)]
    pub hash_max_listpack_entries: Option<String>,
    /// Longest field or value a listpack hash may hold (default 64).
    #[arg(long)]
    pub hash_max_listpack_value: Option<String>,
    /// Largest all-integer set kept as an intset (default 512).
    #[arg(long)]
    pub set_max_intset_entries: Option<String>,
    /// Largest sorted set kept as a listpack, in members (default 128).
    #[arg(long)]
    pub zset_max_listpack_entries: Option<String>,
    /// Longest member a listpack sorted set may hold (default 64).
    #[arg(long)]
    pub zset_max_listpack_value: Option<String>,
    /// Bytes per stream node (default 4096).
    #[arg(long)]
    pub stream_node_max_bytes: Option<String>,
    /// Entries per stream node (default 100).
    #[arg(long)]
    pub stream_node_max_entries: Option<String>,
    /// `<class> <hard> <soft> <soft seconds>` (repeatable; classes normal, replica, pubsub): close a
    /// client whose unsent output passes the hard limit or stays past the soft one that long.
    #[arg(long, num_args = 1..)]
    pub client_output_buffer_limit: Vec<String>,
    /// Most clients connected at once (default 10000); lowered when the open files limit is too low.
    #[arg(long)]
    pub maxclients: Option<String>,
    /// Close a client idle this many seconds (default 0: never).
    #[arg(long)]
    pub timeout: Option<String>,
    /// Seconds of silence before TCP keepalive probes a client (default 300; 0: off).
    #[arg(long)]
    pub tcp_keepalive: Option<String>,
    /// Largest bulk string a client may send or a string may grow to (default 512mb).
    #[arg(long)]
    pub proto_max_bulk_len: Option<String>,
    /// Close a client whose unparsed input passes this many bytes (default 1gb).
    #[arg(long)]
    pub client_query_buffer_limit: Option<String>,
}

/// Sets an encoding threshold (`hash-max-listpack-entries`... or its `ziplist` alias) from text.
pub fn set_threshold(name: &str, value: &str) -> Result<(), String> {
    let (threshold, value) = parse_threshold(name, value)?;
    threshold.set(value);
    Ok(())
}

/// Validates a threshold assignment without applying it.
pub fn parse_threshold(
    name: &str,
    value: &str,
) -> Result<(&'static damselfly_storage::config::Threshold, i64), String> {
    let threshold = damselfly_storage::config::find(name)
        .ok_or_else(|| format!("unknown parameter '{name}'"))?;
    let parsed = match value.parse::<i64>() {
        Ok(number) => number,
        Err(_) => i64::try_from(parse_memory(value)?).map_err(|_| "value is out of range")?,
    };
    if parsed < threshold.min || parsed > threshold.max {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            threshold.min, threshold.max
        ));
    }
    Ok((threshold, parsed))
}

/// The effective configuration after merging file and flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub bind_given: bool,
    pub threads: Option<usize>,
    pub requirepass: Option<String>,
    pub databases: usize,
    pub loglevel: String,
    pub logfile: Option<String>,
    pub protected_mode: bool,
    pub maxmemory: u64,
    pub dir: String,
    pub dbfilename: String,
    pub config_file: Option<PathBuf>,
    /// The primary to replicate at start, if any.
    pub replicaof: Option<(String, u16)>,
    pub masterauth: Option<String>,
    pub replica_read_only: bool,
    pub repl_timeout_secs: u64,
    pub repl_ping_replica_period_secs: u64,
    pub repl_backlog_size: u64,
    pub repl_backlog_ttl_secs: u64,
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// Reported to Sentinel in INFO replication as `slave_priority` (Redis's replica-priority).
    pub replica_priority: u64,
    /// Reported to Sentinel in INFO replication as `replica_announced`.
    pub replica_announced: bool,
    /// replica-announce-ip (None: unset) and replica-announce-port (0: unset) at start.
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
    /// client-output-buffer-limit settings, in the order given (later ones win).
    pub output_limits: Vec<(OutputClass, ClassLimit)>,
    /// maxclients as configured (the open files limit may lower what is used).
    pub maxclients: u64,
    /// timeout: idle seconds before a client is closed (0: never).
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub client_query_buffer_limit: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 6379,
            bind: vec!["0.0.0.0".to_string()],
            bind_given: false,
            threads: None,
            requirepass: None,
            databases: 16,
            loglevel: "notice".to_string(),
            logfile: None,
            protected_mode: true,
            maxmemory: 0,
            dir: ".".to_string(),
            dbfilename: "dump.rdb".to_string(),
            config_file: None,
            replicaof: None,
            masterauth: None,
            replica_read_only: true,
            repl_timeout_secs: 60,
            repl_ping_replica_period_secs: 10,
            repl_backlog_size: 16 << 20,
            repl_backlog_ttl_secs: 3600,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            replica_priority: 100,
            replica_announced: true,
            replica_announce_ip: None,
            replica_announce_port: 0,
            output_limits: Vec::new(),
            maxclients: 10_000,
            timeout: 0,
            tcp_keepalive: 300,
            client_query_buffer_limit: 1 << 30,
        }
    }
}

impl Config {
    /// Builds the configuration: defaults, then the config file, then command-line flags.
    pub fn load(args: Args) -> Result<Config, String> {
        let mut config = Config::default();
        if let Some(path) = &args.config_file {
            let text = std::fs::read_to_string(path).map_err(|err| {
                format!(
                    "Fatal error, can't open config file '{}': {err}",
                    path.display()
                )
            })?;
            for (number, line) in text.lines().enumerate() {
                config.apply_file_line(line).map_err(|err| {
                    format!(
                        "*** FATAL CONFIG FILE ERROR *** line {}: '{line}': {err}",
                        number + 1
                    )
                })?;
            }
            config.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()));
        }
        config.apply_args(args)?;
        Ok(config)
    }

    fn apply_args(&mut self, args: Args) -> Result<(), String> {
        if let Some(port) = args.port {
            self.port = port;
        }
        if !args.bind.is_empty() {
            self.set_bind(
                args.bind
                    .iter()
                    .flat_map(|b| b.split_whitespace())
                    .map(str::to_string)
                    .collect(),
            );
        }
        if args.threads.is_some() {
            self.threads = args.threads;
        }
        if let Some(password) = args.requirepass {
            self.requirepass = (!password.is_empty()).then_some(password);
        }
        if let Some(databases) = args.databases {
            self.databases = databases;
        }
        if let Some(level) = args.loglevel {
            self.loglevel = level;
        }
        if let Some(file) = args.logfile {
            self.logfile = (!file.is_empty()).then_some(file);
        }
        if let Some(value) = args.protected_mode {
            self.protected_mode = parse_yes_no(&value)?;
        }
        if let Some(value) = args.maxmemory {
            self.maxmemory = parse_memory(&value)?;
        }
        if let Some(dir) = args.dir {
            self.dir = dir;
        }
        if let Some(name) = args.dbfilename {
            self.dbfilename = name;
        }
        for words in [&args.slaveof, &args.replicaof] {
            if !words.is_empty() {
                self.replicaof = parse_primary_address(words)?;
            }
        }
        if let Some(password) = args.masterauth {
            self.masterauth = (!password.is_empty()).then_some(password);
        }
        if let Some(value) = args.replica_read_only {
            self.replica_read_only = parse_yes_no(&value)?;
        }
        if let Some(seconds) = args.repl_timeout {
            self.repl_timeout_secs = seconds;
        }
        if let Some(seconds) = args.repl_ping_replica_period {
            self.repl_ping_replica_period_secs = seconds;
        }
        if let Some(size) = args.repl_backlog_size {
            self.repl_backlog_size = parse_memory(&size)?;
        }
        if let Some(seconds) = args.repl_backlog_ttl {
            self.repl_backlog_ttl_secs = seconds;
        }
        if let Some(count) = args.min_replicas_to_write {
            self.min_replicas_to_write = count;
        }
        if let Some(seconds) = args.min_replicas_max_lag {
            self.min_replicas_max_lag = seconds;
        }
        if let Some(priority) = args.replica_priority {
            self.replica_priority = priority;
        }
        if let Some(value) = args.replica_announced {
            self.replica_announced = parse_yes_no(&value)?;
        }
        if let Some(ip) = args.replica_announce_ip {
            self.replica_announce_ip = (!ip.is_empty()).then_some(ip);
        }
        if let Some(port) = args.replica_announce_port {
            self.replica_announce_port = port;
        }
        if !args.client_output_buffer_limit.is_empty() {
            self.add_output_limits(&args.client_output_buffer_limit)?;
        }
        let limits = [
            ("maxclients", ClientLimit::MaxClients, args.maxclients),
            ("timeout", ClientLimit::Timeout, args.timeout),
            (
                "tcp-keepalive",
                ClientLimit::TcpKeepalive,
                args.tcp_keepalive,
            ),
            (
                "client-query-buffer-limit",
                ClientLimit::QueryBufferLimit,
                args.client_query_buffer_limit,
            ),
        ];
        for (name, limit, value) in limits {
            if let Some(value) = value {
                self.set_client_limit(limit, &value)
                    .map_err(|err| format!("{name}: {err}"))?;
            }
        }
        let thresholds = [
            ("list-max-listpack-size", args.list_max_listpack_size),
            ("hash-max-listpack-entries", args.hash_max_listpack_entries),
            ("hash-max-listpack-value", args.hash_max_listpack_value),
            ("set-max-intset-entries", args.set_max_intset_entries),
            ("zset-max-listpack-entries", args.zset_max_listpack_entries),
            ("zset-max-listpack-value", args.zset_max_listpack_value),
            ("stream-node-max-bytes", args.stream_node_max_bytes),
            ("stream-node-max-entries", args.stream_node_max_entries),
            ("proto-max-bulk-len", args.proto_max_bulk_len),
        ];
        for (name, value) in thresholds {
            if let Some(value) = value {
                set_threshold(name, &value).map_err(|err| format!("{name}: {err}"))?;
            }
        }
        self.validate()
    }

    fn validate(&self) -> Result<(), String> {
        if self.databases == 0 {
            return Err("databases must be at least 1".to_string());
        }
        if self
            .threads
            .is_some_and(|threads| threads == 0 || threads > MAX_THREADS)
        {
            return Err(format!("--threads must be between 1 and {MAX_THREADS}"));
        }
        if !matches!(
            self.loglevel.as_str(),
            "debug" | "verbose" | "notice" | "warning"
        ) {
            return Err(format!("Invalid loglevel '{}'", self.loglevel));
        }
        if self.repl_ping_replica_period_secs == 0 {
            return Err("repl-ping-replica-period must be at least 1 second".to_string());
        }
        if self.repl_timeout_secs == 0 {
            return Err("repl-timeout must be at least 1 second".to_string());
        }
        // Redis keeps replica-priority in an int; Sentinel compares it as one.
        if self.replica_priority > i32::MAX as u64 {
            return Err("replica-priority must be between 0 and 2147483647".to_string());
        }
        if self.dbfilename.is_empty() || self.dbfilename.contains('/') {
            return Err("dbfilename can't be a path, just a filename".to_string());
        }
        if !std::path::Path::new(&self.dir).is_dir() {
            return Err(format!(
                "Can't chdir to '{}': No such file or directory",
                self.dir
            ));
        }
        Ok(())
    }

    /// Adds `client-output-buffer-limit` groups, given as separate words or as quoted groups.
    fn add_output_limits(&mut self, values: &[String]) -> Result<(), String> {
        let words: Vec<&str> = values.iter().flat_map(|v| v.split_whitespace()).collect();
        let limits = crate::output_limits::parse(&words).map_err(str::to_string)?;
        self.output_limits.extend(limits);
        Ok(())
    }

    /// Sets one of the client limits from text.
    fn set_client_limit(&mut self, limit: ClientLimit, value: &str) -> Result<(), String> {
        let value = limit.parse(value)?;
        match limit {
            ClientLimit::MaxClients => self.maxclients = value,
            ClientLimit::Timeout => self.timeout = value,
            ClientLimit::TcpKeepalive => self.tcp_keepalive = value,
            ClientLimit::QueryBufferLimit => self.client_query_buffer_limit = value,
        }
        Ok(())
    }

    fn set_bind(&mut self, addresses: Vec<String>) {
        self.bind = addresses;
        self.bind_given = true;
    }

    /// Applies one redis.conf line such as `port 6380` or `bind 127.0.0.1 ::1`.
    fn apply_file_line(&mut self, line: &str) -> Result<(), String> {
        let words = split_config_words(line)?;
        let Some((name, values)) = words.split_first() else {
            return Ok(());
        };
        let single = || -> Result<&str, String> {
            match values {
                [value] => Ok(value.as_str()),
                _ => Err("wrong number of arguments".to_string()),
            }
        };
        let name = name.to_ascii_lowercase();
        if let Some(limit) = ClientLimit::of(&name) {
            return self.set_client_limit(limit, single()?);
        }
        match name.as_str() {
            "port" => self.port = parse_number(single()?, "port")?,
            "bind" => self.set_bind(values.to_vec()),
            "threads" => self.threads = Some(parse_number(single()?, "threads")?),
            "requirepass" => {
                let password = single()?;
                self.requirepass = (!password.is_empty()).then(|| password.to_string());
            }
            "databases" => self.databases = parse_number(single()?, "databases")?,
            "loglevel" => self.loglevel = single()?.to_string(),
            "logfile" => {
                let file = single()?;
                self.logfile = (!file.is_empty()).then(|| file.to_string());
            }
            "protected-mode" => self.protected_mode = parse_yes_no(single()?)?,
            "maxmemory" => self.maxmemory = parse_memory(single()?)?,
            "dir" => self.dir = single()?.to_string(),
            "dbfilename" => self.dbfilename = single()?.to_string(),
            "replicaof" | "slaveof" => self.replicaof = parse_primary_address(values)?,
            "masterauth" => {
                let password = single()?;
                self.masterauth = (!password.is_empty()).then(|| password.to_string());
            }
            "replica-read-only" | "slave-read-only" => {
                self.replica_read_only = parse_yes_no(single()?)?
            }
            "repl-timeout" => self.repl_timeout_secs = parse_number(single()?, "repl-timeout")?,
            "repl-ping-replica-period" | "repl-ping-slave-period" => {
                self.repl_ping_replica_period_secs =
                    parse_number(single()?, "repl-ping-replica-period")?
            }
            "repl-backlog-size" => self.repl_backlog_size = parse_memory(single()?)?,
            "repl-backlog-ttl" => {
                self.repl_backlog_ttl_secs = parse_number(single()?, "repl-backlog-ttl")?
            }
            "min-replicas-to-write" | "min-slaves-to-write" => {
                self.min_replicas_to_write = parse_number(single()?, "min-replicas-to-write")?
            }
            "min-replicas-max-lag" | "min-slaves-max-lag" => {
                self.min_replicas_max_lag = parse_number(single()?, "min-replicas-max-lag")?
            }
            "replica-priority" | "slave-priority" => {
                self.replica_priority = parse_number(single()?, "replica-priority")?
            }
            "replica-announced" => self.replica_announced = parse_yes_no(single()?)?,
            "replica-announce-ip" | "slave-announce-ip" => {
                let ip = single()?;
                self.replica_announce_ip = (!ip.is_empty()).then(|| ip.to_string());
            }
            "replica-announce-port" | "slave-announce-port" => {
                self.replica_announce_port = parse_number(single()?, "replica-announce-port")?
            }
            "client-output-buffer-limit" => self.add_output_limits(values)?,
            other if damselfly_storage::config::find(other).is_some() => {
                set_threshold(other, single()?)?
            }
            other => tracing::warn!("ignoring unsupported config directive '{other}'"),
        }
        Ok(())
    }
}

/// The limits on clients that are numbers (flags, config-file directives, CONFIG GET/SET),
/// recognised by name once and carried as this from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLimit {
    MaxClients,
    Timeout,
    TcpKeepalive,
    QueryBufferLimit,
}

impl ClientLimit {
    pub fn of(name: &str) -> Option<ClientLimit> {
        match name {
            "maxclients" => Some(ClientLimit::MaxClients),
            "timeout" => Some(ClientLimit::Timeout),
            "tcp-keepalive" => Some(ClientLimit::TcpKeepalive),
            "client-query-buffer-limit" => Some(ClientLimit::QueryBufferLimit),
            _ => None,
        }
    }

    /// The value, or Redis's CONFIG SET reason for refusing it (Redis's range for the setting;
    /// the query buffer limit takes memory units).
    pub fn parse(self, value: &str) -> Result<u64, String> {
        let (min, max) = match self {
            ClientLimit::MaxClients => (1, u64::from(u32::MAX)),
            ClientLimit::Timeout | ClientLimit::TcpKeepalive => (0, i32::MAX as u64),
            ClientLimit::QueryBufferLimit => (1 << 20, i64::MAX as u64),
        };
        let unparsable = || "argument couldn't be parsed into an integer".to_string();
        let number = if self == ClientLimit::QueryBufferLimit {
            parse_memory(value).map_err(|_| unparsable())?
        } else {
            let number: i64 = value.parse().map_err(|_| unparsable())?;
            u64::try_from(number).unwrap_or(u64::MAX)
        };
        if number < min || number > max {
            return Err(format!(
                "argument must be between {min} and {max} inclusive"
            ));
        }
        Ok(number)
    }
}

/// `host port`, `host:port` (the last colon splits, so IPv6 literals work) or `no one`.
pub fn parse_primary_address<S: AsRef<str>>(words: &[S]) -> Result<Option<(String, u16)>, String> {
    let bad_port = || "Invalid master port".to_string();
    match words {
        [host, port]
            if host.as_ref().eq_ignore_ascii_case("no")
                && port.as_ref().eq_ignore_ascii_case("one") =>
        {
            Ok(None)
        }
        [host, port] => Ok(Some((
            host.as_ref().to_string(),
            port.as_ref().parse().map_err(|_| bad_port())?,
        ))),
        [address] => {
            let (host, port) = address.as_ref().rsplit_once(':').ok_or_else(bad_port)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Ok(Some((
                host.to_string(),
                port.parse().map_err(|_| bad_port())?,
            )))
        }
        _ => Err("wrong number of arguments".to_string()),
    }
}

/// Splits a config line into words, honouring double and single quotes; comments start with `#`.
fn split_config_words(line: &str) -> Result<Vec<String>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            let mut closed = false;
            for next in chars.by_ref() {
                if next == c {
                    closed = true;
                    break;
                }
                word.push(next);
            }
            if !closed {
                return Err("Unbalanced quotes in configuration line".to_string());
            }
        } else {
            while let Some(&next) = chars.peek() {
                if next.is_whitespace() {
                    break;
                }
                word.push(next);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}

/// A number given to the config directive `name`, or Redis's "Invalid <name>".
fn parse_number<T: std::str::FromStr>(value: &str, name: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("Invalid {name}"))
}

pub fn parse_yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_apply_and_flags_override_them() {
        let mut config = Config::default();
        config.apply_file_line("port 7000").unwrap();
        config.apply_file_line("# a comment").unwrap();
        config.apply_file_line("bind 127.0.0.1 ::1").unwrap();
        config.apply_file_line("requirepass \"se cret\"").unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(config.requirepass.as_deref(), Some("se cret"));
        config
            .apply_args(Args {
                port: Some(7001),
                ..Args::default()
            })
            .unwrap();
        assert_eq!(config.port, 7001);
    }

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("100").unwrap(), 100);
        assert_eq!(parse_memory("1kb").unwrap(), 1024);
        assert_eq!(parse_memory("1k").unwrap(), 1000);
        assert_eq!(parse_memory("2gb").unwrap(), 2 << 30);
        assert!(parse_memory("12xb").is_err());
    }

    #[test]
    fn primary_address_forms() {
        assert_eq!(
            parse_primary_address(&["10.0.0.1", "6380"]).unwrap(),
            Some(("10.0.0.1".to_string(), 6380))
        );
        assert_eq!(
            parse_primary_address(&["localhost:7000"]).unwrap(),
            Some(("localhost".to_string(), 7000))
        );
        assert_eq!(
            parse_primary_address(&["[::1]:7000"]).unwrap(),
            Some(("::1".to_string(), 7000))
        );
        assert_eq!(parse_primary_address(&["NO", "one"]).unwrap(), None);
        assert!(parse_primary_address(&["host", "port"]).is_err());
        assert!(parse_primary_address(&["host"]).is_err());
        let mut config = Config::default();
        config.apply_file_line("slaveof 127.0.0.1 7001").unwrap();
        assert_eq!(config.replicaof, Some(("127.0.0.1".to_string(), 7001)));
    }

    #[test]
    fn an_output_limit_flag_ends_at_the_next_flag() {
        let args = Args::try_parse_from([
            "damselfly",
            "--client-output-buffer-limit",
            "replica 4mb 2mb 60",
            "--repl-backlog-size",
            "256mb",
        ])
        .unwrap();
        let config = Config::load(args).unwrap();
        assert_eq!(config.output_limits.len(), 1);
        assert_eq!(config.repl_backlog_size, 256 << 20);
    }

    #[test]
    fn client_limits_follow_redis_ranges() {
        let bounds = ClientLimit::of("maxclients").unwrap();
        assert_eq!(bounds.parse("1"), Ok(1));
        assert!(bounds
            .parse("0")
            .unwrap_err()
            .contains("between 1 and 4294967295"));
        let bounds = ClientLimit::of("client-query-buffer-limit").unwrap();
        assert_eq!(bounds.parse("2mb"), Ok(2 << 20));
        assert!(ClientLimit::of("port").is_none());
        let mut config = Config::default();
        config.apply_file_line("timeout 30").unwrap();
        assert_eq!(config.timeout, 30);
        assert!(config.apply_file_line("tcp-keepalive -1").is_err());
    }

    #[test]
    fn bad_lines_are_errors() {
        let mut config = Config::default();
        assert!(config.apply_file_line("port abc").is_err());
        assert!(config.apply_file_line("requirepass \"open").is_err());
        assert!(config.apply_file_line("protected-mode maybe").is_err());
    }
}
