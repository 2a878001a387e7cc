#!/usr/bin/python3
"""The Linux end of one goodput run over the tap: a kernel TCP socket that receives from a
pollux-server in `source` mode, or sends to one in `discard` mode, for a fixed time, then
prints one JSON line with what it measured and what the kernel's TCP_INFO says.

  tap_peer.py recv|send HOST PORT SECONDS [CC]

CC: the kernel congestion control for this socket (TCP_CONGESTION, e.g. cubic or reno);
default: the namespace's.

recv: goodput = bytes read / elapsed (pollux is the sender; its congestion control is the one
      measured).
send: goodput = tcpi_bytes_acked / elapsed: what pollux acknowledged, not what the socket
      buffer swallowed (the kernel's congestion control is the one measured).
Both report the kernel's view of the connection: the options it negotiated, its congestion
control and its retransmissions (struct tcp_info, include/uapi/linux/tcp.h)."""
import json
import socket
import struct
import sys
import time

# struct tcp_info offsets (Linux UAPI, stable: fields are only ever appended).
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4
TCPI_OPTIONS = 5            # u8
TCPI_TOTAL_RETRANS = 100    # u32, segments retransmitted over the connection's life
TCPI_BYTES_ACKED = 120      # u64
TCPI_BYTES_RECEIVED = 128   # u64
TCPI_LEN = 136


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(raw) < TCPI_LEN:
        raise SystemExit(f"tcp_info is {len(raw)} bytes; this kernel is too old")
    opts = raw[TCPI_OPTIONS]
    cc = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b"\0")[0]
    return {
        "sack": bool(opts & TCPI_OPT_SACK),
        "timestamps": bool(opts & TCPI_OPT_TIMESTAMPS),
        "wscale": bool(opts & TCPI_OPT_WSCALE),
        "cc": cc.decode(),
        "retrans": struct.unpack_from("I", raw, TCPI_TOTAL_RETRANS)[0],
        "bytes_acked": struct.unpack_from("Q", raw, TCPI_BYTES_ACKED)[0],
        "bytes_received": struct.unpack_from("Q", raw, TCPI_BYTES_RECEIVED)[0],
    }


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[1] not in ("recv", "send"):
        raise SystemExit(__doc__)
    role, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if len(sys.argv) == 6:
        # Before connect(): the handshake already runs under the chosen algorithm.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[5].encode())
    sock.settimeout(10)
    sock.connect((host, port))
    sock.settimeout(1.0)
    local_port = sock.getsockname()[1]
    t0 = time.monotonic()
    deadline = t0 + seconds
    moved = 0
    if role == "recv":
        buf = bytearray(1 << 20)
        while time.monotonic() < deadline:
            try:
                n = sock.recv_into(buf)
            except socket.timeout:
                continue  # a long RTO; the clock decides
            if n == 0:
                break
            moved += n
    else:
        chunk = b"x" * (256 << 10)
        while time.monotonic() < deadline:
            try:
                moved += sock.send(chunk)
            except socket.timeout:
                continue
    elapsed = time.monotonic() - t0
    info = tcp_info(sock)
    goodput_bytes = moved if role == "recv" else info["bytes_acked"]
    # Abort rather than close: the run is over, nobody waits for the rest of the stream.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    print(json.dumps({"role": role, "local_port": local_port, "seconds": round(elapsed, 3),
                      "bytes": goodput_bytes,
                      "mbps": round(goodput_bytes * 8 / elapsed / 1e6, 2), "linux": info}))


if __name__ == "__main__":
    main()
