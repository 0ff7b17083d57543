"""Text in messages and in requests: short quotes of values, and text JSON cannot carry."""

from __future__ import annotations

import re
import reprlib

__all__ = ["LONE_SURROGATE", "shown", "unencodable_problem"]

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxtuple = 4
_SHOWN.maxlevel = 2


def shown(value: object) -> str:
    """``value`` as a message may quote it: a short ``repr``, at most about 60 characters.

    ``repr`` escapes what could garble a log or a terminal (escape sequences,
    direction overrides, lone surrogates); a 20 MB value from a server stays short.
    """
    try:
        return _SHOWN.repr(value)
    except ValueError:  # an int too long to write out
        return f"<a {type(value).__name__}>"


LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A lone surrogate: a character with no UTF-8 form (JSON can still spell one, ``"\\ud800"``)."""


def unencodable_problem(name: str, text: str) -> str | None:
    """Why ``text`` cannot be sent as field ``name``, or None when it can.

    A lone surrogate (half of a pair, e.g. from text cut in two) has no UTF-8
    form: the JSON body could not be written.
    """
    found = LONE_SURROGATE.search(text)
    if found is None:
        return None
    return (f"{name} holds a character that cannot be encoded (U+{ord(found[0]):04X}, at position "
            f"{found.start()}: half of a surrogate pair, often left by cutting text in two); "
            "remove it or retype the text around it")
