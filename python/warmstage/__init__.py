"""Load tensors that Warmstage staged on this host, without fetching them again.

    from warmstage import load_file
    weights = load_file("s3://models/llama/model-00001-of-00004.safetensors", device="cpu")
    # dict[str, torch.Tensor] over a memory map of the staging file: no copy, no download

A Warmstage staging job (``--device cpu``) leaves each file it staged as a complete
safetensors file in shared memory and lists it in the host's staged set
(``<staging dir>/registry/``); ``load_file`` finds the file there by URI, checks the
staging file's header against the entry, and builds tensors over a memory map of it.
``python3 -m warmstage list`` prints the staged set.

The core needs only the standard library; tensors are ``torch`` tensors where torch is
installed, else ``numpy`` arrays, else ``memoryview`` slices (``framework=`` chooses).
"""

from ._registry import (  # noqa: F401
    DEFAULT_STAGING_DIR,
    StagedFileNotFoundError,
    entries,
    redact,
)
from ._crc32c import crc32c  # noqa: F401
from ._load import load_file, staged_files  # noqa: F401

__all__ = [
    "DEFAULT_STAGING_DIR",
    "StagedFileNotFoundError",
    "crc32c",
    "entries",
    "load_file",
    "redact",
    "staged_files",
]
