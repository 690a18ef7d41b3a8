"""Training curves of crn-train runs as one SVG (no plotting library needed).

    python benchmarks/plot_training.py runs/small/log.jsonl runs/other/log.jsonl \
        --out docs/training_small.svg

Left panel: training loss (total) per log interval; right panel: validation SDRi (dB).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
W, H, PAD = 420, 260, 44


def read(path: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    loss, sdri = [], []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "total" in record:
            loss.append((record["step"], record["total"]))
        if record.get("val_sdri") is not None:
            sdri.append((record["step"], record["val_sdri"]))
    return loss, sdri


def panel(x0: int, title: str, series: list[tuple[str, list[tuple[float, float]]]]) -> str:
    points = [p for _, s in series for p in s]
    if not points:
        return ""
    xmax = max(p[0] for p in points) or 1
    ymin, ymax = min(p[1] for p in points), max(p[1] for p in points)
    ymin, ymax = (ymin - 0.5, ymax + 0.5) if ymin == ymax else (ymin, ymax)

    def xy(p: tuple[float, float]) -> str:
        x = x0 + PAD + (W - 2 * PAD) * p[0] / xmax
        y = H - PAD - (H - 2 * PAD) * (p[1] - ymin) / (ymax - ymin)
        return f"{x:.1f},{y:.1f}"

    out = [f'<rect x="{x0 + PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" '
           f'fill="none" stroke="#999"/>',
           f'<text x="{x0 + W / 2}" y="{PAD - 14}" text-anchor="middle">{title}</text>',
           f'<text x="{x0 + PAD}" y="{H - PAD + 16}">0</text>',
           f'<text x="{x0 + W - PAD}" y="{H - PAD + 16}" text-anchor="end">{xmax:.0f} steps'
           f'</text>',
           f'<text x="{x0 + PAD - 4}" y="{PAD + 4}" text-anchor="end">{ymax:.2f}</text>',
           f'<text x="{x0 + PAD - 4}" y="{H - PAD}" text-anchor="end">{ymin:.2f}</text>']
    for k, (name, s) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        if s:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{" ".join(xy(p) for p in s)}"/>')
        out.append(f'<text x="{x0 + PAD + 6}" y="{PAD + 16 + 14 * k}" fill="{colour}">{name}'
                   f'</text>')
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="crn-train log.jsonl files -> one SVG of curves")
    p.add_argument("logs", type=Path, nargs="+", help="log.jsonl of each run")
    p.add_argument("--names", help="comma-separated legend names (default: run folder names)")
    p.add_argument("--out", type=Path, required=True, help="SVG file to write")
    args = p.parse_args(argv)
    missing = [str(log) for log in args.logs if not log.is_file()]
    if missing:
        print(f"plot_training: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    names = args.names.split(",") if args.names else [log.parent.name for log in args.logs]
    runs = [(name, *read(log)) for name, log in zip(names, args.logs)]
    body = (panel(0, "training loss", [(n, loss) for n, loss, _ in runs]) + "\n" +
            panel(W, "validation SDRi (dB)", [(n, sdri) for n, _, sdri in runs]))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" '
           f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" '
           f'fill="white"/>\n{body}\n</svg>\n')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(svg)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
