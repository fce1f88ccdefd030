#!/usr/bin/env python3
"""Memory per element: damselfly vs redis-server on the same data.

For each dataset the server is started fresh (one at a time, damselfly with
--threads 1), the dataset is loaded with pipelined commands, and INFO memory's
used_memory and used_memory_rss are read before and after; the report gives
the growth and damselfly's ratio to redis. Datasets (issue 4's targets):

  hash-1m      one hash of 1M fields   (HSET big field:N value:N)
  set-1m       one set of 1M members  (SADD big member:N)
  zset-1m      one sorted set of 1M    (ZADD big N member:N)
  list-1m      one list of 1M elements (RPUSH big element:N)
  hashes-100k  100k hashes of 10 fields (HSET hash:K f0 v0 ... f9 v9)

Standard library only. See docs/benchmarks.md.
"""

import argparse
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from side_by_side import (DAMSELFLY_CMD, DEFAULT_DAMSELFLY, REDIS_CMD,  # noqa: E402
                          Server, install_cleanup, log)

BATCH = 1000  # commands per pipelined write


def elements(dataset, count):
    """The commands that build `dataset`, as lists of words."""
    if dataset == "hash-1m":
        for i in range(0, count, 100):
            words = ["HSET", "big"]
            for j in range(i, min(i + 100, count)):
                words += ["field:%d" % j, "value:%d" % j]
            yield words
    elif dataset == "set-1m":
        for i in range(0, count, 100):
            yield ["SADD", "big"] + ["member:%d" % j for j in range(i, min(i + 100, count))]
    elif dataset == "zset-1m":
        for i in range(0, count, 100):
            words = ["ZADD", "big"]
            for j in range(i, min(i + 100, count)):
                words += [str(j), "member:%d" % j]
            yield words
    elif dataset == "list-1m":
        for i in range(0, count, 100):
            yield ["RPUSH", "big"] + ["element:%d" % j for j in range(i, min(i + 100, count))]
    elif dataset == "hashes-100k":
        for k in range(count // 10):
            words = ["HSET", "hash:%d" % k]
            for f in range(10):
                words += ["f%d" % f, "v%d" % f]
            yield words
    else:
        raise ValueError(dataset)


def encode(words):
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        w = w.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(out)


def load(port, commands):
    """Sends commands in pipelined batches; every reply must be an integer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        batch = []
        for words in commands:
            batch.append(encode(words))
            if len(batch) == BATCH:
                exchange(s, batch)
                batch = []
        if batch:
            exchange(s, batch)


def exchange(sock, batch):
    sock.sendall(b"".join(batch))
    want, buf = len(batch), b""
    while buf.count(b"\r\n") < want:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    if b"-" in buf[:1] or b"\r\n-" in buf:
        raise RuntimeError("error reply: %r" % buf[:200])


def memory(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(encode(["INFO", "memory"]))
        buf = b""
        while True:
            buf += s.recv(1 << 16)
            head, _, rest = buf.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]):
                break
    fields = dict(line.split(":", 1) for line in rest.decode().splitlines() if ":" in line)
    return int(fields["used_memory"]), int(fields["used_memory_rss"])


def measure(args, kind, dataset, logdir):
    template = args.redis_cmd if kind == "redis" else DAMSELFLY_CMD
    server = Server(kind, template, args.server_cpu, logdir, binary=args.damselfly)
    server.start()
    try:
        before = memory(server.port)
        started = time.monotonic()
        load(server.port, elements(dataset, args.count))
        took = time.monotonic() - started
        time.sleep(0.5)  # let the allocator settle its counters
        after = memory(server.port)
    finally:
        server.stop()
    return after[0] - before[0], after[1] - before[1], took


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--damselfly", default=DEFAULT_DAMSELFLY)
    p.add_argument("--redis-cmd", default=REDIS_CMD)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--count", type=int, default=1_000_000,
                   help="elements per dataset (hashes-100k uses count/10 hashes)")
    p.add_argument("--datasets", default="hash-1m,set-1m,zset-1m,list-1m,hashes-100k")
    args = p.parse_args(argv)
    install_cleanup()
    logdir = tempfile.mkdtemp(prefix="damselfly-memory-")
    rows = []
    for dataset in args.datasets.split(","):
        results = {}
        for kind in ("redis", "damselfly"):
            log("%s: loading %s" % (kind, dataset))
            results[kind] = measure(args, kind, dataset, logdir)
        rows.append((dataset, results))
    print("| dataset | redis used_memory | damselfly used_memory | ratio | redis RSS | damselfly RSS | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for dataset, r in rows:
        (ru, rr, _), (du, dr, _) = r["redis"], r["damselfly"]
        print("| %s | %.1f MB | %.1f MB | %.2fx | %.1f MB | %.1f MB | %.2fx |" % (
            dataset, ru / 1e6, du / 1e6, du / max(ru, 1), rr / 1e6, dr / 1e6, dr / max(rr, 1)))


if __name__ == "__main__":
    main()
