"""Images on disk: file names, metadata in each format, the store and its index."""

from .index import SORTS as SORTS, Entry as Entry, ImageIndex as ImageIndex
from .store import (
    DEFAULT_STORE as DEFAULT_STORE,
    ImageStore as ImageStore,
    SavedImage as SavedImage,
    StoreChoice as StoreChoice,
    download_name as download_name,
    embedded_metadata as embedded_metadata,
    sidecar_record as sidecar_record,
    store_from as store_from,
)
