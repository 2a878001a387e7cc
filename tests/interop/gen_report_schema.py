#!/usr/bin/env python3
"""Checks a pollux-gen --json report against its schema: every field present with its type,
the series one entry per second, and the totals consistent with the histograms.
usage: gen_report_schema.py REPORT.json   (exit 0 when valid; otherwise says what is wrong)"""
import json
import sys

NUM = (int, float)
# Busy cycles of one lcore or of all (drivers-glue/poller.cpp, pollux/lcore_load.hpp).
LOAD = {"busy_turns": int, "idle_turns": int, "empty_turn_cycles": int, "busy_cycles": int,
        "busy_fraction": NUM, "segments": int, "connections": int,
        "cycles_per_segment": NUM, "cycles_per_connection": NUM,
        "stalls": int, "stalls_after_yield": int, "stalls_over_pto": int, "max_gap_us": int}
# Retransmitted segments of one side's stack by cause (issue 13).
CAUSES = {k: int for k in ("total", "rto", "tlp", "recovery", "syn", "synack", "other",
                           "dsacked", "tlp_probes", "undos")}
SCHEMA = {
    "config": {
        "mode": str, "payload": str, "dst": str, "dst_port": int, "family": str,
        "duration_s": int,
        "connections": int, "concurrency": int, "rate": int, "req_size": int,
        "resp_size": int, "direction": str, "cc": str, "sack": bool, "timestamps": bool,
        "tlp_wc_delack_ms": int, "step_s": int, "rate_steps": list, "req_sizes": list,
        "resp_sizes": list,
    },
    "seconds": NUM,
    "series": [{
        "t": int, "opens": int, "established": int, "requests": int, "bytes_rx": int,
        "bytes_tx": int, "active": int, "errors": int, "retrans": int,
        "connect_p50_ns": int, "connect_p99_ns": int, "response_p50_ns": int,
        "response_p99_ns": int, "response_p99_9_ns": int, "target": int,
    }],
    "totals": {
        "opens": int, "established": int, "closes": int, "requests": int, "reconnects": int,
        "bytes_rx": int, "bytes_tx": int, "active": int, "conn_per_s": NUM, "req_per_s": NUM,
        "rx_gbps": NUM, "tx_gbps": NUM, "retrans": int, "port_waits": int,
        "parsers_lent": int, "parser_pool_empty": int,
        "errors": {k: int for k in ("total", "refused", "reset", "timeout", "bad_response",
                                    "non_2xx", "closed_early", "local")},
    },
    "tcp_info": {k: int for k in ("connections", "retransmits", "timeouts", "fast_recoveries",
                                  "dsacks", "spurious_undos", "sack", "timestamps", "wscale",
                                  "spurious_retransmits", "tlp_probes")},
    "latency": {
        name: {"unit": str, "count": int, "min": int, "mean": NUM, "p50": int, "p90": int,
               "p99": int, "p99_9": int, "max": int, "buckets": list}
        for name in ("connect", "response")
    },
    "cpu": {"generator": {"tsc_hz": int, "lcores": dict, "total": LOAD}},
    "stack_counters": dict,
    "retransmissions": {"generator": CAUSES},
    "destinations": [{"dst": str, "weight": int, "opens": int, "established": int,
                      "requests": int, "errors": int}],
}


def check(value, schema, path, errors):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        for key, sub in schema.items():
            if key not in value:
                errors.append(f"{path}.{key}: missing")
            else:
                check(value[key], sub, f"{path}.{key}", errors)
    elif isinstance(schema, list):
        if not isinstance(value, list):
            errors.append(f"{path}: expected an array")
            return
        for i, item in enumerate(value):
            check(item, schema[0], f"{path}[{i}]", errors)
    elif not isinstance(value, schema) or (isinstance(value, bool) and schema is not bool):
        errors.append(f"{path}: {value!r} is not {schema}")


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    errors = []
    check(doc, SCHEMA, "$", errors)
    if not errors:
        ts = [s["t"] for s in doc["series"]]
        if ts != list(range(1, len(ts) + 1)):
            errors.append(f"$.series: seconds {ts} are not 1, 2, ...")
        t = doc["totals"]
        e = t["errors"]
        parts = sum(e[k] for k in ("refused", "reset", "timeout", "bad_response",
                                   "closed_early", "local"))
        if parts != e["total"]:
            errors.append(f"$.totals.errors.total {e['total']} != sum of causes {parts}")
        if doc["config"]["cc"] not in ("newreno", "cubic"):
            errors.append(f"$.config.cc: {doc['config']['cc']!r} is not newreno or cubic")
        for side, cpu in doc["cpu"].items():
            for lcore, load in cpu["lcores"].items():
                check(load, LOAD, f"$.cpu.{side}.lcores.{lcore}", errors)
        g = doc["cpu"]["generator"]
        c = doc["stack_counters"]
        segs = c.get("tcp_segs_in", 0) + c.get("tcp_segs_out", 0)
        if g["total"]["segments"] != segs:
            errors.append(f"$.cpu.generator.total.segments {g['total']['segments']} != "
                          f"tcp_segs_in + tcp_segs_out {segs}")
        if sum(v["busy_cycles"] for v in g["lcores"].values()) != g["total"]["busy_cycles"]:
            errors.append("$.cpu.generator.total.busy_cycles is not the sum of its lcores'")
        rx = doc["retransmissions"]["generator"]
        if rx["total"] != c.get("tcp_retrans_segs", 0) or rx["total"] != sum(
                rx[k] for k in ("rto", "tlp", "recovery", "syn", "synack", "other")):
            errors.append(f"$.retransmissions.generator: causes {rx} do not add up to "
                          f"tcp_retrans_segs {c.get('tcp_retrans_segs', 0)}")
        ti = doc["tcp_info"]
        for k in ("sack", "timestamps", "wscale"):
            if ti[k] > ti["connections"]:
                errors.append(f"$.tcp_info.{k} {ti[k]} > connections {ti['connections']}")
        if not doc["config"]["sack"] and ti["sack"]:
            errors.append("$.tcp_info.sack: negotiated although the config turned SACK off")
        if not doc["config"]["timestamps"] and ti["timestamps"]:
            errors.append("$.tcp_info.timestamps: negotiated although the config turned them off")
        if doc["latency"]["response"]["count"] != t["requests"]:
            errors.append("response latency samples != requests")
        for name in ("connect", "response"):
            h = doc["latency"][name]
            if h["count"] and not (h["min"] <= h["p50"] <= h["p90"] <= h["p99"] <= h["p99_9"]
                                   <= h["max"] * 1.07 + 1):
                errors.append(f"$.latency.{name}: percentiles out of order")
        # Each second's percentiles (the histograms' difference over the second) are ordered,
        # and a run with responses has seconds that measured them.
        for s in doc["series"]:
            if not (s["response_p50_ns"] <= s["response_p99_ns"] <= s["response_p99_9_ns"]):
                errors.append(f"$.series[t={s['t']}]: response percentiles out of order")
            if not s["connect_p50_ns"] <= s["connect_p99_ns"]:
                errors.append(f"$.series[t={s['t']}]: connect percentiles out of order")
        if doc["series"] and t["requests"] and not any(s["response_p50_ns"] for s in doc["series"]):
            errors.append("$.series: responses came but no second has a response p50")
        if doc["series"] and doc["latency"]["response"]["count"]:
            worst = max(s["response_p99_9_ns"] for s in doc["series"])
            if worst > doc["latency"]["response"]["max"] * 1.01 + 1:
                errors.append(f"$.series: a second's p99.9 {worst} exceeds the run's max")
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
