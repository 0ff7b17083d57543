"""Text in messages and requests: values quoted short and escaped, text a request cannot carry."""

from __future__ import annotations

from imagewidgets.models import shown, unencodable_problem


def test_a_quoted_value_is_short_escaped_and_encodable() -> None:
    quoted = shown("\x1b[31m\u202e" + "A" * 1_000_000 + "\ud800")  # as a hostile server sends
    assert len(quoted) < 80 and quoted.startswith("'\\x1b[31m\\u202e")
    assert "\x1b" not in quoted and "\u202e" not in quoted
    quoted.encode("utf-8")  # no lone surrogate either: it can be logged and shown anywhere
    assert shown(10**5000) == "<a int>"  # too long for repr: named, not raised


def test_a_lone_surrogate_is_named_with_its_field_and_position() -> None:
    assert unencodable_problem("prompt", "A fox at dusk") is None
    problem = unencodable_problem("user", "user-\udc00")
    assert problem is not None
    assert problem.startswith("user holds a character that cannot be encoded (U+DC00, at position 5:")
    assert "retype" in problem  # what to do
