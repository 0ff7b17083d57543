"""Command line: ``python -m imagewidgets serve`` and ``python -m imagewidgets demo``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

__all__ = ["main"]

_HOW_TO = """\
imagewidgets emulator: an OpenAI-compatible Images API on {url}
  this toolkit:    OPENAI_BASE_URL={url} OPENAI_API_KEY={key} python ...
                   or   iw.ImagesClient(base_url="{url}", api_key="{key}")
  official SDK:    OpenAI(base_url="{url}", api_key="{key}")
  curl:            curl {url}/images/generations -H 'Content-Type: application/json' \\
                     {auth}-d '{{"model": "{model}", "prompt": "A lighthouse"}}'
Faults for one request: add a header such as 'x-emulator-fault: status_429;retry_after=1'.
{models}
Press Ctrl+C to stop."""


def _serve(args: argparse.Namespace) -> int:
    from .capabilities import default_model
    from .emulator import serve

    try:
        server = serve(port=args.port, latency=args.latency, api_key=args.api_key,
                       realistic=args.realistic, host=args.host, as_of=args.as_of)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror or error} "
              "(choose another --port, or 0 for any free one)", file=sys.stderr)
        return 1
    # The key is never printed back: it may be shown on a projector or kept in a log.
    key = "<your --api-key>" if args.api_key else "anything"
    auth = "-H 'Authorization: Bearer <your --api-key>' " if args.api_key else ""
    models = (f"Models: as the API on {args.as_of}; those shut down by then are refused."
              if args.as_of else "Models: every model, those the API has shut down too "
                                 "(--as-of DATE refuses them as the API does).")
    print(_HOW_TO.format(url=server.url, key=key, auth=auth, models=models,
                         model=default_model(args.as_of)), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _demo(args: argparse.Namespace) -> int:
    notebook = Path(args.notebook)
    if not notebook.exists():
        print(f"no notebook at {notebook}", file=sys.stderr)
        return 2
    if not os.environ.get("OPENAI_API_KEY"):
        print("OPENAI_API_KEY is not set: the panel uses the built-in emulator.", flush=True)
    return subprocess.call([sys.executable, "-m", "jupyterlab", str(notebook)])


def _models(_args: argparse.Namespace) -> int:
    from .catalog import models_markdown

    print(models_markdown(), end="")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-12-02") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m imagewidgets")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the built-in emulator in the foreground")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--realistic", action="store_true",
                       help="take seconds that grow with quality and size, as the API does")
    serve.add_argument("--latency", type=float, default=0.0, help="extra seconds per request")
    serve.add_argument("--api-key", default=None, help="demand this key as a Bearer token")
    serve.add_argument("--as-of", type=_day, default=None, metavar="DATE",
                       help="answer as the API on this day (YYYY-MM-DD): refuse the models "
                            "shut down by then (default: serve every model)")
    serve.set_defaults(run=_serve)
    models = commands.add_parser("models", help="print the README's table of every known model")
    models.set_defaults(run=_models)
    demo = commands.add_parser("demo", help="JupyterLab on the quickstart notebook")
    demo.add_argument("notebook", nargs="?", default="notebooks/01_quickstart.ipynb")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
