"""The exception tree: as drawn at the top of errors.py, mapped from statuses, explained."""

from __future__ import annotations

import inspect
import re
from datetime import date
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets import errors
from imagewidgets.errors import api_error_from
from imagewidgets.imaging import untrusted


def _drawn_tree() -> dict[str, str | None]:
    """Each class name drawn in the module docstring -> its drawn parent (None for the root)."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name), outermost first
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^[ │├└─]*([A-Z][A-Za-z]*Error)\b", line)
        if not match:
            continue
        column, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def _exception_classes() -> dict[str, type[BaseException]]:
    return {name: value for name, value in vars(errors).items()
            if inspect.isclass(value) and issubclass(value, BaseException)
            and value.__module__ == errors.__name__}


def test_the_drawn_tree_is_the_class_tree() -> None:
    drawn = _drawn_tree()
    classes = _exception_classes()
    assert drawn["ImagesError"] is None
    assert set(drawn) == set(classes), "every exception class is drawn, and only those"
    for name, parent in drawn.items():
        cls = classes[name]
        if parent is not None:
            assert cls.__bases__[0] is classes[parent], f"{name} is drawn under {parent}"
            assert issubclass(cls, classes[parent])


def test_the_tree_parser_sees_nesting() -> None:
    drawn = _drawn_tree()
    assert drawn["ContentPolicyError"] == "BadRequestError"
    assert drawn["InsufficientQuotaError"] == "RateLimitError"
    assert drawn["APITimeoutError"] == "APIConnectionError"
    assert drawn["StreamIncompleteError"] == "ImagesError"  # not under APIConnectionError
    lines = {line.split("──")[-1].split()[0]: line for line in (errors.__doc__ or "").splitlines()
             if "──" in line}
    assert "stream" not in lines["APIConnectionError"]  # a broken stream is StreamIncompleteError
    assert "broke" in lines["StreamIncompleteError"]
    assert drawn["ModelRetiredError"] == "ParamsError"
    assert len(drawn) == 18
    assert drawn["BudgetExceededError"] == "ParamsError"


def test_the_drawn_image_formats_are_those_imaging_accepts() -> None:
    line = next(line for line in (errors.__doc__ or "").splitlines() if "ImageDecodeError" in line)
    drawn = set(re.findall(r"\b[A-Z]{3,4}\b", line.split("ImageDecodeError", 1)[1]))
    assert drawn == set(untrusted._FORMATS)


def test_every_public_error_is_exported() -> None:
    assert set(_exception_classes()) <= set(errors.__all__)
    for name in _exception_classes():
        assert getattr(iw, name) is getattr(errors, name)


# -- statuses and codes --------------------------------------------------------------------


def _body(code: str | None = None, message: str = "the message", **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code,
                      **extra}}


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, None, iw.BadRequestError),
        (400, "invalid_value", iw.BadRequestError),
        (400, "content_policy_violation", iw.ContentPolicyError),
        (400, "moderation_blocked", iw.ContentPolicyError),
        (401, "invalid_api_key", iw.AuthenticationError),
        (403, None, iw.PermissionDeniedError),
        (404, "model_not_found", iw.NotFoundError),
        (409, None, iw.APIError),
        (422, None, iw.APIError),
        (429, "rate_limit_exceeded", iw.RateLimitError),
        (429, "insufficient_quota", iw.InsufficientQuotaError),
        (500, None, iw.ServerError),
        (503, None, iw.ServerError),
        (None, "moderation_blocked", iw.ContentPolicyError),  # an error event in a stream
        (None, "server_error", iw.APIError),
    ],
)
def test_status_and_code_choose_the_class(status: int | None, code: str | None,
                                          cls: type[iw.APIError]) -> None:
    error = api_error_from(status, _body(code), "req_9")
    assert type(error) is cls
    assert (error.status, error.code, error.request_id, error.message) == (status, code, "req_9",
                                                                           "the message")


def test_the_inner_error_object_is_accepted_too() -> None:
    error = api_error_from(400, {"message": "bad size", "param": "size", "code": "invalid_value"})
    assert isinstance(error, iw.BadRequestError) and error.param == "size" and error.message == "bad size"


@pytest.mark.parametrize(
    "body",
    [None, {}, {"error": None}, {"error": ""}, {"error": []}, {"error": {"message": ""}},
     {"error": {"message": 5, "code": 7, "type": [], "param": {}}}],
    ids=["none", "empty", "null", "empty-string", "list", "empty-message", "wrong-types"],
)
def test_malformed_bodies_still_give_a_useful_error(body: Any) -> None:
    error = api_error_from(502, body)
    assert type(error) is iw.ServerError
    assert "HTTP 502" in str(error) and (error.code, error.type, error.param) == (None, None, None)
    in_stream = api_error_from(None, body)
    assert type(in_stream) is iw.APIError and "the server sent an error" in str(in_stream)


# -- every message says what to do next ------------------------------------------------------

NEXT_STEP = re.compile(r"\((?:[^()]*;\s*)?[^()]*\b(try|check|set|fix|rephrase|generate|raise|wait)\b")


def _one_of_each() -> list[BaseException]:
    made: list[BaseException] = [api_error_from(status, _body(code)) for status, code in [
        (400, None), (400, "moderation_blocked"), (401, None), (403, None), (404, None),
        (418, None), (429, None), (429, "insufficient_quota"), (500, None)]]
    made += [
        api_error_from(None, _body("server_error")),
        iw.APIError("the server's answer holds no images", status=200),
        iw.APIConnectionError("could not reach https://api.test/v1"),
        iw.APITimeoutError("no answer within 600 s"),
        iw.StreamIncompleteError("the stream ended before its completed event"),
        iw.ImageExpiredError(403),
        iw.ImageDecodeError("the image is damaged or truncated"),
        errors.ModelRetiredError("dall-e-3", date(2026, 5, 12), "gpt-image-2.6-sunburst"),
        errors.BudgetExceededError(0.98, 0.044, 1.0),
        errors.BudgetExceededError(0.0, None, 1.0, opt_in="panel.spending.allow_unpriced = True"),
    ]
    return made


@pytest.mark.parametrize("error", _one_of_each(), ids=lambda error: type(error).__name__)
def test_messages_say_what_to_do_next(error: BaseException) -> None:
    assert NEXT_STEP.search(str(error)), str(error)


def test_every_class_is_covered_by_the_next_step_check() -> None:
    covered = {type(error) for error in _one_of_each()} | {iw.ParamsError, iw.ImagesError}
    assert covered == set(_exception_classes().values())


def test_params_errors_list_every_problem() -> None:
    error = iw.ParamsError(["size '512x512' is not available for gpt-image-1; choose 1024x1024 or auto",
                            "prompt is empty; describe the image to generate"])
    assert isinstance(error, ValueError) and len(error.problems) == 2
    assert str(error) == "; ".join(error.problems)
    assert str(iw.ParamsError([])) == "invalid parameters"


def test_a_stream_error_keeps_the_last_partial() -> None:
    partial = iw.PartialImage(data=b"x", format="png", width=1, height=1, partial_index=1)
    error = iw.StreamIncompleteError("the connection broke mid-stream", partial)
    assert error.last_partial is partial and "last partial image is kept" in str(error)


def test_a_retired_model_error_names_the_model_the_date_and_the_way_out() -> None:
    error = errors.ModelRetiredError("dall-e-3", date(2026, 5, 12), "gpt-image-2.6-sunburst")
    assert isinstance(error, iw.ParamsError) and isinstance(error, ValueError)
    assert (error.model, error.shutdown, error.replacement) == ("dall-e-3", date(2026, 5, 12),
                                                                "gpt-image-2.6-sunburst")
    text = str(error)
    for part in ("'dall-e-3'", "2026-05-12", "gpt-image-2.6-sunburst", "nothing was sent",
                 "ImagesClient(allow_retired=True)", "emulator"):
        assert part in text
    assert error.problems == [text]
    assert "choose a live model" in str(errors.ModelRetiredError("my-model"))


def test_an_error_may_say_its_own_next_step() -> None:
    """A redirect is not worth trying again: its error says what to check instead."""
    error = iw.APIError("the server answered with a redirect", status=307, hint="check base_url")
    assert str(error) == "307 the server answered with a redirect (check base_url)"
    assert "try again" in str(iw.APIError("boom", status=500))  # the class's hint otherwise


def test_an_error_after_retries_says_how_many_times_it_was_tried() -> None:
    error = errors.ServerError("Bad gateway.", status=502)
    error.tried(3)
    assert str(error) == "502 Bad gateway. (tried 3 times; the server failed; try again in a moment)"
    assert error.attempts == 3
    bare = errors.ImagesError("the server sent nothing")
    bare.tried(2)
    assert str(bare) == "the server sent nothing (tried 2 times)"


def test_an_error_of_one_of_n_images_holds_the_others_and_says_so() -> None:
    first = errors.ImageExpiredError(404)
    second = errors.ServerError("Bad gateway.", status=502)
    first.keep(["image 0"], {1: first, 2: second}, 3)
    assert first.images == ("image 0",) and first.failures == {1: first, 2: second}
    text = str(first)
    assert ("(images 1, 2 of 3 failed (image 2: 502 Bad gateway.); 1 of 3 images arrived and are "
            "kept in error.images; URLs live 60 minutes") in text
    assert text.endswith("response_format='b64_json')")  # the advice stays last
    alone = errors.ContentPolicyError("refused", status=400)
    alone.keep([], {0: alone}, 2)
    assert "image 0 of 2 failed; none of the 2 images arrived" in str(alone)
    assert errors.ImagesError("x").images == () and not errors.ImagesError("x").failures


def test_a_huge_server_message_is_cut_in_the_text_and_kept_whole() -> None:
    huge = "overloaded " * 2_000_000  # 22 MB
    error = api_error_from(503, {"error": {"message": huge}})
    assert len(str(error)) < errors.MAX_MESSAGE + 200
    assert f"({len(huge):,} characters; all of it in error.full_message)" in str(error)
    assert error.full_message == huge and str(error).startswith("503 overloaded overloaded")


def test_an_error_that_is_only_a_string_keeps_its_message() -> None:
    assert str(api_error_from(500, {"error": "boom"})).startswith("500 boom (")
