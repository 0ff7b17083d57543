"""Command line: ``python -m imagewidgets serve``, ``demo``, ``models`` and ``--version``."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from urllib.parse import quote

__all__ = ["demo_command", "main", "working_copy"]

_HOW_TO = """\
imagewidgets emulator: an OpenAI-compatible Images API on {url}
  this toolkit:    OPENAI_BASE_URL={url} OPENAI_API_KEY={key} python ...
                   or   iw.ImagesClient(base_url="{url}", api_key="{key}")
  official SDK:    OpenAI(base_url="{url}", api_key="{key}")
  curl:            curl {url}/images/generations -H 'Content-Type: application/json' \\
                     {auth}-d '{{"model": "{model}", "prompt": "A lighthouse"}}'
Faults for one request: add a header such as 'x-emulator-fault: status_429;retry_after=1'.
{models}
{activity}Press Ctrl+C to stop."""


def _serve(args: argparse.Namespace) -> int:
    from .emulator import serve
    from .models import default_model

    try:
        server = serve(port=args.port, latency=args.latency, api_key=args.api_key,
                       realistic=args.realistic, host=args.host, as_of=args.as_of,
                       log=not args.quiet, photographic=args.photographic,
                       batch_line_seconds=args.batch_line_seconds)
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
    activity = "" if args.quiet else ("One line per request follows: time, method, path, model, size, "
                                      "status, milliseconds (--quiet hides them).\n")
    try:
        # Printed inside the try: a Ctrl+C as soon as the URL shows still closes the server quietly.
        print(_HOW_TO.format(url=server.url, key=key, auth=auth, models=models, activity=activity,
                             model=default_model(args.as_of)), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
"""The notebooks of a source checkout; a wheel installs none."""
QUICKSTART = "01_quickstart.ipynb"
WORKING_COPY = NOTEBOOKS.parent / "demo"
"""Where ``demo`` copies the repository's notebooks (git-ignored): running a lesson
writes its outputs and images there, never into the tracked ``notebooks/``."""


def _find_notebook(notebook: str | None) -> Path:
    """The notebook ``demo`` opens: a path, or the name of a repository notebook."""
    name = notebook or QUICKSTART
    candidates = [Path(notebook)] if notebook else []
    if Path(name).name == name:  # a bare name may be one of the repository's notebooks
        candidates.append(NOTEBOOKS / name)
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        looked = " nor ".join(str(path.absolute()) for path in candidates)
        raise FileNotFoundError(f"no notebook at {looked} (the notebooks come with the source "
                                "repository, not the installed package: give a notebook's path)")
    return found.absolute()


def _is_repository_notebook(path: Path) -> bool:
    return path.resolve().parent == NOTEBOOKS.resolve()


def demo_command(notebook: str | None = None, folder: str | Path | None = None,
                 options: Sequence[str] = ()) -> list[str]:
    """The command starting JupyterLab on ``notebook``, from whatever the working directory.

    A repository notebook is opened in the working copy ``folder`` (see
    :func:`working_copy`), any other notebook where it is. JupyterLab's root is
    that folder, and the URL it prints opens the notebook itself.

    Parameters
    ----------
    notebook : str, optional
        A path (relative to the working directory), or the name of one of the
        repository's notebooks; None is the quickstart.
    folder : str or Path, optional
        The working copy of the repository's notebooks; default :data:`WORKING_COPY`.
    options : sequence of str
        More options for JupyterLab, such as ``--ServerApp.port=0``.

    Raises
    ------
    FileNotFoundError
        Saying every place looked in.
    """
    found = _find_notebook(notebook)
    root = Path(folder or WORKING_COPY).absolute() if _is_repository_notebook(found) else found.parent
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
               # LabApp's own default_url (/lab, the launcher) wins over ServerApp's: set LabApp's.
               f"--LabApp.default_url=/lab/tree/{quote(found.name)}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root otherwise (containers, Colab-like VMs)
    return [*command, *options]


def working_copy(folder: str | Path | None = None) -> list[Path]:
    """Copy the repository's notebooks into ``folder``, those not there yet; returns the copies.

    A notebook already in the folder is left as it is, so edits made in the
    working copy survive the next ``demo``; delete a file to get the lesson back.
    """
    target = Path(folder or WORKING_COPY).absolute()
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        destination = target / source.name
        if not destination.exists():
            shutil.copyfile(source, destination)
            copied.append(destination)
    return copied


def _demo(args: argparse.Namespace) -> int:
    try:
        command = demo_command(args.notebook, args.dir, args.options)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    if _is_repository_notebook(_find_notebook(args.notebook)):
        folder = Path(args.dir or WORKING_COPY).absolute()
        copied = working_copy(folder)
        kept = len(list(NOTEBOOKS.glob("*.ipynb"))) - len(copied)
        print(f"The notebooks run in a working copy: {folder} ({len(copied)} copied from "
              f"{NOTEBOOKS}{f', {kept} kept as you left them' if kept else ''}).", flush=True)
    if not os.environ.get("OPENAI_API_KEY"):
        print("OPENAI_API_KEY is not set: the panel uses the built-in emulator.", flush=True)
    return subprocess.call(command)


def _models(_args: argparse.Namespace) -> int:
    from .models import models_markdown

    print(models_markdown(), end="")
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-12-02") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="python -m imagewidgets")
    parser.add_argument("--version", action="version", version=f"imagewidgets {__version__}")
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
    serve.add_argument("--quiet", action="store_true", help="print no line per request")
    serve.add_argument("--photographic", action="store_true",
                       help="pictures with grain, sized as real photographs (a 1024x1024 PNG of "
                            "about 2.5 MB), for benchmarks")
    serve.add_argument("--batch-line-seconds", type=float, default=0.0, metavar="SECONDS",
                       help="seconds a batch takes a line, to watch one run (default: as fast as "
                            "its pictures are drawn)")
    serve.set_defaults(run=_serve)
    models = commands.add_parser("models", help="print the README's table of every known model")
    models.set_defaults(run=_models)
    demo = commands.add_parser(
        "demo", help="JupyterLab on the quickstart notebook, in a working copy of the notebooks",
        epilog="Other options go to JupyterLab as --Name.option=value, e.g. --ServerApp.port=8889.")
    demo.add_argument("notebook", nargs="?", default=None,
                      help=f"a notebook's path, or a repository notebook's name (default {QUICKSTART})")
    demo.add_argument("--dir", default=None, metavar="FOLDER",
                      help="the working copy of the repository's notebooks: those not there yet are "
                           f"copied in, the others kept (default {WORKING_COPY})")
    demo.set_defaults(run=_demo)
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "demo" or not all(o.startswith("--") and "=" in o for o in extra)):
        # Only demo passes options on, and only --Name.option=value ones (a bare value would be
        # taken for the notebook): anything else is refused as argparse refuses it.
        parser.parse_args(argv)
    args.options = extra
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
