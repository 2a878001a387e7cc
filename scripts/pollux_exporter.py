#!/usr/bin/python3
"""Serves pollux's DPDK telemetry as Prometheus metrics (issue 15.1).

Each scrape asks every pollux process's telemetry socket (/var/run/dpdk/PREFIX/
dpdk_telemetry.v2) for /pollux/runtimes, then per runtime /pollux/counters, /pollux/lcores and
/pollux/ports, and /pollux/gen where the process is a pollux-gen. Nothing is cached: a process
that went away is reported as pollux_up 0 and its series disappear.

usage: pollux_exporter.py [--listen [ADDR:]PORT] [--per-lcore] [SOCKET ...]
  SOCKET       telemetry sockets to read (default: every /var/run/dpdk/*/dpdk_telemetry.v2,
               found again at each scrape)
  --listen     where to serve /metrics (default 127.0.0.1:9469)
  --per-lcore  also export every counter per lcore (many more series)
  --once       print one scrape to stdout and exit (for scripts and tests)
Needs python3-prometheus-client (Debian).
"""
import argparse
import glob
import json
import os
import socket
import sys
import time

try:
    from prometheus_client import start_http_server
    from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.exposition import generate_latest
except ImportError:
    # Debian's package is for Debian's python3; another one first on PATH (pyenv, a venv)
    # does not see it.
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("pollux_exporter: python3-prometheus-client is missing "
          "(apt-get install python3-prometheus-client)", file=sys.stderr)
    sys.exit(2)

PORT_COUNTERS = ("ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors",
                 "rx_nombuf")
LCORE_COUNTERS = ("busy_turns", "idle_turns", "busy_cycles", "segments", "connections",
                  "steered_in", "steered_out")
GEN_COUNTERS = ("opens", "established", "closes", "requests", "bytes_tx", "bytes_rx",
                "reconnects", "retrans")


class Telemetry:
    """One telemetry socket: SOCK_SEQPACKET, a JSON hello, then one JSON reply per command."""

    def __init__(self, path, timeout=2.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        hello = json.loads(self.sock.recv(4096))
        self.max_len = hello.get("max_output_len", 16384)

    def ask(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len))
        return reply.get(cmd.split(",")[0])

    def close(self):
        self.sock.close()


def prefix_of(path):
    parts = path.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else path


class PolluxCollector:
    def __init__(self, sockets, per_lcore):
        self.sockets = sockets
        self.per_lcore = per_lcore

    def paths(self):
        return self.sockets or sorted(glob.glob("/var/run/dpdk/*/dpdk_telemetry.v2"))

    def collect(self):
        up = GaugeMetricFamily("pollux_up", "1 when the process's telemetry socket answered",
                               labels=["prefix"])
        counters = CounterMetricFamily("pollux_counter", "pollux's named counters, summed "
                                       "over a runtime's lcores", labels=["prefix", "runtime",
                                                                          "counter"])
        per_lcore = CounterMetricFamily("pollux_lcore_counter", "pollux's named counters per "
                                        "lcore", labels=["prefix", "runtime", "lcore", "counter"])
        lcore = {k: CounterMetricFamily(f"pollux_lcore_{k}", f"per lcore: {k}",
                                        labels=["prefix", "runtime", "lcore"])
                 for k in LCORE_COUNTERS}
        busy = GaugeMetricFamily("pollux_lcore_busy_ratio", "share of the lcore's cycles in "
                                 "turns that did work", labels=["prefix", "runtime", "lcore"])
        port = {k: CounterMetricFamily(f"pollux_port_{k}", f"rte_eth_stats {k}",
                                       labels=["prefix", "runtime", "port", "driver"])
                for k in PORT_COUNTERS}
        link = GaugeMetricFamily("pollux_port_link_up", "1 when the link is up",
                                 labels=["prefix", "runtime", "port", "driver"])
        gen = {k: CounterMetricFamily(f"pollux_gen_{k}", f"pollux-gen: {k} so far",
                                      labels=["prefix"]) for k in GEN_COUNTERS}
        gen_errors = CounterMetricFamily("pollux_gen_errors", "pollux-gen: errors by cause",
                                         labels=["prefix", "cause"])
        gen_active = GaugeMetricFamily("pollux_gen_active_connections",
                                       "pollux-gen: connections open now", labels=["prefix"])
        gen_latency = GaugeMetricFamily(
            "pollux_gen_latency_seconds", "pollux-gen: latency percentiles over the whole run "
            "(window=run) or the last whole second (window=last_second)",
            labels=["prefix", "kind", "quantile", "window"])
        for path in self.paths():
            prefix = prefix_of(path)
            try:
                t = Telemetry(path)
            except OSError:
                up.add_metric([prefix], 0)
                continue
            try:
                runtimes = t.ask("/pollux/runtimes")
                if not isinstance(runtimes, list):  # a DPDK process that is not pollux
                    continue
                for rt in runtimes:
                    c = t.ask(f"/pollux/counters,{rt}") or {}
                    for name, value in c.items():
                        if isinstance(value, int):
                            counters.add_metric([prefix, rt, name], value)
                    if self.per_lcore:
                        pl = t.ask(f"/pollux/lcore_counters,{rt}") or {}
                        ids = pl.get("lcores", [])
                        for name, values in pl.items():
                            if name != "lcores":
                                for lc, v in zip(ids, values):
                                    per_lcore.add_metric([prefix, rt, str(lc), name], v)
                    lc = t.ask(f"/pollux/lcores,{rt}") or {}
                    for i, lid in enumerate(lc.get("lcore", [])):
                        labels = [prefix, rt, str(lid)]
                        for k in LCORE_COUNTERS:
                            if k in lc:
                                lcore[k].add_metric(labels, lc[k][i])
                        if "busy_ppm" in lc:
                            busy.add_metric(labels, lc["busy_ppm"][i] / 1e6)
                    p = t.ask(f"/pollux/ports,{rt}") or {}
                    if "port_id" in p:
                        labels = [prefix, rt, str(p["port_id"]), p.get("driver", "")]
                        for k in PORT_COUNTERS:
                            if k in p:
                                port[k].add_metric(labels, p[k])
                        if "link_up" in p:
                            link.add_metric(labels, p["link_up"])
                g = t.ask("/pollux/gen") if "gen" in runtimes else None
                if isinstance(g, dict):
                    for k in GEN_COUNTERS:
                        if k in g:
                            gen[k].add_metric([prefix], g[k])
                    for k, v in g.items():
                        if k.startswith("errors/"):
                            gen_errors.add_metric([prefix, k[len("errors/"):]], v)
                        for window, head in (("run", "latency/"), ("last_second", "last_second/")):
                            if k.startswith(head) and k.endswith("_ns") and "_p" in k:
                                kind, q = k[len(head):-len("_ns")].split("_p", 1)
                                quantile = {"50": "0.5", "99": "0.99", "99_9": "0.999"}.get(q)
                                if quantile:
                                    gen_latency.add_metric([prefix, kind, quantile, window],
                                                           v / 1e9)
                    if "active" in g:
                        gen_active.add_metric([prefix], g["active"])
                up.add_metric([prefix], 1)
            except (OSError, ValueError):
                up.add_metric([prefix], 0)
            finally:
                t.close()
        yield up
        yield counters
        if self.per_lcore:
            yield per_lcore
        yield from lcore.values()
        yield busy
        yield from port.values()
        yield link
        yield from gen.values()
        yield gen_errors
        yield gen_active
        yield gen_latency


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sockets", nargs="*")
    ap.add_argument("--listen", default="127.0.0.1:9469")
    ap.add_argument("--per-lcore", action="store_true")
    ap.add_argument("--once", action="store_true")
    a = ap.parse_args()
    addr, _, port = a.listen.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        print(f"pollux_exporter: --listen takes [ADDR:]PORT, not '{a.listen}'", file=sys.stderr)
        sys.exit(2)
    REGISTRY.register(PolluxCollector(a.sockets, a.per_lcore))
    if a.once:
        sys.stdout.write(generate_latest(REGISTRY).decode())
        return
    start_http_server(int(port), addr=addr or "0.0.0.0")
    print(f"pollux_exporter: serving http://{addr or '0.0.0.0'}:{port}/metrics", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
