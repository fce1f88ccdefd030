#!/usr/bin/env python3
"""PING latency on a damselfly replica while it full syncs from a redis-server primary.

A redis-server primary gets --keys keys of 100 B (DEBUG POPULATE); a damselfly replica is started
with --replicaof; from its first accepted connection until its sync is complete (link up, no sync
in progress, DBSIZE = --keys) PINGs go round-robin over --conns connections (SO_REUSEPORT spreads
them over the executors) and every round trip is timed. Prints the sync time and the PING RTTs:
all of them, and those from the first INFO showing master_sync_in_progress:1 (the RDB transfer
into the temp file and its load; checked every 50 ms) to the end.

    python3 benches/sync_ping.py --damselfly target/release/damselfly [--keys 1000000] [--threads 2]
"""
import argparse
import socket
import subprocess
import tempfile
import time


def connect(port, deadline):
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def command(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    data = b""
    while True:
        data += s.recv(1 << 16)
        if data.startswith(b"$"):
            header, _, rest = data.partition(b"\r\n")
            if len(rest) >= int(header[1:]) + 2:
                return rest[: int(header[1:])].decode()
        elif data.endswith(b"\r\n"):
            return data.decode().strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--damselfly", required=True)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conns", type=int, default=8)
    args = ap.parse_args()
    primary_port, replica_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as pdir, tempfile.TemporaryDirectory() as rdir:
        primary = subprocess.Popen(
            ["redis-server", "--port", str(primary_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--enable-debug-command", "yes",
             "--repl-diskless-sync-delay", "0", "--dir", pdir],
            stdout=subprocess.DEVNULL)
        replica = None
        try:
            p = connect(primary_port, time.monotonic() + 10)
            command(p, "DEBUG", "POPULATE", str(args.keys), "key", "100")
            started = time.monotonic()
            replica = subprocess.Popen(
                [args.damselfly, "--threads", str(args.threads), "--port", str(replica_port),
                 "--dir", rdir, "--replicaof", "127.0.0.1", str(primary_port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            conns = [connect(replica_port, deadline) for _ in range(args.conns)]
            control = connect(replica_port, deadline)
            rtts, last_check, sync_from = [], 0.0, None
            while True:
                for c in conns:
                    t = time.perf_counter()
                    assert command(c, "PING") == "+PONG"
                    rtts.append((time.perf_counter() - t, time.monotonic() - started))
                if time.monotonic() - last_check > 0.05:
                    last_check = time.monotonic()
                    info = command(control, "INFO", "replication")
                    if sync_from is None and "master_sync_in_progress:1" in info:
                        sync_from = last_check - started
                    if ("master_link_status:up" in info and "master_sync_in_progress:0" in info
                            and command(control, "DBSIZE") == ":%d" % args.keys):
                        break
                    if time.monotonic() - started > 300:
                        raise SystemExit("the sync did not finish in 300 s")
            done = time.monotonic() - started
            in_sync = sorted(r for r in rtts if sync_from is not None and r[1] >= sync_from)
            rtts.sort()
            ms = lambda x: "%.2f ms" % (x[0] * 1000)
            print("sync done in %.2f s; %d PINGs: p50 %s, p99 %s, p99.9 %s, max %s (at %.2f s)" % (
                done, len(rtts), ms(rtts[len(rtts) // 2]), ms(rtts[int(len(rtts) * 0.99)]),
                ms(rtts[int(len(rtts) * 0.999)]), ms(rtts[-1]), rtts[-1][1]))
            if in_sync:
                print("  during the sync (%.2f-%.2f s): %d PINGs, p99 %s, max %s (at %.2f s)" % (
                    sync_from, done, len(in_sync), ms(in_sync[int(len(in_sync) * 0.99)]),
                    ms(in_sync[-1]), in_sync[-1][1]))
        finally:
            for proc in (replica, primary):
                if proc:
                    proc.terminate()
                    proc.wait()


if __name__ == "__main__":
    main()
