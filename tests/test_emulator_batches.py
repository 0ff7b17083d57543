"""``/v1/batches`` of the emulator, with the official ``openai`` SDK as client: create, retrieve, list,
cancel; output and error files in the API's line format; faults for expiry and partial failure."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import Batch
from PIL import Image

from imagewidgets.emulator import EmulatorServer

from samples import PNG
from waiting import until_sync

GENERATIONS = "/v1/images/generations"
ENDED = ("failed", "completed", "expired", "cancelled")


def request_line(custom_id: str, url: str = GENERATIONS, **body: Any) -> dict[str, Any]:
    """One input line: a small, quick generation unless ``body`` says otherwise."""
    return {"custom_id": custom_id, "method": "POST", "url": url,
            "body": {"model": "gpt-image-1", "prompt": f"A lighthouse, take {custom_id}",
                     "quality": "low", "size": "1024x1024", **body}}


def upload(sdk: openai.OpenAI, lines: list[Any]) -> str:
    """An input file of these lines (dicts as JSON, text as it is); its id."""
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    return sdk.files.create(file=("requests.jsonl", text.encode()), purpose="batch").id


def finished(sdk: openai.OpenAI, batch_id: str) -> Batch:
    """The batch once it has ended, polled as a client polls (the bound is only for a stuck one)."""
    until_sync(lambda: sdk.batches.retrieve(batch_id).status in ENDED, f"batch {batch_id} ending")
    return sdk.batches.retrieve(batch_id)


def lines_of(sdk: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in sdk.files.content(file_id).text.splitlines()]


def run(sdk: openai.OpenAI, lines: list[Any], **create: Any) -> Batch:
    batch = sdk.batches.create(input_file_id=upload(sdk, lines), endpoint=GENERATIONS,
                               completion_window="24h", **create)
    return finished(sdk, batch.id)


@pytest.fixture
def quiet(server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The shared server with no fault left over and quick batches, after the test too."""
    server.clear_faults()
    yield server
    server.clear_faults()
    server.state.batch_line_seconds = 0.0


def test_a_good_batch_completes_with_its_counts_output_lines_and_usage(
        sdk: openai.OpenAI, quiet: EmulatorServer) -> None:
    image_requests = quiet.request_count
    batch = run(sdk, [request_line(f"cell-{index}") for index in range(3)],
                metadata={"grid": "lighthouse"})
    assert batch.status == "completed" and batch.errors is None
    assert (batch.request_counts.total, batch.request_counts.completed,  # type: ignore[union-attr]
            batch.request_counts.failed) == (3, 3, 0)  # type: ignore[union-attr]
    assert batch.model == "gpt-image-1" and batch.metadata == {"grid": "lighthouse"}
    assert batch.error_file_id is None  # no line failed
    assert batch.created_at <= batch.in_progress_at <= batch.finalizing_at  # type: ignore[operator]
    assert batch.finalizing_at <= batch.completed_at  # type: ignore[operator]
    assert batch.expires_at == batch.created_at + 24 * 3600
    assert batch.usage is not None and batch.usage.output_tokens == 3 * 272  # low, 1024x1024
    output = lines_of(sdk, batch.output_file_id)
    assert [line["custom_id"] for line in output] == ["cell-0", "cell-1", "cell-2"]
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"].startswith("req_")
        image = Image.open(io.BytesIO(base64.b64decode(response["body"]["data"][0]["b64_json"])))
        assert image.size == (1024, 1024)
        assert response["body"]["usage"]["output_tokens"] == 272
    # The lines were not HTTP requests: neither counted nor logged.
    assert quiet.request_count == image_requests
    assert {entry["path"].split("/")[2] for entry in quiet.log} <= {"files", "batches", "images",
                                                                     "models"}
    assert not [entry for entry in quiet.log if entry["path"] == GENERATIONS
                and "take cell-" in str(entry["json"])]


def test_a_malformed_file_fails_with_errors_naming_its_lines(sdk: openai.OpenAI,
                                                             quiet: EmulatorServer) -> None:
    lines = ['{"custom_id": "broken", ',                                   # 1: not JSON
             {"custom_id": "no-body", "method": "POST", "url": GENERATIONS},  # 2: no body
             request_line("wrong-url", url="/v1/images/edits"),              # 3
             request_line("fine"),                                          # 4
             request_line("fine"),                                          # 5: same custom_id
             request_line("old", model="dall-e-3"),                         # 6: takes no batch
             request_line("other", model="gpt-image-1.5")]                   # 7: a second model
    batch = run(sdk, lines)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.data is not None
    found = {(error.line, error.code, error.param) for error in batch.errors.data}
    assert found == {(1, "invalid_json_line", None), (2, "missing_required_parameter", "body"),
                     (3, "invalid_url", "url"), (5, "duplicate_custom_id", "custom_id"),
                     (6, "model_not_supported", "body.model"),
                     (7, "mismatched_model", "body.model")}
    by_line = {error.line: error.message or "" for error in batch.errors.data}
    assert "/v1/images/edits" in by_line[3] and GENERATIONS in by_line[3]
    assert "dall-e-3" in by_line[6] and "gpt-image-1.5" in by_line[7]


def test_an_expired_batch_keeps_its_finished_lines_and_reports_the_rest(
        sdk: openai.OpenAI, quiet: EmulatorServer) -> None:
    quiet.inject("batch_expired", after=2)
    batch = run(sdk, [request_line(f"cell-{index}") for index in range(4)])
    assert batch.status == "expired" and batch.expired_at is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 2)  # type: ignore[union-attr]
    assert [line["custom_id"] for line in lines_of(sdk, batch.output_file_id)] == ["cell-0",
                                                                                  "cell-1"]
    rest = lines_of(sdk, batch.error_file_id)
    assert [line["custom_id"] for line in rest] == ["cell-2", "cell-3"]
    for line in rest:
        assert line["response"] is None and line["error"]["code"] == "batch_expired"
        assert "completion window expired" in line["error"]["message"]


def test_partial_failure_puts_failed_lines_with_the_api_error_body_in_the_error_file(
        sdk: openai.OpenAI, quiet: EmulatorServer) -> None:
    quiet.inject("batch_partial", every=2)
    lines = [request_line("cell-0"), request_line("cell-1"),
             request_line("refused", prompt="A forbidden picture"), request_line("cell-3")]
    batch = run(sdk, lines)
    assert batch.status == "completed"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 3)  # type: ignore[union-attr]
    assert [line["custom_id"] for line in lines_of(sdk, batch.output_file_id)] == ["cell-0"]
    failed = {line["custom_id"]: line["response"] for line in lines_of(sdk, batch.error_file_id)}
    assert set(failed) == {"cell-1", "refused", "cell-3"}
    assert failed["cell-1"]["status_code"] == 500 == failed["cell-3"]["status_code"]
    assert failed["cell-1"]["body"]["error"]["type"] == "server_error"
    # Line 3 is not a faulted one (every 2nd: lines 2 and 4): the moderation refuses it.
    assert failed["refused"]["status_code"] == 400
    assert failed["refused"]["body"]["error"]["code"] == "moderation_blocked"


def test_cancel_stops_a_running_batch_and_reports_its_lines(sdk: openai.OpenAI,
                                                            quiet: EmulatorServer) -> None:
    quiet.state.batch_line_seconds = 600.0  # a demo's pace: the batch is running when cancelled
    created = sdk.batches.create(input_file_id=upload(sdk, [request_line("a"), request_line("b")]),
                                 endpoint=GENERATIONS, completion_window="24h")
    cancelling = sdk.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    batch = finished(sdk, created.id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    assert batch.output_file_id is None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 2)  # type: ignore[union-attr]
    assert {line["error"]["code"] for line in lines_of(sdk, batch.error_file_id)} == {
        "batch_cancelled"}
    with pytest.raises(openai.BadRequestError, match="status 'cancelled'"):
        sdk.batches.cancel(created.id)


def test_list_pages_newest_first_with_after_and_limit(sdk: openai.OpenAI,
                                                      quiet: EmulatorServer) -> None:
    empty = upload(sdk, [""])  # fails at once: no drawing needed
    made = [sdk.batches.create(input_file_id=empty, endpoint=GENERATIONS,
                               completion_window="24h").id for _ in range(3)]
    page = sdk.batches.list(limit=2)
    assert [batch.id for batch in page.data] == made[::-1][:2]
    assert page.has_more and page.last_id == made[1] and page.first_id == made[2]
    following = sdk.batches.list(limit=2, after=made[1])
    assert following.data[0].id == made[0]
    everything = [batch.id for batch in sdk.batches.list(limit=2)]  # the SDK follows the pages
    assert everything[:3] == made[::-1]
    assert finished(sdk, made[0]).errors.data[0].code == "empty_file"  # type: ignore[union-attr, index]


def test_an_edit_line_takes_its_images_as_data_urls(sdk: openai.OpenAI,
                                                    quiet: EmulatorServer) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    line = request_line("edit", url="/v1/images/edits", prompt="Add a red boat",
                        images=[{"image_url": data_url}], size="auto")
    uploaded = sdk.files.create(file=("boat.png", PNG), purpose="vision").id
    by_id = request_line("by-id", url="/v1/images/edits", prompt="Add a blue boat",
                         images=[{"file_id": uploaded}], size="auto")
    remote = request_line("remote", url="/v1/images/edits", prompt="Add a boat",
                          images=[{"image_url": "https://example.com/a.png"}])
    batch = sdk.batches.create(input_file_id=upload(sdk, [line, by_id, remote]),
                               endpoint="/v1/images/edits", completion_window="24h")
    batch = finished(sdk, batch.id)
    done = lines_of(sdk, batch.output_file_id)
    assert [line["custom_id"] for line in done] == ["edit", "by-id"]
    for line in done:
        body = line["response"]["body"]
        assert body["usage"]["input_tokens_details"]["image_tokens"] > 0
        edited = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
        assert edited.size == Image.open(io.BytesIO(PNG)).size  # size auto: the image's own
    (refused,) = lines_of(sdk, batch.error_file_id)
    assert refused["response"]["status_code"] == 400
    assert "fetches nothing from the network" in refused["response"]["body"]["error"]["message"]


def test_a_line_asking_to_stream_is_refused_alone(sdk: openai.OpenAI,
                                                  quiet: EmulatorServer) -> None:
    batch = run(sdk, [request_line("streamed", stream=True, partial_images=2),
                      request_line("plain")])
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)  # type: ignore[union-attr]
    (refused,) = lines_of(sdk, batch.error_file_id)
    assert refused["custom_id"] == "streamed"
    assert refused["response"]["body"]["error"]["param"] == "stream"


@pytest.mark.parametrize(("change", "named"), [
    ({"completion_window": "1h"}, "completion_window"),
    ({"endpoint": "/v1/chat/completions"}, "/v1/images/generations"),
    ({"input_file_id": "file-missing"}, "file-missing"),
    ({"output_expires_after": {"anchor": "created_at", "seconds": 60}}, "3600"),
    ({"metadata": {"k": "v" * 513}}, "512"),
])
def test_create_refuses_bad_fields_naming_them(sdk: openai.OpenAI, quiet: EmulatorServer,
                                               change: dict[str, Any], named: str) -> None:
    fields: dict[str, Any] = {"input_file_id": upload(sdk, [request_line("a")]),
                              "endpoint": GENERATIONS, "completion_window": "24h", **change}
    with pytest.raises(openai.BadRequestError, match=named):
        sdk.batches.create(**fields)


def test_an_input_file_of_another_purpose_is_refused(sdk: openai.OpenAI,
                                                     quiet: EmulatorServer) -> None:
    picture = sdk.files.create(file=("boat.png", PNG), purpose="vision").id
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        sdk.batches.create(input_file_id=picture, endpoint=GENERATIONS, completion_window="24h")


def test_output_files_expire_as_output_expires_after_says(sdk: openai.OpenAI,
                                                          quiet: EmulatorServer) -> None:
    batch = run(sdk, [request_line("a")],
                output_expires_after={"anchor": "created_at", "seconds": 7200})
    output = sdk.files.retrieve(batch.output_file_id)  # type: ignore[arg-type]
    assert output.purpose == "batch_output" and output.expires_at == output.created_at + 7200
    assert output.filename == f"{batch.id}_output.jsonl"
    assert output.bytes == len(sdk.files.content(output.id).content)


def test_a_batch_fault_rides_on_the_create_request_header(sdk: openai.OpenAI,
                                                          quiet: EmulatorServer) -> None:
    source = upload(sdk, [request_line("a"), request_line("b")])
    created = sdk.batches.create(input_file_id=source, endpoint=GENERATIONS,
                                 completion_window="24h",
                                 extra_headers={"x-emulator-fault": "batch_expired;after=0"})
    batch = finished(sdk, created.id)
    assert batch.status == "expired" and batch.output_file_id is None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 2)  # type: ignore[union-attr]
    assert quiet.log[-1]["path"] == f"/v1/batches/{created.id}"  # polled over HTTP
    create = next(entry for entry in quiet.log if entry["path"] == "/v1/batches"
                  and entry["json"] and entry["json"]["input_file_id"] == source)
    assert create["fault"] == "batch_expired"
    with pytest.raises(openai.BadRequestError, match="'status_500' applies to image requests"):
        sdk.batches.create(input_file_id=source, endpoint=GENERATIONS, completion_window="24h",
                           extra_headers={"x-emulator-fault": "status_500"})
