#!/usr/bin/env python3
"""Memory pinning load for bench/pinning.sh (issue 14 item 2), from the kernel's sockets.

  pinning.py attack HOST PORT CONNS SECONDS [RATE]
      CONNS connections to an echo server, each the attack of tests/fixture/memory_test.cpp
      played by a real peer: a receive buffer of the kernel's minimum that is never read (so
      the window it advertises falls to zero and the echo's replies stay queued at the
      server), 300 KB to fill the server's send queue behind it, then one-byte writes
      (TCP_NODELAY: one segment each while the server's window lets them through), RATE a
      second over all connections (default 5000), until SECONDS pass. Prints 'attack: C
      connections, N one-byte writes'.
  pinning.py legit HOST PORT SECONDS [CONCURRENCY]
      Legitimate echo clients: each opens a connection, sends 64 bytes, reads them back and
      closes, again and again, CONCURRENCY at a time (default 4). Prints 'legit: N conn/s,
      E errors'.
Needs nothing but Python 3; a bench helper, not a test.
"""
import selectors
import socket
import sys
import time


def attack(host, port, conns, seconds, rate=5000, fill=300_000):
    socks = []
    for _ in range(conns):
        s = socket.socket()
        # The smallest receive buffer (set before connect so the SYN's window and scale
        # follow it): a few echoed kilobytes close our window.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(5)
        try:
            s.connect((host, port))
        except OSError as e:
            print(f"attack: connect failed: {e}", file=sys.stderr)
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    left = {s: fill for s in socks}
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    chunk = b"x" * 16384
    tiny = 0
    # One-byte writes are paced (`rate` a second over all connections, round robin): what
    # is measured is the memory they pin, not the cost of a packet flood (bench/flood.sh).
    per_tick, tick = max(1, rate // 100), 0.01
    nxt = time.monotonic()
    rr = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=tick / 2):
            s = key.fileobj
            try:
                left[s] -= s.send(chunk[: min(len(chunk), left[s])])
            except BlockingIOError:
                pass
            except OSError:
                left[s] = 0
            if left[s] <= 0:
                sel.unregister(s)
        now = time.monotonic()
        if now < nxt:
            continue
        nxt = now + tick
        ready = [s for s in socks if left[s] <= 0]
        for _ in range(min(per_tick, len(ready) * 4)):
            if not ready:
                break
            s = ready[rr % len(ready)]
            rr += 1
            try:
                s.send(b"y")  # one byte, one segment (TCP_NODELAY)
                tiny += 1
            except OSError:
                pass
    print(f"attack: {len(socks)} connections, {tiny} one-byte writes")
    for s in socks:
        s.close()


def legit(host, port, seconds, concurrency=4):
    msg = b"p" * 64
    sel = selectors.DefaultSelector()
    done = errors = 0
    end = time.monotonic() + seconds

    def start():
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, port))
        sel.register(s, selectors.EVENT_WRITE, {"got": 0, "t": time.monotonic()})

    for _ in range(concurrency):
        start()
    while time.monotonic() < end:
        for key, ev in sel.select(timeout=0.05):
            s, st = key.fileobj, key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        raise OSError("connect failed")
                    s.send(msg)
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                data = s.recv(4096)
                if not data:
                    raise OSError("closed early")
                st["got"] += len(data)
                if st["got"] < len(msg):
                    continue
                done += 1
            except OSError:
                errors += 1
            sel.unregister(s)
            s.close()
            start()
        # A connection that has waited 1 s is counted as an error and replaced.
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            if now - key.data["t"] > 1.0:
                errors += 1
                sel.unregister(key.fileobj)
                key.fileobj.close()
                start()
    print(f"legit: {done / seconds:.0f} conn/s, {errors} errors")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "attack":
        attack(a[1], int(a[2]), int(a[3]), float(a[4]), *(int(x) for x in a[5:6]))
    elif len(a) >= 4 and a[0] == "legit":
        legit(a[1], int(a[2]), float(a[3]), *(int(x) for x in a[4:5]))
    else:
        sys.exit(__doc__)
