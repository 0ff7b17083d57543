"""Talking to the Images API: the client, where requests go, the wire format, retries."""

from .client import ImagesClient as ImagesClient, ModelInfo as ModelInfo
from .routing import default_client as default_client, emulator_url as emulator_url
