#!/usr/bin/env python3
"""Sends hostile Ethernet frames out of an interface with an AF_PACKET socket.

usage: send_malformed.py IFACE DST_MAC SRC_IP DST_IP COUNT
Prints one line per kind: "<kind> <count>", so the test knows what the server must have
counted. Frames are built by hand (struct), which keeps every byte deliberate.
"""
import socket
import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_header(src, dst, proto, payload_len, ihl=5, version=4, frag=0x4000, fix=True):
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, 20 + payload_len, 1, frag,
                      64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    if fix:
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr


def tcp_syn(src, dst, sport=40000, dport=8080, options=b"", break_csum=False):
    off = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, off << 4, 0x02, 64240, 0, 0) + options
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg) ^ (0x1111 if break_csum else 0)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def main():
    iface, dst_mac, src_ip, dst_ip, count = sys.argv[1:6]
    count = int(count)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    src = s.getsockname()[4]
    eth = lambda t: dst + src + struct.pack("!H", t)  # noqa: E731

    syn = tcp_syn(src_ip, dst_ip)
    kinds = {
        "drop_ip_bad_checksum": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn))[:10]
        + b"\xde\xad" + ip_header(src_ip, dst_ip, 6, len(syn))[12:] + syn,
        "drop_ip_bad_version": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn), version=6) + syn,
        "drop_ip_bad_header_length": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn), ihl=4) + syn,
        "drop_ip_bad_total_length": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn) + 400) + syn,
        # The last fragment of a datagram that would end beyond 65535 bytes (ping of death).
        "drop_ip_reasm_too_long": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn), frag=0x1fff) + syn,
        "drop_ip_unknown_protocol": eth(0x0800) + ip_header(src_ip, dst_ip, 17, 8) + b"\0" * 8,
        "drop_tcp_bad_checksum": eth(0x0800) + ip_header(src_ip, dst_ip, 6, len(syn))
        + tcp_syn(src_ip, dst_ip, break_csum=True),
        "drop_tcp_bad_options": eth(0x0800) + ip_header(src_ip, dst_ip, 6, 24)
        + tcp_syn(src_ip, dst_ip, options=b"\x02\x00\x00\x00"),
        "drop_tcp_malformed": eth(0x0800) + ip_header(src_ip, dst_ip, 6, 12) + syn[:12],
        "drop_arp_malformed": eth(0x0806) + b"\x00\x01\x08\x00\x06\x04\x00\x07" + b"\0" * 20,
        "drop_vlan_tagged": eth(0x8100) + b"\0" * 46,
        "drop_bad_ether_type": eth(0x88B5) + b"\0" * 46,
    }
    for kind, frame in kinds.items():
        frame = frame.ljust(60, b"\0")
        for _ in range(count):
            s.send(frame)
        print(kind, count)


if __name__ == "__main__":
    main()
