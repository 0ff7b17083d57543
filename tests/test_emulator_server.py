"""Running the emulator: logging set up when a server starts, never at import."""

from __future__ import annotations

import subprocess
import sys


def test_quiet_logging_is_set_when_a_server_starts_not_at_import() -> None:
    code = """if True:
        import logging
        import imagewidgets.emulator as emulator
        log = logging.getLogger("uvicorn.error")
        assert log.filters == [], log.filters
        with emulator.serve(port=0), emulator.serve(port=0):
            pass
        with emulator.serve(port=0):
            pass
        print(*(type(f).__name__ for f in log.filters))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["_QuietDrops"]
