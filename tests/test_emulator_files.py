"""``/v1/files`` of the emulator, with the official ``openai`` SDK as client: upload, retrieve,
content, delete; the bytes on disk in the emulator's own folder, gone when it closes."""

from __future__ import annotations

import openai
import pytest

from imagewidgets.emulator import EmulatorServer, serve

from samples import PNG

LINES = b'{"custom_id": "a", "method": "POST", "url": "/v1/images/generations", "body": {}}\n'


def test_upload_retrieve_content_delete(sdk: openai.OpenAI) -> None:
    made = sdk.files.create(file=("requests.jsonl", LINES), purpose="batch")
    assert made.id.startswith("file-") and len(made.id) == 29
    assert (made.object, made.purpose, made.filename, made.bytes) == (
        "file", "batch", "requests.jsonl", len(LINES))
    assert made.expires_at == made.created_at + 30 * 24 * 3600  # batch uploads: 30 days
    assert sdk.files.retrieve(made.id) == made
    assert sdk.files.content(made.id).content == LINES
    deleted = sdk.files.delete(made.id)
    assert deleted.deleted and deleted.id == made.id
    with pytest.raises(openai.NotFoundError, match=made.id):
        sdk.files.content(made.id)
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(made.id)


def test_expires_after_sets_expires_at(sdk: openai.OpenAI) -> None:
    made = sdk.files.create(file=("boat.png", PNG), purpose="vision",
                            expires_after={"anchor": "created_at", "seconds": 3600})
    assert made.expires_at == made.created_at + 3600
    assert sdk.files.content(made.id).content == PNG
    unbounded = sdk.files.create(file=("boat.png", PNG), purpose="vision")
    assert unbounded.expires_at is None  # only batch uploads expire by default
    with pytest.raises(openai.BadRequestError, match="2592000"):
        sdk.files.create(file=("boat.png", PNG), purpose="vision",
                         expires_after={"anchor": "created_at", "seconds": 60})


def test_a_batch_file_over_the_limit_is_refused_naming_both_sizes(sdk: openai.OpenAI,
                                                                 server: EmulatorServer) -> None:
    server.state.batch_file_bytes = 50  # as 200 MB is for the API, without sending 200 MB
    try:
        with pytest.raises(openai.BadRequestError, match=f"{len(LINES)} bytes.*at most 50 bytes"):
            sdk.files.create(file=("requests.jsonl", LINES), purpose="batch")
    finally:
        server.state.batch_file_bytes = 200 * 1000 * 1000
    assert sdk.files.create(file=("boat.png", PNG), purpose="vision").bytes == len(PNG)


def test_an_unknown_purpose_is_refused_with_the_allowed_ones(api_key: str,
                                                            server: EmulatorServer) -> None:
    import httpx

    answer = httpx.post(f"{server.url}/files", headers={"Authorization": f"Bearer {api_key}"},
                        files={"file": ("a.jsonl", LINES)}, data={"purpose": "pictures"})
    assert answer.status_code == 400
    assert "'pictures'" in answer.json()["error"]["message"]
    assert "batch" in answer.json()["error"]["message"]


def test_files_live_on_disk_and_go_when_the_emulator_closes() -> None:
    with serve(port=0) as running, openai.OpenAI(base_url=running.url, api_key="sk-test",
                                                 max_retries=0) as client:
        made = client.files.create(file=("requests.jsonl", LINES), purpose="batch")
        stored = running.state.file_store.get(made.id)
        assert stored is not None and stored.path.read_bytes() == LINES
    assert not stored.path.exists() and not stored.path.parent.exists()
