#!/usr/bin/env python3
"""Side-by-side benchmark: redis-server vs damselfly, driven by redis-benchmark.

Both servers run pinned to one core (default core 0); redis-benchmark runs
pinned to another (default core 1).  For every round, every pipeline depth and
every server (server order alternates between rounds) the keyspace is flushed
and each requested test is run as its own redis-benchmark invocation, so the
server CPU time consumed during that invocation (utime+stime from
/proc/<pid>/stat) can be attributed to that test.

Results are medians over rounds.  See docs/benchmarks.md.

Standard library only.
"""

import argparse
import atexit
import csv
import io
import os
import platform
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DAMSELFLY = os.path.join(REPO_ROOT, "target", "release", "damselfly")
REDIS_CMD = "redis-server --port {port} --save '' --appendonly no"
DAMSELFLY_CMD = "{binary} --threads 1 --port {port} --bind 127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# redis-benchmark 7.0's default test set, one row per -t item ("--tests all").
ALL_TESTS = ("ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,"
             "spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset")

_servers = []  # every Server started, for cleanup


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Benchmark redis-server and damselfly side by side.")
    p.add_argument("--damselfly", default=DEFAULT_DAMSELFLY, metavar="PATH",
                   help="damselfly binary (default: target/release/damselfly)")
    p.add_argument("--damselfly-cmd", metavar="TEMPLATE",
                   help="full command template for the 'damselfly' side; "
                        "{port} is substituted, e.g. \"%s\" (overrides "
                        "--damselfly; taskset pinning is still added)"
                        % REDIS_CMD.replace("%", "%%"))
    p.add_argument("--redis-cmd", default=REDIS_CMD, metavar="TEMPLATE",
                   help="command template for the redis side (default: %(default)s)")
    p.add_argument("--redis-benchmark", default="redis-benchmark", metavar="PATH")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds per server; servers alternate (default: %(default)s)")
    p.add_argument("-n", "--requests", type=int, default=500_000,
                   help="requests per test at -P 1 (default: %(default)s)")
    p.add_argument("--requests-pipelined", type=int, default=3_000_000,
                   help="requests per test at -P >1 (default: %(default)s)")
    p.add_argument("--tests", default="set,get",
                   help="comma-separated redis-benchmark -t list, run one item per "
                        "invocation in this order; 'all' = redis-benchmark's default "
                        "set (default: %(default)s)")
    p.add_argument("--pipelines", default="1,16",
                   help="comma-separated -P values (default: %(default)s)")
    p.add_argument("--clients", type=int, default=50, help="-c (default: %(default)s)")
    p.add_argument("--keyspace", type=int, default=100_000, help="-r (default: %(default)s)")
    p.add_argument("--server-cpu", default="0", help="taskset core for servers (default: 0)")
    p.add_argument("--client-cpu", default="1",
                   help="taskset core for redis-benchmark (default: 1)")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds allowed per redis-benchmark invocation (default: %(default)s)")
    p.add_argument("--max-other-load", type=float, default=0.10, metavar="FRACTION",
                   help="a run is noisy if more than this fraction of the server or client "
                        "core went to something else (default: %(default)s)")
    p.add_argument("--retries", type=int, default=2,
                   help="re-run a noisy redis-benchmark invocation up to this many times, "
                        "keeping the least noisy attempt (default: %(default)s)")
    p.add_argument("--out", metavar="FILE", help="also write the markdown report to FILE")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    tests = ALL_TESTS if args.tests == "all" else args.tests
    args.test_list = [t.strip() for t in tests.split(",") if t.strip()]
    args.pipeline_list = [int(x) for x in args.pipelines.split(",") if x.strip()]
    return args


# --------------------------------------------------------------------------
# Tiny RESP client (enough for PING / FLUSHALL)
# --------------------------------------------------------------------------

def resp_command(port, *words, timeout=2.0):
    """Send one command, return the first reply line (bytes, without CRLF)."""
    payload = b"*%d\r\n" % len(words)
    for w in words:
        w = w.encode()
        payload += b"$%d\r\n%s\r\n" % (len(w), w)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed before reply")
            buf += chunk
    return buf.split(b"\r\n", 1)[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

class Server:
    def __init__(self, name, template, cpu, logdir, **subst):
        self.name = name
        self.port = free_port()
        cmd = template.format(port=self.port, **subst)
        self.argv = ["taskset", "-c", cpu] + shlex.split(cmd)
        self.log_path = os.path.join(logdir, name + ".log")
        self.proc = None

    def start(self, ready_timeout=15.0):
        log = open(self.log_path, "wb")
        # taskset execs the server, so proc.pid is the server's own pid.
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        _servers.append(self)
        self.wait_ready(ready_timeout)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        delay = 0.005
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if resp_command(self.port, "PING", timeout=0.5) == b"+PONG":
                    return
            except OSError:
                pass
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise RuntimeError("%s did not answer PING within %.0fs (%s)\n%s"
                           % (self.name, timeout, " ".join(self.argv), self.log_tail()))

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited with status %s (%s)\n%s"
                               % (self.name, self.proc.returncode,
                                  " ".join(self.argv), self.log_tail()))

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def flush(self):
        reply = resp_command(self.port, "FLUSHALL")
        if not reply.startswith(b"+"):
            reply = resp_command(self.port, "FLUSHDB")
        if not reply.startswith(b"+"):
            raise RuntimeError("%s: cannot flush: %r" % (self.name, reply))

    def cpu_seconds(self):
        """utime+stime of the whole process (all threads), in seconds."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            stat = f.read()
        # Field 2 (comm) may contain spaces; everything after the last ')' is safe.
        fields = stat[stat.rindex(")") + 2:].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15
        return (utime + stime) / CLK_TCK

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def core_busy_seconds(core):
    """Non-idle time of one core (incl. irq and steal) from /proc/stat, or None."""
    if not core.isdigit():
        return None
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%s " % core):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]  # idle + iowait
                return (sum(v[:8]) - idle) / CLK_TCK  # user..steal
    return None


def children_cpu_seconds():
    """CPU time of waited-for children (i.e. finished redis-benchmark runs)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def stop_all_servers():
    for s in _servers:
        try:
            s.stop()
        except Exception:  # best effort during shutdown
            pass


def install_cleanup():
    atexit.register(stop_all_servers)

    def on_signal(signum, _frame):
        stop_all_servers()
        sys.exit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)


# --------------------------------------------------------------------------
# redis-benchmark
# --------------------------------------------------------------------------

def requests_for(args, pipeline):
    return args.requests if pipeline == 1 else args.requests_pipelined


def benchmark_argv(args, port, test, pipeline, n):
    return ["taskset", "-c", args.client_cpu, args.redis_benchmark,
            "-h", "127.0.0.1", "-p", str(port),
            "-c", str(args.clients), "-r", str(args.keyspace), "-n", str(n),
            "-t", test, "-P", str(pipeline), "--csv"]


def parse_csv(text):
    """redis-benchmark --csv output -> list of (test name, requests/s)."""
    rows = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[0] != "test":
            rows.append((row[0], float(row[1])))
    return rows


def snapshot(args, server):
    """Clocks read before and after each redis-benchmark run."""
    return {"wall": time.monotonic(),
            "server": server.cpu_seconds(),
            "client": children_cpu_seconds(),
            "server_core": core_busy_seconds(args.server_cpu),
            "client_core": core_busy_seconds(args.client_cpu)}


def other_load(before, after, core_key, proc_key):
    """Fraction of a core busy with anything but the process pinned to it."""
    if before[core_key] is None:
        return float("nan")
    busy = after[core_key] - before[core_key]
    own = after[proc_key] - before[proc_key]
    return (busy - own) / (after["wall"] - before["wall"])


def run_one(args, server, test, pipeline):
    """Run one redis-benchmark invocation; return a result dict per reported test."""
    n = requests_for(args, pipeline)
    argv = benchmark_argv(args, server.port, test, pipeline, n)
    before = snapshot(args, server)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=args.timeout, text=True)
    after = snapshot(args, server)
    server.check_alive()
    rows = parse_csv(proc.stdout)
    if proc.returncode != 0 or not rows:
        raise RuntimeError("redis-benchmark failed against %s (rc=%d): %s\n%s"
                           % (server.name, proc.returncode, " ".join(argv),
                              proc.stderr.strip()))
    if proc.stderr.strip():
        log("  redis-benchmark stderr (%s %s P%d): %s"
            % (server.name, test, pipeline, proc.stderr.strip()[:500]))
    cpu = after["server"] - before["server"]
    # One invocation may report several rows (e.g. -t lrange_100 first runs
    # "LPUSH (needed to benchmark LRANGE)"); each row ran n requests, so CPU
    # is averaged over all of them.  Helper rows are not reported themselves.
    common = {
        "pipeline": pipeline,
        "cpu_us": cpu * 1e6 / (n * len(rows)),
        "util": cpu / (after["wall"] - before["wall"]),
        # Busy time on each core not charged to its own process: other
        # processes, irqs, hypervisor steal.  High values mean a noisy run.
        "other": other_load(before, after, "server_core", "server"),
        "other_client": other_load(before, after, "client_core", "client"),
        "shared_cpu": len(rows) > 1,
    }
    return [dict(common, test=name, rps=rps)
            for name, rps in rows if "needed to benchmark" not in name]


def noise(rows):
    """Worst foreign load on either core during one invocation (0 if unknown)."""
    vals = [r[k] for r in rows for k in ("other", "other_client") if r[k] == r[k]]
    return max(vals, default=0.0)


def run_quiet(args, server, test, pipeline):
    """run_one, retried while another load disturbed the cores; least noisy wins."""
    best = run_one(args, server, test, pipeline)
    for _ in range(args.retries):
        if noise(best) <= args.max_other_load:
            break
        log("  noisy run (%.0f%% other load), retrying %s %s P%d"
            % (100 * noise(best), server.name, test, pipeline))
        rows = run_one(args, server, test, pipeline)
        if noise(rows) < noise(best):
            best = rows
    return best


def run_rounds(args, servers):
    """results[(server name, test label, pipeline)] -> list of per-round dicts."""
    results = {}
    order = []  # (label, pipeline) in first-seen order
    for rnd in range(args.rounds):
        # Alternate which server goes first to cancel slow drift.
        ordered = servers if rnd % 2 == 0 else list(reversed(servers))
        for pipeline in args.pipeline_list:
            for server in ordered:
                server.flush()
                for test in args.test_list:
                    for r in run_quiet(args, server, test, pipeline):
                        key = (r["test"], pipeline)
                        if key not in order:
                            order.append(key)
                        results.setdefault((server.name,) + key, []).append(r)
                        log("round %d/%d  %-9s %-14s P%-3d %12.0f rps %8.3f us/req cpu  util %3.0f%%  "
                            "other load: server core %3.0f%% client core %3.0f%%"
                            % (rnd + 1, args.rounds, server.name, r["test"][:14], pipeline,
                               r["rps"], r["cpu_us"], 100 * r["util"], max(0, 100 * r["other"]),
                               max(0, 100 * r["other_client"])))
    return results, order


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def median_of(runs, field):
    return statistics.median(r[field] for r in runs) if runs else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def redis_benchmark_version(args):
    try:
        out = subprocess.run([args.redis_benchmark, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        return out.strip()
    except OSError:
        return "unknown"


def results_table(results, order):
    lines = [
        "| Test | redis rps (median) | damselfly rps (median) | throughput ratio (damselfly/redis) "
        "| redis CPU µs/req | damselfly CPU µs/req | CPU ratio (damselfly/redis) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes = False
    for label, pipeline in order:
        r = results.get(("redis", label, pipeline), [])
        d = results.get(("damselfly", label, pipeline), [])
        r_rps, d_rps = median_of(r, "rps"), median_of(d, "rps")
        r_cpu, d_cpu = median_of(r, "cpu_us"), median_of(d, "cpu_us")
        shared = any(x["shared_cpu"] for x in r + d)
        notes = notes or shared
        lines.append("| %s P%d%s | %.0f | %.0f | %.2fx | %.3f | %.3f | %.2fx |"
                     % (label, pipeline, " *" if shared else "", r_rps, d_rps,
                        ratio(d_rps, r_rps), r_cpu, d_cpu, ratio(d_cpu, r_cpu)))
    if notes:
        lines.append("")
        lines.append("\\* one redis-benchmark invocation reported several tests; "
                     "CPU µs/req is averaged over all of them (LRANGE_* includes its LPUSH prefill).")
    return lines


def utilization_table(results, order):
    lines = ["| Test | redis util | damselfly util | other load on server core (max) "
             "| other load on client core (max) |",
             "|---|---:|---:|---:|---:|"]
    for label, pipeline in order:
        r = results.get(("redis", label, pipeline), [])
        d = results.get(("damselfly", label, pipeline), [])
        lines.append("| %s P%d | %.0f%% | %.0f%% | %.0f%% | %.0f%% |"
                     % (label, pipeline, 100 * median_of(r, "util"), 100 * median_of(d, "util"),
                        max(0, 100 * max_of(r + d, "other")),
                        max(0, 100 * max_of(r + d, "other_client"))))
    return lines


def max_of(runs, field):
    return max(r[field] for r in runs) if runs else float("nan")


def noise_warning(results, threshold):
    worst = max((noise([r]) for runs in results.values() for r in runs), default=0.0)
    if worst <= threshold:
        return []
    return ["", "**WARNING: up to %.0f%% of the server or client core was busy with something "
            "other than the benchmark during some runs (other processes, steal, irqs); "
            "throughput numbers are unreliable. Re-run on a quiet machine.**" % (100 * worst)]


def spread_table(results, order):
    lines = ["| Test | redis rps min–max | damselfly rps min–max |"
             " redis CPU µs/req min–max | damselfly CPU µs/req min–max |",
             "|---|---:|---:|---:|---:|"]

    def span(runs, field, fmt):
        vals = [r[field] for r in runs]
        return (fmt + "–" + fmt) % (min(vals), max(vals)) if vals else "n/a"

    for label, pipeline in order:
        r = results.get(("redis", label, pipeline), [])
        d = results.get(("damselfly", label, pipeline), [])
        lines.append("| %s P%d | %s | %s | %s | %s |"
                     % (label, pipeline, span(r, "rps", "%.0f"), span(d, "rps", "%.0f"),
                        span(r, "cpu_us", "%.3f"), span(d, "cpu_us", "%.3f")))
    return lines


def targets(results):
    """The two headline targets (see docs/benchmarks.md), for SET and GET."""
    lines = []
    for label in ("SET", "GET"):
        for pipeline, field, goal, what in ((16, "rps", ">=", "throughput"),
                                            (1, "cpu_us", "<=", "server CPU/request")):
            r = results.get(("redis", label, pipeline))
            d = results.get(("damselfly", label, pipeline))
            if not r or not d:
                continue
            x = ratio(median_of(d, field), median_of(r, field))
            ok = x >= 1.0 if goal == ">=" else x <= 1.0
            lines.append("- %s P%d %s: %.2fx (target %s 1.0x) %s"
                         % (label, pipeline, what, x, goal, "PASS" if ok else "FAIL"))
    return lines


def report(args, servers, results, order):
    example = benchmark_argv(args, "<port>", "<test>", "<P>", "<N>")
    lines = ["# damselfly vs redis-server, side by side", ""]
    lines += results_table(results, order)
    lines += ["", "Targets:"] + (targets(results) or ["- (SET/GET P1/P16 not run)"])
    lines += noise_warning(results, args.max_other_load)
    lines += ["", "Server core: util = server CPU / wall time (median; 100% = saturated, lower "
              "means the client was the bottleneck); other load = core busy time not charged "
              "to the server / to redis-benchmark (other processes, irqs, steal; max over all "
              "runs of both servers):", ""]
    lines += utilization_table(results, order)
    lines += ["", "Spread over rounds:", ""]
    lines += spread_table(results, order)
    lines += [
        "",
        "Setup:",
        "",
        "- redis-benchmark command (one invocation per test in the -t list, "
        "`-n %d` at P1, `-n %d` at P>1, P in %s):"
        % (args.requests, args.requests_pipelined, args.pipeline_list),
        "  `%s`" % " ".join(shlex.quote(a) if not a.startswith("<") else a for a in example),
    ]
    for s in servers:
        lines.append("- %s: `%s`" % (s.name, " ".join(shlex.quote(a) for a in s.argv)))
    lines += [
        "- rounds: %d (median reported; servers alternate order each round; "
        "FLUSHALL before each server's set of tests)" % args.rounds,
        "- server CPU: utime+stime delta from /proc/<pid>/stat over each redis-benchmark "
        "run / requests (tick = %g ms)" % (1000.0 / CLK_TCK),
        "- redis-benchmark: %s" % redis_benchmark_version(args),
        "- kernel: %s" % " ".join(platform.uname()[2:4]),
        "- CPU: %s (%d online cores)" % (cpu_model(), os.cpu_count() or 0),
        "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    ]
    return "\n".join(lines) + "\n"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def make_servers(args, logdir):
    redis = Server("redis", args.redis_cmd, args.server_cpu, logdir)
    if args.damselfly_cmd:
        damselfly = Server("damselfly", args.damselfly_cmd, args.server_cpu, logdir)
    else:
        if not os.access(args.damselfly, os.X_OK):
            sys.exit("damselfly binary not found: %s (build with "
                     "`cargo build --release` or pass --damselfly)" % args.damselfly)
        damselfly = Server("damselfly", DAMSELFLY_CMD, args.server_cpu, logdir,
                           binary=shlex.quote(args.damselfly))
    return [redis, damselfly]


def main(argv=None):
    args = parse_args(argv)
    install_cleanup()
    logdir = tempfile.mkdtemp(prefix="damselfly-bench-")
    servers = make_servers(args, logdir)
    log("server logs in %s" % logdir)
    try:
        for s in servers:
            s.start()
            log("%s ready on port %d (pid %d): %s"
                % (s.name, s.port, s.proc.pid, shlex.join(s.argv)))
        results, order = run_rounds(args, servers)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log("error: %s" % e)
        return 1
    finally:
        stop_all_servers()
    text = report(args, servers, results, order)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        log("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
