"""The `view` subcommand: serve the viewer, or write a static bundle of it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_PORT = 8200


def add_view_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="a web page to look at runs, samples, items across models and the router")
    p.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help="a run directory or a folder of runs (default ./runs)",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default %(default)s: this machine only)"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument(
        "--bundle",
        type=Path,
        default=None,
        metavar="DIR",
        help="write a static, self-contained copy to DIR and exit",
    )
    p.add_argument(
        "--bundle-samples",
        type=int,
        default=50,
        metavar="N",
        help="samples per filter in a bundle (default 50)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="benchmark mirror, to re-render prompts (or $HARNESS_DATA_DIR)",
    )
    p.add_argument("--no-index", action="store_true", help="do not build the full-text search index")
    p.add_argument(
        "--no-open", action="store_true", help="do not open a browser (none is opened without a display)"
    )
    p.set_defaults(func=cmd_view)


def cmd_view(args: argparse.Namespace) -> int:
    from harness import settings
    from harness.view.server import Viewer, serve

    root = args.path if args.path is not None else settings.runs_dir()
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist: give a run directory or a folder of runs")
    if args.bundle is not None:
        from harness.view.bundle import write_bundle

        written = write_bundle(root, args.bundle, samples_per_filter=args.bundle_samples)
        print(f"wrote {written}", file=sys.stderr)
        print(written / "index.html")
        return 0
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"harness view: listening on {args.host}: anyone who can reach it can read these runs",
            file=sys.stderr,
        )
    viewer = Viewer(root, data_dir=settings.data_dir(args.data_dir), build_index=not args.no_index)
    runs = viewer.refresh()
    if not runs:
        raise FileNotFoundError(f"no runs under {root} (a run is a folder with results.sqlite)")

    def announce(url: str) -> None:
        print(f"harness view: {len(runs)} run(s) under {root} at {url}", file=sys.stderr, flush=True)
        if not args.no_open and _has_display():
            import webbrowser

            webbrowser.open(url)

    try:
        serve(viewer, args.host, args.port, print_url=announce)
    except OSError as exc:
        if isinstance(exc, ConnectionError):
            raise
        raise ConnectionError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    return 0


def _has_display() -> bool:
    """Open a browser only where one can appear (on a headless server it could start a text browser)."""
    import os

    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
