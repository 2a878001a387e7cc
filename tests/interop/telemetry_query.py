#!/usr/bin/env python3
"""Asks a DPDK process's telemetry socket (SOCK_SEQPACKET, one JSON reply per command).

usage: telemetry_query.py SOCKET COMMAND...   prints {"COMMAND": reply, ...} as one JSON line
"""
import json
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
hello = json.loads(s.recv(1024))
out = {}
for cmd in sys.argv[2:]:
    s.send(cmd.encode())
    reply = json.loads(s.recv(hello["max_output_len"]))
    out[cmd] = reply[cmd.split(",")[0]]
print(json.dumps(out))
