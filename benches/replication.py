#!/usr/bin/env python3
"""Replication benchmark: redis-server vs damselfly, one primary + one replica.

Measures the three targets of the replication work, for (a) a redis-server
7.0 primary with a redis-server replica and (b) a damselfly primary with a
damselfly replica:

1. Full sync.  The primary is filled with `DEBUG POPULATE <keys> key <size>`
   (default 1,000,000 keys of 100 bytes).  Then the replica is started with
   `--replicaof 127.0.0.1 <primary port>` (or, with `--attach command`, started
   empty and sent `REPLICAOF` at run time).  The clock starts when the replica
   process is spawned (or REPLICAOF is sent) and stops at the first poll (one
   INFO every ~10 ms) where the replica's INFO replication shows
   `master_link_status:up` and `master_sync_in_progress:0` and DBSIZE equals
   the key count.  Reported: wall seconds, and the CPU seconds (utime+stime
   from /proc/<pid>/stat, *including reaped children*: redis-server's
   diskless sync serialises the RDB in a forked child, which is reaped before
   the primary's CPU is read) the primary and the replica spent over the same
   interval.  Target: damselfly/redis wall-time ratio <= 0.5.

2. SET throughput with a replica.  `redis-benchmark -t set -r 100000 -c 50 -q`
   at `-P 16 -n 500000` and at `-P 1 -n 200000` against the primary, first on a
   fresh primary that never had a replica, then (same process, after the full
   sync above and a FLUSHALL) with the replica attached and in sync.  Every run
   starts from FLUSHALL.  After each run with a replica the script waits
   (`WAIT 1 <timeout>`) until the replica has caught up, and reports how long
   that took.  Target: rps with replica / rps without >= 0.9, per server.

3. SET + WAIT latency.  A Python client on a raw socket sends `SET k v` and
   `WAIT 1 0` in one write and reads both replies, 5000 times (after 200
   warm-up iterations); p50 / p99 / max of the per-iteration latency, in ms.
   Target: p99 <= 2 ms.

CPU placement (the machine has two cores, and the replica has to share one):

- core 0 (`--primary-cpu`): the primary, alone.  Its throughput and CPU cost
  per request are what the targets are about, so nothing else runs there.
- core 1 (`--client-cpu`): redis-benchmark, this script (it pins itself there:
  the INFO poller and the WAIT-latency client) and the replica
  (`--replica-cpu`, default = the client core).  In a deployment the replica
  is on another machine; here it competes with redis-benchmark for core 1,
  which can only lower the "with replica" rps, so the throughput ratio is a
  conservative (pessimistic) figure: when redis-benchmark saturates core 1
  (typical at -P 16) the rps ratio mostly measures the replica's CPU cost,
  not the primary's.  The table therefore also shows the primary's CPU µs per
  request with and without a replica and their quotient, the "capacity
  ratio" (µs/req without ÷ with): the throughput ratio a CPU-bound primary
  would see, independent of the client.  It also shows how busy core 1 was.
  During the full sync nothing else runs, so primary and replica each have a
  core of their own.
- the same placement is used for redis and damselfly.

Noise: a redis-benchmark run during which more than --max-other-load (10%) of
the primary's core was busy with something other than the primary (other
processes, irqs, steal; from /proc/stat) is re-run up to --retries times and
the least noisy attempt kept; the report warns when noise remains.

Redis configuration notes: the redis primary runs with
`--repl-diskless-sync-delay 0`; Redis 7.0's default (5 s) would add a fixed
5-second pause before the transfer starts, which measures a setting, not the
work.  Everything else is the 7.0 default: diskless sync on the primary
(forked child), disk-based load on the replica (the replica writes the RDB to
its working directory, then loads it).  Every server runs in a fresh private
working directory (so no stray dump.rdb is ever loaded); *.rdb files are
deleted at exit, logs are kept.

Rounds (`--rounds`, default 3) restart every server; the order of redis and
damselfly alternates per round.  Throughput and sync figures are medians over
rounds (min–max shown too); latency percentiles pool all rounds' samples.

Examples:

    python3 benches/replication.py --out /tmp/replication.md
    python3 benches/replication.py --only redis --rounds 1
    python3 benches/replication.py --damselfly /path/to/damselfly --keys 200000

A failure inside a round (a timeout, a hung WAIT, a server exiting) is
logged with the servers' state and listed in the report; that round's
remaining steps are skipped, the other rounds still run, and the exit status
is 1.

Standard library only.  Progress goes to stderr, the markdown report to
stdout (and to --out FILE).
"""

import argparse
import glob
import math
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# Helpers shared with the single-server benchmark next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from side_by_side import cpu_model, free_port, log  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DAMSELFLY = os.path.join(REPO_ROOT, "target", "release", "damselfly")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# {port} = this server's port, {binary} = the damselfly binary.  The replica
# gets "--replicaof 127.0.0.1 <primary port>" appended (unless --attach command).
REDIS_PRIMARY_CMD = ("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no "
                     "--enable-debug-command yes --repl-diskless-sync-delay 0")
REDIS_REPLICA_CMD = ("redis-server --port {port} --save '' --appendonly no "
                     "--enable-debug-command yes")
DAMSELFLY_PRIMARY_CMD = "{binary} --port {port} --bind 127.0.0.1 --threads 1"
DAMSELFLY_REPLICA_CMD = "{binary} --port {port} --bind 127.0.0.1 --threads 1"

SERVERS = ("redis", "damselfly")
BENCH_RUNS = (  # (pipeline, requests)
    (16, 500_000),
    (1, 200_000),
)

_servers = []  # every Server started, for cleanup


class BenchError(Exception):
    """A failure with a message meant for the user."""


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Replication benchmark: redis-server vs damselfly, primary + one replica "
                    "(full sync time, SET throughput with a replica, SET+WAIT latency).")
    p.add_argument("--damselfly", default=DEFAULT_DAMSELFLY, metavar="PATH",
                   help="damselfly binary (default: target/release/damselfly)")
    p.add_argument("--only", choices=SERVERS,
                   help="run only one side (e.g. --only redis to validate the harness)")
    p.add_argument("--keys", type=int, default=1_000_000, metavar="N",
                   help="keys for the full-sync test (default: %(default)s)")
    p.add_argument("--value-size", type=int, default=100, metavar="BYTES",
                   help="value size for DEBUG POPULATE (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds; every round restarts all servers (default: %(default)s)")
    p.add_argument("--attach", choices=("flag", "command"), default="flag",
                   help="how the replica is attached: 'flag' starts it with --replicaof "
                        "(clock starts at spawn), 'command' starts it empty and sends "
                        "REPLICAOF at run time (default: %(default)s)")
    p.add_argument("--wait-iterations", type=int, default=5000,
                   help="SET+WAIT iterations per round (default: %(default)s)")
    p.add_argument("--skip", default="", metavar="LIST",
                   help="comma-separated parts to skip: sync,throughput,wait "
                        "(the replica is still attached, so sync is always run, "
                        "but with --skip sync it is not reported)")
    p.add_argument("--primary-cpu", default="0", help="core for the primary (default: 0)")
    p.add_argument("--client-cpu", default="1",
                   help="core for redis-benchmark and this script (default: 1)")
    p.add_argument("--replica-cpu", default=None,
                   help="core for the replica (default: same as --client-cpu)")
    p.add_argument("--redis-benchmark", default="redis-benchmark", metavar="PATH")
    p.add_argument("--redis-primary-cmd", default=REDIS_PRIMARY_CMD, metavar="TEMPLATE",
                   help="default: %(default)s")
    p.add_argument("--redis-replica-cmd", default=REDIS_REPLICA_CMD, metavar="TEMPLATE",
                   help="default: %(default)s")
    p.add_argument("--damselfly-primary-cmd", default=DAMSELFLY_PRIMARY_CMD, metavar="TEMPLATE",
                   help="default: %(default)s")
    p.add_argument("--damselfly-replica-cmd", default=DAMSELFLY_REPLICA_CMD, metavar="TEMPLATE",
                   help="default: %(default)s")
    p.add_argument("--sync-timeout", type=float, default=300,
                   help="seconds allowed for a full sync (default: %(default)s)")
    p.add_argument("--catchup-timeout", type=float, default=120,
                   help="seconds allowed for the replica to catch up after a benchmark "
                        "(default: %(default)s)")
    p.add_argument("--bench-timeout", type=float, default=600,
                   help="seconds allowed per redis-benchmark run (default: %(default)s)")
    p.add_argument("--wait-timeout", type=float, default=10,
                   help="seconds one SET+WAIT iteration may take before the run is "
                        "declared hung (default: %(default)s)")
    p.add_argument("--max-other-load", type=float, default=0.10, metavar="FRACTION",
                   help="a benchmark run is noisy if more than this fraction of the primary's "
                        "core went to something else (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2,
                   help="re-run a noisy redis-benchmark run up to this many times, keeping "
                        "the least noisy attempt (default: %(default)s)")
    p.add_argument("--out", metavar="FILE", help="also write the markdown report to FILE")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    if args.keys < 1:
        p.error("--keys must be >= 1")
    if args.replica_cpu is None:
        args.replica_cpu = args.client_cpu
    args.skip_set = {s.strip() for s in args.skip.split(",") if s.strip()}
    bad = args.skip_set - {"sync", "throughput", "wait"}
    if bad:
        p.error("unknown --skip item(s): %s" % ", ".join(sorted(bad)))
    args.server_list = [args.only] if args.only else list(SERVERS)
    return args


# --------------------------------------------------------------------------
# Minimal RESP2 client
# --------------------------------------------------------------------------

class RespError(Exception):
    """An error reply (-ERR ...).  Returned by read_reply, raised by call."""


def encode_command(*words):
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        if isinstance(w, int):
            w = str(w)
        if isinstance(w, str):
            w = w.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=5.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _fill(self):
        if self.pos and self.pos == len(self.buf):
            self.buf.clear()
            self.pos = 0
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("port %d closed the connection" % self.port)
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise BenchError("port %d: unexpected RESP reply %r" % (self.port, line[:80]))

    def send(self, payload):
        self.sock.sendall(payload)

    def call(self, *words, allow_error=False):
        self.send(encode_command(*words))
        reply = self.read_reply()
        if isinstance(reply, RespError) and not allow_error:
            raise BenchError("port %d: %s -> -%s" % (self.port, " ".join(map(str, words)), reply))
        return reply


def parse_info(text):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    return fields


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

class Server:
    def __init__(self, name, template, cpu, workdir, extra=(), **subst):
        self.name = name
        self.port = free_port()
        cmd = template.format(port=self.port, **subst)
        self.argv = ["taskset", "-c", cpu] + shlex.split(cmd) + list(extra)
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "server.log")
        self.proc = None
        self.spawned_at = None

    def spawn(self):
        log_file = open(self.log_path, "wb")
        # taskset execs the server, so proc.pid is the server's own pid.
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        log_file.close()
        _servers.append(self)

    def start(self, ready_timeout=15.0):
        self.spawn()
        self.wait_ready(ready_timeout)
        log("  %s ready on port %d (pid %d): %s"
            % (self.name, self.port, self.proc.pid, shlex.join(self.argv)))

    def wait_ready(self, timeout):
        """Wait until the server answers PING (any reply, e.g. -LOADING, counts)."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with Conn(self.port, timeout=1.0) as c:
                    reply = c.call("PING", allow_error=True)
                    if reply == "PONG" or isinstance(reply, RespError):
                        return
                    last = reply
            except OSError as e:
                last = e
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise BenchError("%s did not answer PING within %gs (last: %r) (%s)\n%s"
                         % (self.name, timeout, last, shlex.join(self.argv), self.log_tail()))

    def check_alive(self):
        if self.proc.poll() is not None:
            raise BenchError("%s exited with status %s (%s)\n%s"
                             % (self.name, self.proc.returncode, shlex.join(self.argv),
                                self.log_tail()))

    def log_tail(self, lines=25):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join("    | " + l for l in text.splitlines()[-lines:])

    def conn(self, timeout=10.0):
        return Conn(self.port, timeout=timeout)

    def cpu_seconds(self):
        """utime+stime of the process (all threads) plus its reaped children."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            stat = f.read()
        # Field 2 (comm) may contain spaces; everything after the last ')' is safe.
        fields = stat[stat.rindex(")") + 2:].split()
        # utime, stime, cutime, cstime = fields 14..17 of proc(5)
        return sum(int(x) for x in fields[11:15]) / CLK_TCK

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def stop_all_servers():
    for s in _servers:
        try:
            s.stop()
        except Exception:  # best effort during shutdown
            pass


def remove_rdb_files(root):
    for path in glob.glob(os.path.join(root, "**", "*.rdb"), recursive=True):
        try:
            os.unlink(path)
        except OSError:
            pass


def install_signal_handlers():
    def on_signal(signum, _frame):
        stop_all_servers()
        sys.exit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)


def core_busy_seconds(core):
    """Non-idle time of one core (incl. irq and steal) from /proc/stat, or None."""
    if not core.isdigit():
        return None
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%s " % core):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]  # idle + iowait
                return (sum(v[:8]) - idle) / CLK_TCK
    return None


# --------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------

def server_commands(args, kind):
    if kind == "redis":
        return args.redis_primary_cmd, args.redis_replica_cmd, {}
    return (args.damselfly_primary_cmd, args.damselfly_replica_cmd,
            {"binary": shlex.quote(args.damselfly)})


def flushall(server):
    with server.conn() as c:
        reply = c.call("FLUSHALL")
        if reply != "OK":
            raise BenchError("%s: FLUSHALL replied %r" % (server.name, reply))


def populate(args, primary):
    t0 = time.monotonic()
    with primary.conn(timeout=max(60.0, args.keys / 10_000)) as c:
        c.call("FLUSHALL")
        c.call("DEBUG", "POPULATE", args.keys, "key", args.value_size)
        n = c.call("DBSIZE")
    if n != args.keys:
        raise BenchError("%s: DBSIZE after DEBUG POPULATE %d is %r"
                         % (primary.name, args.keys, n))
    log("  populated %d keys x %d B in %.2fs" % (args.keys, args.value_size,
                                                 time.monotonic() - t0))


def wait_child_reaped(server, timeout=15.0):
    """redis-server forks for a diskless full sync; wait until it has reaped the
    child, so its CPU shows up in cutime/cstime.  A server without the field
    (or with nothing in progress) returns at once."""
    deadline = time.monotonic() + timeout
    with server.conn() as c:
        while time.monotonic() < deadline:
            reply = c.call("INFO", "persistence", allow_error=True)
            info = {} if isinstance(reply, RespError) else parse_info(reply)
            if info.get("rdb_bgsave_in_progress", "0") == "0" and \
                    info.get("aof_rewrite_in_progress", "0") == "0":
                return
            time.sleep(0.01)
    log("  warning: %s still has a child process %.0fs after the sync; its CPU is not "
        "counted" % (server.name, timeout))


def full_sync(args, primary, replica, kind):
    """Attach the replica; return a dict with the sync figures."""
    primary_cpu0 = primary.cpu_seconds()
    busy0 = (core_busy_seconds(args.primary_cpu), core_busy_seconds(args.replica_cpu))
    if args.attach == "flag":
        replica.spawn()
        t0 = replica.spawned_at
        replica_cpu0 = 0.0
    else:
        replica.start()
        replica_cpu0 = replica.cpu_seconds()
        with replica.conn() as c:
            t0 = time.monotonic()
            reply = c.call("REPLICAOF", "127.0.0.1", primary.port, allow_error=True)
        if isinstance(reply, RespError):
            raise BenchError("%s: REPLICAOF 127.0.0.1 %d -> -%s"
                             % (replica.name, primary.port, reply))
    deadline = t0 + args.sync_timeout
    conn = None
    last = {}
    polls = 0
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                raise BenchError(
                    "%s replica did not finish the full sync of %d keys within %gs; "
                    "last INFO replication: %s\nreplica log:\n%s\nprimary log:\n%s"
                    % (kind, args.keys, args.sync_timeout,
                       {k: last.get(k) for k in ("role", "master_link_status",
                                                 "master_sync_in_progress", "dbsize")},
                       replica.log_tail(), primary.log_tail()))
            replica.check_alive()
            primary.check_alive()
            if conn is None:
                try:
                    conn = replica.conn(timeout=max(30.0, args.sync_timeout / 10))
                except OSError:
                    time.sleep(0.01)
                    continue
            polls += 1
            reply = conn.call("INFO", "replication", allow_error=True)
            if not isinstance(reply, RespError):
                last = parse_info(reply)
                if last.get("master_link_status") == "up" and \
                        last.get("master_sync_in_progress") == "0":
                    n = conn.call("DBSIZE", allow_error=True)
                    last["dbsize"] = n
                    if n == args.keys:
                        elapsed = time.monotonic() - t0
                        break
            time.sleep(0.01)
    finally:
        if conn is not None:
            conn.close()
    replica_cpu = replica.cpu_seconds() - replica_cpu0
    busy1 = (core_busy_seconds(args.primary_cpu), core_busy_seconds(args.replica_cpu))
    wall = time.monotonic() - t0
    wait_child_reaped(primary)
    primary_cpu = primary.cpu_seconds() - primary_cpu0
    # Busy time on the two cores not charged to primary / replica (the poller
    # included): other processes, irqs, steal.  Approximate (the primary's
    # child may be reaped a little later).
    other = float("nan")
    if None not in busy0 and None not in busy1:
        busy = (busy1[0] - busy0[0]) + (busy1[1] - busy0[1] if args.replica_cpu !=
                                        args.primary_cpu else 0)
        other = max(0.0, busy - primary_cpu - replica_cpu) / wall
    log("  full sync of %d keys: %.3fs wall, primary CPU %.3fs, replica CPU %.3fs (%d polls), "
        "other load on the two cores %.0f%% of one core"
        % (args.keys, elapsed, primary_cpu, replica_cpu, polls, 100 * other))
    return {"sync_s": elapsed, "primary_cpu_s": primary_cpu, "replica_cpu_s": replica_cpu,
            "other": other}


def wait_replica_caught_up(args, primary, replica):
    """Block until the replica has everything the primary has; return seconds."""
    t0 = time.monotonic()
    with primary.conn(timeout=args.catchup_timeout + 10) as c:
        # PING sets this connection's replication offset (Redis's c->woff) to
        # the primary's current offset; WAIT then waits for all prior writes.
        c.call("PING")
        acked = c.call("WAIT", 1, int(args.catchup_timeout * 1000))
        if acked != 1:
            raise BenchError("%s: WAIT 1 %d returned %r: the replica did not catch up"
                             % (primary.name, args.catchup_timeout * 1000, acked))
        want = c.call("DBSIZE")
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 10
    with replica.conn() as r:
        while True:
            got = r.call("DBSIZE")
            if got == want:
                break
            if time.monotonic() > deadline:
                raise BenchError("replica DBSIZE %r != primary DBSIZE %r after WAIT returned 1"
                                 % (got, want))
            time.sleep(0.01)
    return elapsed


def benchmark_argv(args, port, pipeline, n):
    return ["taskset", "-c", args.client_cpu, args.redis_benchmark,
            "-h", "127.0.0.1", "-p", str(port),
            "-t", "set", "-n", str(n), "-r", "100000", "-c", "50", "-P", str(pipeline), "-q"]


RPS_RE = re.compile(r"SET: ([0-9.]+) requests per second")


def run_benchmark(args, primary, pipeline, n):
    flushall(primary)
    argv = benchmark_argv(args, primary.port, pipeline, n)
    before = (time.monotonic(), primary.cpu_seconds(), core_busy_seconds(args.primary_cpu),
              core_busy_seconds(args.client_cpu))
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=args.bench_timeout, text=True)
    except subprocess.TimeoutExpired:
        raise BenchError("redis-benchmark did not finish within %gs: %s"
                         % (args.bench_timeout, shlex.join(argv)))
    after = (time.monotonic(), primary.cpu_seconds(), core_busy_seconds(args.primary_cpu),
             core_busy_seconds(args.client_cpu))
    primary.check_alive()
    m = RPS_RE.findall(proc.stdout)
    if proc.returncode != 0 or not m:
        raise BenchError("redis-benchmark failed against %s (rc=%d): %s\nstdout: %s\nstderr: %s"
                         % (primary.name, proc.returncode, shlex.join(argv),
                            proc.stdout.strip()[-500:], proc.stderr.strip()[-500:]))
    wall = after[0] - before[0]
    cpu = after[1] - before[1]
    res = {"rps": float(m[-1]), "cpu_us": cpu * 1e6 / n, "wall": wall}
    res["other_primary_core"] = (float("nan") if before[2] is None
                                 else max(0.0, after[2] - before[2] - cpu) / wall)
    res["client_core_busy"] = (float("nan") if before[3] is None
                               else (after[3] - before[3]) / wall)
    return res


def run_quiet(args, primary, pipeline, n):
    """run_benchmark, retried while something else used the primary's core."""
    best = run_benchmark(args, primary, pipeline, n)
    for _ in range(args.retries):
        if not best["other_primary_core"] > args.max_other_load:
            break
        log("  noisy run (%.0f%% other load on the primary's core), retrying SET P%d"
            % (100 * best["other_primary_core"], pipeline))
        r = run_benchmark(args, primary, pipeline, n)
        if r["other_primary_core"] < best["other_primary_core"]:
            best = r
    return best


def throughput_runs(args, primary, label, replica=None):
    out = {}
    for pipeline, n in BENCH_RUNS:
        r = run_quiet(args, primary, pipeline, n)
        if replica is not None:
            replica.check_alive()
            r["catchup_s"] = wait_replica_caught_up(args, primary, replica)
        out[pipeline] = r
        log("  SET P%-2d %-10s %10.0f rps  primary %6.3f us/req  other load on primary core "
            "%3.0f%%  client core busy %3.0f%%"
            % (pipeline, label, r["rps"], r["cpu_us"], 100 * max(0, r["other_primary_core"]),
               100 * r["client_core_busy"])
            + ("  replica caught up %.3fs after the run" % r["catchup_s"]
               if "catchup_s" in r else ""))
    return out


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    k = max(0, math.ceil(q * len(sorted_vals)) - 1)
    return sorted_vals[k]


def replication_state(server):
    """INFO replication of a server, for error messages (best effort)."""
    try:
        with server.conn(timeout=2.0) as c:
            info = parse_info(c.call("INFO", "replication"))
        keep = ("role", "connected_slaves", "slave0", "master_repl_offset", "master_link_status",
                "master_sync_in_progress", "slave_repl_offset")
        return ", ".join("%s=%s" % (k, info[k]) for k in keep if k in info)
    except (OSError, BenchError) as e:
        return "INFO replication failed: %s" % e


def wait_latency(args, primary, replica):
    """SET k v + WAIT 1 0 per iteration; returns per-iteration latencies in ms."""
    payload = encode_command("SET", "k", "v") + encode_command("WAIT", 1, 0)
    samples = []
    warmup = 200
    with primary.conn(timeout=args.wait_timeout) as c:
        for i in range(warmup + args.wait_iterations):
            t0 = time.perf_counter_ns()
            c.send(payload)
            try:
                r1 = c.read_reply()
                r2 = c.read_reply()
            except socket.timeout:
                raise BenchError("%s: SET + WAIT 1 0 got no reply within %gs (iteration %d); "
                                 "primary: %s; replica: %s"
                                 % (primary.name, args.wait_timeout, i,
                                    replication_state(primary), replication_state(replica)))
            t1 = time.perf_counter_ns()
            if r1 != "OK" or r2 != 1:
                raise BenchError("%s: SET + WAIT 1 0 replied %r, %r (iteration %d)"
                                 % (primary.name, r1, r2, i))
            if i >= warmup:
                samples.append((t1 - t0) / 1e6)
    s = sorted(samples)
    log("  SET+WAIT 1 0 x %d: p50 %.3f ms  p99 %.3f ms  max %.3f ms"
        % (len(s), percentile(s, 0.5), percentile(s, 0.99), s[-1]))
    return samples


def run_server_round(args, kind, rnd, rootdir):
    """One round for one server kind; returns a dict of results."""
    primary_tpl, replica_tpl, subst = server_commands(args, kind)
    base = os.path.join(rootdir, "r%d-%s" % (rnd, kind))
    primary = Server(kind + "-primary", primary_tpl, args.primary_cpu,
                     os.path.join(base, "primary"), **subst)
    extra = ["--replicaof", "127.0.0.1", str(primary.port)] if args.attach == "flag" else []
    replica = Server(kind + "-replica", replica_tpl, args.replica_cpu,
                     os.path.join(base, "replica"), extra=extra, **subst)
    res = {"primary_argv": primary.argv, "replica_argv": replica.argv}
    try:
        primary.start()
        if "throughput" not in args.skip_set:
            res["without"] = throughput_runs(args, primary, "no replica")
        populate(args, primary)
        res["sync"] = full_sync(args, primary, replica, kind)
        flushall(primary)
        wait_replica_caught_up(args, primary, replica)
        if "throughput" not in args.skip_set:
            res["with"] = throughput_runs(args, primary, "1 replica", replica)
        if "wait" not in args.skip_set:
            res["wait_ms"] = wait_latency(args, primary, replica)
    except BenchError as e:
        # Keep going: the other rounds / server still produce figures, and
        # the report lists the failure.
        log("error: round %d %s: %s" % (rnd + 1, kind, e))
        res["error"] = str(e)
    finally:
        replica.stop()
        primary.stop()
        remove_rdb_files(base)
    return res


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else float("nan")


def span(vals, fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    return (fmt + "–" + fmt) % (min(vals), max(vals))


def ratio(a, b):
    return a / b if b and not math.isnan(b) else float("nan")


def fmt(v, f):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f % v


def collect(results, kind, path):
    """Values of results[kind][round][path...] over rounds (missing -> None)."""
    out = []
    for res in results.get(kind, []):
        v = res
        for key in path:
            if not isinstance(v, dict) or key not in v:
                v = None
                break
            v = v[key]
        out.append(v)
    return [v for v in out if v is not None]


def report(args, results):
    kinds = args.server_list
    both = len(kinds) == 2
    lines = ["# Replication: damselfly vs redis-server (primary + 1 replica)", ""]
    head = "| Metric | " + " | ".join("%s (median)" % k for k in kinds)
    sep = "|---|" + "---:|" * len(kinds)
    if both:
        head += " | damselfly/redis"
        sep += "---:|"
    lines += [head + " |", sep]

    def row(label, path, f, show_ratio=True):
        vals = [med(collect(results, k, path)) for k in kinds]
        cells = [fmt(v, f) for v in vals]
        if both:
            cells.append(fmt(ratio(vals[1], vals[0]), "%.2fx") if show_ratio else "")
        lines.append("| %s | %s |" % (label, " | ".join(cells)))

    if "sync" not in args.skip_set:
        what = "%d keys × %d B" % (args.keys, args.value_size)
        row("Full sync wall time, %s (s)" % what, ("sync", "sync_s"), "%.3f")
        row("Full sync: primary CPU (s)", ("sync", "primary_cpu_s"), "%.3f")
        row("Full sync: replica CPU (s)", ("sync", "replica_cpu_s"), "%.3f")
    if "throughput" not in args.skip_set:
        for pipeline, n in BENCH_RUNS:
            row("SET P%d rps, no replica" % pipeline, ("without", pipeline, "rps"), "%.0f")
            row("SET P%d rps, 1 replica" % pipeline, ("with", pipeline, "rps"), "%.0f")
            row("SET P%d primary CPU µs/req, no replica" % pipeline,
                ("without", pipeline, "cpu_us"), "%.3f")
            row("SET P%d primary CPU µs/req, 1 replica" % pipeline,
                ("with", pipeline, "cpu_us"), "%.3f")
        for pipeline, _ in BENCH_RUNS:
            cells = []
            for k in kinds:
                w = med(collect(results, k, ("with", pipeline, "rps")))
                wo = med(collect(results, k, ("without", pipeline, "rps")))
                cells.append(fmt(ratio(w, wo), "%.3f"))
            if both:
                cells.append("")
            lines.append("| SET P%d rps ratio with/without replica | %s |"
                         % (pipeline, " | ".join(cells)))
        for pipeline, _ in BENCH_RUNS:
            cells = []
            for k in kinds:
                w = med(collect(results, k, ("with", pipeline, "cpu_us")))
                wo = med(collect(results, k, ("without", pipeline, "cpu_us")))
                cells.append(fmt(ratio(wo, w), "%.3f"))
            if both:
                cells.append("")
            lines.append("| SET P%d primary CPU capacity ratio with/without (µs/req without ÷ "
                         "with) | %s |" % (pipeline, " | ".join(cells)))
    pooled = {}
    if "wait" not in args.skip_set:
        for k in kinds:
            pooled[k] = sorted(x for res in results.get(k, []) for x in res.get("wait_ms", []))
        for label, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
            vals = [percentile(pooled[k], q) for k in kinds]
            cells = [fmt(v, "%.3f") for v in vals]
            if both:
                cells.append(fmt(ratio(vals[1], vals[0]), "%.2fx"))
            lines.append("| SET + WAIT 1 0 latency %s (ms) | %s |" % (label, " | ".join(cells)))

    # Targets
    lines += ["", "Targets:"]
    t = []
    if both and "sync" not in args.skip_set:
        x = ratio(med(collect(results, "damselfly", ("sync", "sync_s"))),
                  med(collect(results, "redis", ("sync", "sync_s"))))
        t.append("- full sync time damselfly/redis: %s (target <= 0.5) %s"
                 % (fmt(x, "%.2fx"), "PASS" if x <= 0.5 else "FAIL"))
    for k in kinds:
        if "throughput" not in args.skip_set:
            for pipeline, _ in BENCH_RUNS:
                x = ratio(med(collect(results, k, ("with", pipeline, "rps"))),
                          med(collect(results, k, ("without", pipeline, "rps"))))
                c = ratio(med(collect(results, k, ("without", pipeline, "cpu_us"))),
                          med(collect(results, k, ("with", pipeline, "cpu_us"))))
                t.append("- %s SET P%d rps with/without replica: %s (target >= 0.9) %s; "
                         "primary-CPU capacity ratio %s %s"
                         % (k, pipeline, fmt(x, "%.3f"), "PASS" if x >= 0.9 else "FAIL",
                            fmt(c, "%.3f"), "PASS" if c >= 0.9 else "FAIL"))
        if "wait" not in args.skip_set:
            p99 = percentile(pooled[k], 0.99)
            t.append("- %s SET+WAIT p99: %s ms (target <= 2 ms) %s"
                     % (k, fmt(p99, "%.3f"), "PASS" if p99 <= 2.0 else "FAIL"))
    lines += t or ["- (nothing measured)"]

    worst_other = max([v for k in kinds for phase in ("with", "without")
                       for pl, _ in BENCH_RUNS
                       for v in collect(results, k, (phase, pl, "other_primary_core"))
                       if not math.isnan(v)], default=0.0)
    if worst_other > args.max_other_load:
        lines += ["", "**WARNING: up to %.0f%% of the primary's core was busy with something "
                      "else during some benchmark runs (after retries); throughput figures "
                      "are unreliable.**" % (100 * worst_other)]
    worst_sync = max([v for k in kinds for v in collect(results, k, ("sync", "other"))
                      if not math.isnan(v)], default=0.0)
    if worst_sync > 0.25:
        lines += ["", "**WARNING: during some full syncs up to %.0f%% of a core went to "
                      "something other than the primary and the replica; sync figures are "
                      "unreliable.**" % (100 * worst_sync)]
    lines += ["", "The rps ratio is measured with the replica sharing core %s with "
                  "redis-benchmark, so when the client is the bottleneck (client core ~100%% "
                  "busy) it mostly shows the replica's CPU taking the client's; the capacity "
                  "ratio (primary CPU µs/req without ÷ with) is the throughput ratio a "
                  "CPU-bound primary would see." % args.replica_cpu]

    errors = [(i + 1, k, res["error"]) for k in kinds
              for i, res in enumerate(results.get(k, [])) if res.get("error")]
    if errors:
        lines += ["", "**Errors** (the rest of that round was skipped; figures above come "
                      "from the rounds that got that far):", ""]
        lines += ["- round %d, %s: %s" % (i, k, msg.splitlines()[0]) for i, k, msg in errors]
    # Spread
    lines += ["", "Spread over %d round(s) (min–max):" % args.rounds, ""]
    lines += ["| Metric | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]

    def srow(label, path, f):
        lines.append("| %s | %s |" % (label, " | ".join(span(collect(results, k, path), f)
                                                       for k in kinds)))

    if "sync" not in args.skip_set:
        srow("Full sync wall time (s)", ("sync", "sync_s"), "%.3f")
    if "throughput" not in args.skip_set:
        for pipeline, _ in BENCH_RUNS:
            srow("SET P%d rps, no replica" % pipeline, ("without", pipeline, "rps"), "%.0f")
            srow("SET P%d rps, 1 replica" % pipeline, ("with", pipeline, "rps"), "%.0f")
            srow("SET P%d primary CPU µs/req, no replica" % pipeline,
                 ("without", pipeline, "cpu_us"), "%.3f")
            srow("SET P%d primary CPU µs/req, 1 replica" % pipeline,
                 ("with", pipeline, "cpu_us"), "%.3f")
            srow("SET P%d client+replica core busy, 1 replica" % pipeline,
                 ("with", pipeline, "client_core_busy"), "%.2f")
            srow("SET P%d other load on primary core" % pipeline,
                 ("with", pipeline, "other_primary_core"), "%.2f")
            srow("SET P%d replica catch-up after run (s)" % pipeline,
                 ("with", pipeline, "catchup_s"), "%.3f")
    if "wait" not in args.skip_set:
        lines.append("| SET + WAIT p99 per round (ms) | %s |" % " | ".join(
            span([percentile(sorted(res.get("wait_ms", [])), 0.99)
                  for res in results.get(k, []) if res.get("wait_ms")], "%.3f")
            for k in kinds))

    # Setup
    example = benchmark_argv(args, "<primary port>", "<P>", "<N>")
    lines += [
        "",
        "Setup:",
        "",
        "- this report: `%s`" % shlex.join(["python3"] + sys.argv),
        "- redis-benchmark (FLUSHALL before each run; P16 with -n %d, P1 with -n %d): `%s`"
        % (BENCH_RUNS[0][1], BENCH_RUNS[1][1], shlex.join(example)),
        "- full sync: primary `DEBUG POPULATE %d key %d`, then the replica is %s; done when "
        "INFO replication shows master_link_status:up, master_sync_in_progress:0 and DBSIZE = "
        "%d (polled every 10 ms)"
        % (args.keys, args.value_size,
           "started with `--replicaof 127.0.0.1 <primary port>` (clock starts at spawn)"
           if args.attach == "flag" else "sent `REPLICAOF 127.0.0.1 <primary port>`",
           args.keys),
        "- SET+WAIT: Python raw-socket client, `SET k v` + `WAIT 1 0` in one write, both "
        "replies read; %d iterations per round after 200 warm-up iterations"
        % args.wait_iterations,
        "- placement: primary on core %s (alone); replica on core %s; redis-benchmark and the "
        "Python client on core %s" % (args.primary_cpu, args.replica_cpu, args.client_cpu),
        "- CPU: utime+stime (+ reaped children) deltas from /proc/<pid>/stat (tick = %g ms)"
        % (1000.0 / CLK_TCK),
    ]
    for k in kinds:
        if results.get(k):
            lines.append("- %s primary: `%s`" % (k, shlex.join(results[k][0]["primary_argv"])))
            lines.append("- %s replica: `%s`" % (k, shlex.join(results[k][0]["replica_argv"])))
    lines += [
        "- rounds: %d (servers restarted every round; redis/damselfly order alternates)"
        % args.rounds,
        "- %s; %s" % (version_of(["redis-server", "--version"]),
                      version_of([args.redis_benchmark, "--version"])),
    ]
    if "damselfly" in kinds:
        lines.append("- damselfly: %s (%s)" % (version_of([args.damselfly, "--version"]),
                                               args.damselfly))
    lines += [
        "- kernel: %s; CPU: %s (%d online cores)"
        % (" ".join(platform.uname()[2:4]), cpu_model(), os.cpu_count() or 0),
        "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    ]
    return "\n".join(lines) + "\n"


def version_of(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def preflight(args):
    if "damselfly" in args.server_list and "{binary}" in (args.damselfly_primary_cmd +
                                                          args.damselfly_replica_cmd):
        if not os.access(args.damselfly, os.X_OK):
            raise BenchError("damselfly binary not found: %s (build with `cargo build "
                             "--release` or pass --damselfly PATH)" % args.damselfly)
        if args.attach == "flag":
            helptext = subprocess.run([args.damselfly, "--help"], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, timeout=10).stdout
            if "--replicaof" not in helptext:
                raise BenchError("%s does not accept --replicaof (no replication support "
                                 "in this build?); use --only redis" % args.damselfly)


def main(argv=None):
    args = parse_args(argv)
    install_signal_handlers()
    rootdir = tempfile.mkdtemp(prefix="damselfly-repl-bench-")
    results = {k: [] for k in args.server_list}
    try:
        preflight(args)
        # This process polls INFO and runs the WAIT client: keep it off the
        # primary's core.
        if args.client_cpu.isdigit():
            os.sched_setaffinity(0, {int(args.client_cpu)})
        log("server logs under %s" % rootdir)
        for rnd in range(args.rounds):
            order = args.server_list if rnd % 2 == 0 else list(reversed(args.server_list))
            for kind in order:
                log("round %d/%d: %s" % (rnd + 1, args.rounds, kind))
                results[kind].append(run_server_round(args, kind, rnd, rootdir))
    except BenchError as e:
        log("error: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all_servers()
        remove_rdb_files(rootdir)
    text = report(args, results)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        log("wrote %s" % args.out)
    return 1 if any(res.get("error") for runs in results.values() for res in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
