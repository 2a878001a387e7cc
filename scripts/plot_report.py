#!/usr/bin/python3
"""Draws a pollux-gen --json report (or a merged one, scripts/merge_reports.py) to a PNG
(issue 15 item 4): connections and requests per second, goodput, each second's latency p50 and
p99, errors per second, and the latency CDFs of the whole run from its histograms.

usage: plot_report.py REPORT.json [-o REPORT.png] [--title TEXT]
Needs python3-matplotlib (Debian). Exit code 2 with one line for a bad input.
"""
import argparse
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
except ImportError:
    # Debian's package is for Debian's python3; another one first on PATH may not see it.
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("plot_report: python3-matplotlib is missing (apt-get install python3-matplotlib)",
          file=sys.stderr)
    sys.exit(2)


def fail(msg):
    print(f"plot_report: {msg}", file=sys.stderr)
    sys.exit(2)


def cdf(h):
    """(values in us, cumulative share) at each non-empty bucket's upper edge."""
    xs, ys, seen = [], [], 0
    total = h["count"]
    for low, high, n in h["buckets"]:
        seen += n
        xs.append(min(high, h["max"]) / 1000.0)
        ys.append(seen / total)
    return xs, ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    ap.add_argument("-o", "--output")
    ap.add_argument("--title")
    a = ap.parse_args()
    try:
        with open(a.report) as f:
            d = json.load(f)
    except OSError as e:
        fail(f"cannot read {a.report}: {e.strerror}")
    except ValueError as e:
        fail(f"{a.report} is not JSON: {e}")
    if not all(k in d for k in ("config", "series", "totals", "latency")):
        fail(f"{a.report} is not a pollux-gen report")
    out = a.output or os.path.splitext(a.report)[0] + ".png"
    c, s, t = d["config"], d["series"], d["totals"]
    ts = [x["t"] for x in s]
    title = a.title or (f"pollux-gen {c['mode']} {c['payload']} to {c['dst']}:{c['dst_port']}"
                        + (f", {len(d['instances'])} instances" if "instances" in d else ""))

    fig, ax = plt.subplots(2, 2, figsize=(12, 8))
    fig.suptitle(title)
    r = ax[0][0]
    r.plot(ts, [x["established"] for x in s], label="connections/s")
    r.plot(ts, [x["requests"] for x in s], label="requests/s")
    r.set_xlabel("second")
    r.set_ylabel("per second")
    r.legend(loc="lower right")
    g = r.twinx()
    g.plot(ts, [(x["bytes_rx"] + x["bytes_tx"]) * 8 / 1e9 for x in s], "g--", label="Gb/s")
    g.set_ylabel("Gb/s (rx + tx)")
    g.legend(loc="upper right")
    r.set_title("rates")

    lat = ax[0][1]
    for key, label in (("response_p50_ns", "response p50"), ("response_p99_ns", "response p99"),
                       ("connect_p50_ns", "connect p50"), ("connect_p99_ns", "connect p99")):
        # A second that measured nothing is a gap, not a zero.
        ys = [x.get(key, 0) / 1000.0 or float("nan") for x in s]
        if any(y == y for y in ys):
            lat.plot(ts, ys, ".-", label=label)
    lat.set_yscale("log")
    lat.set_xlabel("second")
    lat.set_ylabel("us")
    lat.set_title("latency per second")
    lat.legend()

    e = ax[1][0]
    e.bar(ts, [x["errors"] for x in s], label="errors", color="tab:red")
    e.plot(ts, [x["retrans"] for x in s], "k.-", label="retransmitted segments")
    e.set_xlabel("second")
    e.set_title(f"errors (total {t['errors']['total']}) and retransmissions")
    e.legend()

    cd = ax[1][1]
    for name in ("connect", "response"):
        h = d["latency"][name]
        if h["count"]:
            xs, ys = cdf(h)
            cd.step(xs, ys, where="post",
                    label=f"{name}: p50 {h['p50'] / 1000:.1f} p99 {h['p99'] / 1000:.1f} "
                          f"p99.9 {h['p99_9'] / 1000:.1f} us")
    cd.set_xscale("log")
    cd.set_xlabel("us")
    cd.set_ylabel("share at or below")
    cd.set_title("latency CDF, whole run")
    cd.legend(loc="lower right")

    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(out)


if __name__ == "__main__":
    main()
