"""Images on disk: metadata in each format, the store and its index (file names: ``naming``)."""

from ..naming import download_name as download_name
from .archive import MAX_ZIP_BYTES as MAX_ZIP_BYTES, ZipTooLargeError as ZipTooLargeError
from .index import SORTS as SORTS, Entry as Entry, ImageIndex as ImageIndex
from .inside import (
    OutsideFolderError as OutsideFolderError,
    open_inside as open_inside,
    read_inside as read_inside,
)
from .metadata import embedded_metadata as embedded_metadata
from .store import (
    DEFAULT_STORE as DEFAULT_STORE,
    ImageStore as ImageStore,
    SavedImage as SavedImage,
    StoreChoice as StoreChoice,
    sidecar_record as sidecar_record,
    store_from as store_from,
)
