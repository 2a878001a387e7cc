#!/usr/bin/python3
"""Turns the raw reports of bench/run.sh into a markdown table (absolute values and ratios to
the Linux kernel) and PNG plots.   usage: report.py DIR SECONDS MACHINE-DESCRIPTION"""
import json
import os
import re
import sys

out, seconds, machine = sys.argv[1], float(sys.argv[2]), sys.argv[3]


def load(name):
    path = os.path.join(out, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def server_cycles_per_seg(setup, scenario):
    """Busy cycles per TCP segment of the pollux-server process (veth: its summary line)."""
    try:
        with open(os.path.join(out, f"{setup}-{scenario}.server-cpu.txt")) as f:
            for line in f:
                m = re.search(r"cpu server (?:total|lcore \d+): .*?([\d.]+) cycles per TCP segment",
                              line)
                if m:
                    return float(m.group(1))
    except OSError:
        pass
    return None


def pollux(setup, scenario):
    """(value, unit-free) metrics of a pollux-gen report, or None."""
    d = load(f"{setup}-{scenario}")
    if not d:
        return None
    t, lat = d["totals"], d["latency"]["response"]
    cpu = d.get("cpu", {})
    gen_cps = cpu.get("generator", {}).get("total", {}).get("cycles_per_segment")
    srv_cps = cpu.get("local_server", {}).get("total", {}).get("cycles_per_segment")
    if srv_cps is None:
        srv_cps = server_cycles_per_seg(setup, scenario)
    return {
        "conn_per_s": t["conn_per_s"],
        "req_per_s": t["req_per_s"],
        "gbps": t["rx_gbps"] + t["tx_gbps"],
        "p50_us": lat["p50"] / 1000 if lat["count"] else None,
        "p99_us": lat["p99"] / 1000 if lat["count"] else None,
        "errors": t["errors"]["total"],
        "retrans": t["retrans"],
        # Busy cycles (drivers-glue/poller.cpp) per TCP segment received or sent, each side,
        # and end to end: one segment sent by one stack and received by the other.
        "gen_cps": gen_cps or None,
        "srv_cps": srv_cps or None,
        "e2e_cps": gen_cps + srv_cps if gen_cps and srv_cps else None,
    }


def linux_name(scenario):
    """The Linux run a pollux row is compared with: every IPv4 bulk row with Linux's one IPv4
    bulk run (veth with GSO/GRO), an IPv6 row with Linux's run over IPv6."""
    if scenario.endswith("-v6"):
        return scenario
    return scenario.split("-")[0]


def linux(scenario):
    if scenario.startswith("bulk"):
        d = load(f"linux-{scenario}")
        if not d or "end" not in d:
            return None
        e = d["end"]
        return {"gbps": e["sum_received"]["bits_per_second"] / 1e9,
                "retrans": e["sum_sent"].get("retransmits", 0), "errors": 0}
    d = load(f"linux-{scenario}")
    if not d:
        return None
    return {"conn_per_s": d["req_per_s"] if scenario.startswith("cps") else None,
            "req_per_s": d["req_per_s"], "p50_us": d["p50_us"], "p99_us": d["p99_us"],
            "errors": d["errors"]}


rows = [  # scenario, metric, label, higher is better
    ("cps", "conn_per_s", "CPS, HTTP Connection: close, 32 in flight (conn/s)", True),
    ("cps", "p99_us", "CPS p99 response latency (us)", False),
    ("cps-v6", "conn_per_s", "CPS over IPv6, the same (conn/s)", True),
    ("rps", "req_per_s", "RPS, HTTP keep-alive, 32 connections (req/s)", True),
    ("rps", "p99_us", "RPS p99 latency (us)", False),
    ("pingpong", "req_per_s", "Ping-pong, 1 connection (req/s)", True),
    ("pingpong", "p50_us", "Ping-pong p50 latency (us)", False),
    ("pingpong", "p99_us", "Ping-pong p99 latency (us)", False),
    ("bulk", "gbps", "Bulk goodput, 1 stream, MTU 1500, link offloads all: TSO/LRO (Gb/s)", True),
    ("bulk-v6", "gbps", "Bulk goodput over IPv6, the same (MSS 1440) (Gb/s)", True),
    ("bulk-csum", "gbps", "Bulk goodput, the same with checksum offload only (Gb/s)", True),
    ("bulk-nooffload", "gbps", "Bulk goodput, the same with no offloads: MTU frames, checksums "
     "in software (Gb/s)", True),
]


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def ratio(v, base, higher_better):
    if v is None or not base:
        return "-"
    return f"{v / base:.2f}x" if higher_better else f"{base / v:.2f}x" if v else "-"


lines = [f"Machine: {machine}. Each run {seconds:g} s; client side on CPU 0, server side on "
         "CPU 1 in every setup.", "",
         "| scenario | pollux in-memory | pollux veth (af_packet) | pollux veth (af_xdp) | "
         "Linux (veth) | in-memory vs Linux | af_packet vs Linux | af_xdp vs Linux |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
plot = []
for scenario, metric, label, higher in rows:
    # Every IPv4 bulk row is compared with Linux's one bulk run (veth with GSO/GRO), each -v6
    # row with Linux's IPv6 run.
    m, v, x = (pollux(setup, scenario) for setup in ("memory", "veth", "vethxdp"))
    l = linux(linux_name(scenario))
    mv, vv, xv, lv = (r.get(metric) if r else None for r in (m, v, x, l))
    lines.append(f"| {label} | {fmt(mv)} | {fmt(vv)} | {fmt(xv)} | {fmt(lv)} | "
                 f"{ratio(mv, lv, higher)} | {ratio(vv, lv, higher)} | {ratio(xv, lv, higher)} |")
    plot.append((label, mv, vv, xv, lv))
lines.append("")
lines.append("Ratios are \"times better than Linux\" (for latency: Linux's value over ours).")

# Errors and retransmissions: a fast wrong answer is no answer.
lines.append("")
lines.append("| run | errors | retransmitted segments | busy cycles per TCP segment: pollux-gen "
             "| pollux-server | end to end |")
lines.append("|---|---:|---:|---:|---:|---:|")
for scenario in ("cps", "cps-v6", "rps", "pingpong", "bulk", "bulk-csum", "bulk-nooffload",
                 "bulk-v6"):
    for setup in ("memory", "veth", "vethxdp"):
        p = pollux(setup, scenario)
        if p:
            lines.append(f"| pollux {setup} {scenario} | {p['errors']} | {p['retrans']} | "
                         f"{fmt(p['gen_cps'])} | {fmt(p['srv_cps'])} | {fmt(p['e2e_cps'])} |")
    l = linux(scenario) if linux_name(scenario) == scenario else None  # one Linux IPv4 bulk row
    if l:
        lines.append(f"| linux {scenario} | {l['errors']} | {l.get('retrans', '-')} | - | - | - |")

# Retransmissions by cause (issue 13). The in-memory link loses nothing, so each of its
# retransmissions is a timer that fired before the ACK came: a tail loss probe (PTO, 2 ms
# at least) or an RTO, while the peer's lcore was off its CPU. The stalls columns count the
# turns each lcore began 2 ms or more after the previous one (drivers-glue/poller.cpp),
# and D-SACKed the retransmissions the peer reported as duplicates (not needed).
cause_rows = []
for scenario in ("cps", "cps-v6", "rps", "pingpong", "bulk", "bulk-csum", "bulk-nooffload",
                 "bulk-v6"):
    for setup in ("memory", "veth", "vethxdp"):
        d = load(f"{setup}-{scenario}")
        if not d or "retransmissions" not in d:
            continue
        cpu = d.get("cpu", {})
        def stalls(who):
            tot = cpu.get(who, {}).get("total", {})
            if "stalls_over_pto" not in tot:
                return "-"
            return f"{tot['stalls_over_pto']} (longest {tot['max_gap_us'] / 1000:.1f} ms)"
        for side, who in (("gen", "generator"), ("server", "local_server")):
            r = d["retransmissions"].get(who)
            if r is None:
                continue
            cause_rows.append(
                f"| pollux {setup} {scenario} | {side} | {r['total']} | {r['rto']} | {r['tlp']} | "
                f"{r['recovery']} | {r['syn']} | {r['synack']} | {r['other']} | {r['dsacked']} | "
                f"{stalls(who)} | {stalls('local_server' if who == 'generator' else 'generator')} |")
if cause_rows:
    lines.append("")
    lines.append("Retransmissions by cause (sent by the side named; stalls: turns begun 2 ms or "
                 "more after the previous one, the lcore off its CPU):")
    lines.append("")
    lines.append("| run | side | retransmitted | RTO | tail loss probe | recovery (fast, RACK) | "
                 "SYN | SYN-ACK | other | D-SACKed (not needed) | its stalls >= 2 ms | "
                 "peer's stalls >= 2 ms |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines.extend(cause_rows)

mem_p, mem_l = load("memory-idle"), load("linux-idle")
lines.append("")
if mem_p and mem_l and mem_p["rss_kb_held"] and mem_l["kernel_kb_held"]:
    n = mem_p["conns"]
    # Both ends of every connection live in the measured memory in both setups.
    per_p = (mem_p["rss_kb_held"] - mem_p["rss_kb_16"]) * 1024 / (2 * n)
    per_l = (mem_l["kernel_kb_held"] - mem_l["kernel_kb_before"]) * 1024 / (2 * max(mem_l["conns"], 1))
    lines.append(f"Memory per idle connection endpoint, {n:,} connections held: pollux "
                 f"{per_p:,.0f} B (process RSS with tables sized for them, minus a run holding 16 in "
                 f"1024-entry tables), "
                 f"Linux {per_l:,.0f} B (kernel slab and TCP pages with {mem_l['conns']:,} held, minus "
                 f"before); "
                 f"ratio {per_l / per_p:.2f}x." if per_p > 0 else
                 f"Memory per idle connection: pollux {per_p:.0f} B, Linux {per_l:.0f} B.")
else:
    lines.append("Memory per idle connection: not measured in this run.")
print("\n".join(lines))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 4, figsize=(16, 10))
    for ax, (label, *vals) in zip(axes.flat, plot):
        names = ["pollux\nin-memory", "pollux veth\naf_packet", "pollux veth\naf_xdp",
                 "Linux\nveth"]
        vals = [v or 0 for v in vals]
        ax.bar(names, vals, color=["#2a6f97", "#61a5c2", "#89c2d9", "#999999"])
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"pollux vs Linux: {machine}", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bench.png"), dpi=90)
except ImportError:
    print("\n(matplotlib missing: no plot)", file=sys.stderr)
