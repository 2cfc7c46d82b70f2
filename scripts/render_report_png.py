"""Render an HTML file (e.g. a report from ``dcatwatch report preview``) to PNG with Debian's
headless Chromium, to look at it as a reader would. Not part of the test suite.

    python scripts/render_report_png.py REPORT.html [--out REPORT.png] [--width 900] [--height 2000]

Needs ``chromium`` on PATH (``apt-get install chromium``). Chromium runs with a fresh profile
in a temporary directory and with its background network features switched off; a report
has no external resources, so nothing is fetched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def screenshot(html: Path, png: Path, width: int, height: int) -> None:
    """Write a ``width`` × ``height`` screenshot of ``html`` to ``png``."""
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="dcatwatch-chromium-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}",
                   f"--screenshot={png.resolve()}", f"--window-size={width},{height}",
                   html.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.exists():
        raise SystemExit(f"chromium failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the HTML file")
    parser.add_argument("--out", type=Path, help="the PNG (default: next to the HTML)")
    parser.add_argument("--width", type=int, default=900)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args(argv)
    png = args.out or args.html.with_suffix(".png")
    screenshot(args.html, png, args.width, args.height)
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
