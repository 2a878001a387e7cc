#!/usr/bin/python3
"""Goodput vs loss rate, one line per combination, from the markdown tables the goodput
benches print: run.sh (pollux <-> pollux on the simulated link) and tap.sh (pollux <-> Linux
over net_tap). Debian's /usr/bin/python3 has matplotlib.

  plot.py SIM_TABLE.md TAP_TABLE.md OUT.png

The loss axis is symmetric-log so that 0% sits at the left edge next to 0.1%; goodput is on a
log axis because the rates span three orders of magnitude."""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    """The data rows of a markdown table as lists of stripped cells (header and rule skipped)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] == "loss" or set(cells[0]) <= set("-: "):
                continue
            out.append(cells)
    return out


def loss_of(cell):
    return float(cell.rstrip("%"))


def series(table, key, goodput_col):
    """{label: [(loss %, Mbit/s), ...]} sorted by loss."""
    by = {}
    for r in table:
        by.setdefault(key(r), []).append((loss_of(r[0]), float(r[goodput_col])))
    return {k: sorted(v) for k, v in by.items()}


def panel(ax, data, title):
    for label, pts in sorted(data.items()):
        xs, ys = zip(*pts)
        style = "-" if "sack" in label else "--"
        marker = "o" if "cubic" in label else "s"
        ax.plot(xs, ys, style, marker=marker, label=label)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xticks([0, 0.1, 1, 3])
    ax.set_xticklabels(["0", "0.1", "1", "3"])
    ax.set_yscale("log")
    ax.set_xlabel("random loss each way (%)")
    ax.set_ylabel("goodput (Mbit/s)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sim = rows(sys.argv[1])  # | loss | variant | goodput | RTOs | retransmits |
    tap = rows(sys.argv[2])  # | loss | sender | variant | goodput | ... |
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    panel(axes[0], series(sim, lambda r: "pollux " + r[1], 2),
          "pollux -> pollux, simulated link\n100 Mbit/s, 10 ms RTT (virtual time)")
    panel(axes[1], series([r for r in tap if r[1] == "pollux"], lambda r: "pollux " + r[2], 3),
          "pollux -> Linux over net_tap\n(pollux sends; Linux receives with SACK on)")
    panel(axes[2], series([r for r in tap if r[1] == "linux"], lambda r: "linux " + r[2], 3),
          "Linux -> pollux over net_tap\n(Linux sends; pollux receives, SACK on)")
    fig.suptitle("Goodput vs random loss (solid: SACK, dashed: no SACK; o CUBIC, s NewReno/Reno)")
    fig.tight_layout()
    fig.savefig(sys.argv[3], dpi=110)


if __name__ == "__main__":
    main()
