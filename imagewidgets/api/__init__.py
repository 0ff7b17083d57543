"""Talking to the Images API: the client, where requests go, the wire format, retries."""

from .client import ImagesClient as ImagesClient, ModelInfo as ModelInfo, default_client as default_client
from .routing import emulator_url as emulator_url, route as route
