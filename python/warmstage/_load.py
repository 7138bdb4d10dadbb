"""``load_file``: tensors over the staged bytes, without copying them."""

import json
import mmap
import os
import struct

from . import _registry
from ._crc32c import crc32c

# safetensors dtype -> (torch dtype name, numpy dtype, bits per element)
_DTYPES = {
    "F64": ("float64", "<f8", 64),
    "F32": ("float32", "<f4", 32),
    "F16": ("float16", "<f2", 16),
    "BF16": ("bfloat16", "<u2", 16),  # numpy has no bfloat16: raw 16-bit patterns
    "I64": ("int64", "<i8", 64),
    "I32": ("int32", "<i4", 32),
    "I16": ("int16", "<i2", 16),
    "I8": ("int8", "i1", 8),
    "U64": ("uint64", "<u8", 64),
    "U32": ("uint32", "<u4", 32),
    "U16": ("uint16", "<u2", 16),
    "U8": ("uint8", "u1", 8),
    "BOOL": ("bool", "?", 8),
    "C64": ("complex64", "<c8", 64),
    "F8_E5M2": ("float8_e5m2", "u1", 8),
    "F8_E4M3": ("float8_e4m3fn", "u1", 8),
    "F8_E8M0": ("float8_e8m0fnu", "u1", 8),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", "u1", 8),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", "u1", 8),
    "F6_E2M3": (None, None, 6),
    "F6_E3M2": (None, None, 6),
    "F4": (None, None, 4),
}


def staged_files(staging_dir=None):
    """The host's staged set: one dict per staged file (the registry entries), oldest first."""
    return _registry.entries(staging_dir)


def load_file(uri, device="cpu", staging_dir=None, framework=None, verify=False):
    """Loads every tensor of one staged safetensors file, like ``safetensors.torch.load_file``.

    Args:
      uri: the file's URI as the staging job saw it (``s3://``, ``gs://``, ``http(s)://``,
        ``file://`` or a plain path); credentials in it are ignored for the lookup.
      device: ``"cpu"``: tensors over a private (copy-on-write) memory map of the staging
        file in shared memory, nothing copied; ``"cuda"``/``"cuda:N"``: tensors opened from
        the CUDA IPC handle of a file staged on that GPU, or copied to it from a staging file.
      staging_dir: the staging job's ``warmstage.staging.dir`` (for a simulated fleet host,
        ``<dir>/<host>``); default ``$WARMSTAGE_STAGING_DIR``, else ``/dev/shm/warmstage``.
      framework: ``"pt"`` (torch), ``"np"`` (numpy) or ``"raw"`` (``memoryview`` slices);
        default: torch where installed, else numpy, else raw.
      verify: also check each tensor's CRC-32C against the entry here (pure Python: slow,
        a few MB/s; the staging job verified every tensor before listing the file).

    Returns:
      ``dict[str, tensor]`` in data-offset order. numpy has no bfloat16: BF16 comes as
      ``uint16`` bit patterns (``torch`` gives ``bfloat16``); F8 types as ``uint8`` under
      numpy; F4/F6 as their raw bytes (``uint8``, 1-D) under numpy and raw.

    The mapping stays valid after the staging job withdraws or refreshes the file: the
    staging file is unlinked, and its memory is freed when the last mapping goes.

    Raises:
      StagedFileNotFoundError: the file is not staged on this host (the message names the
        URI and the staged set's directory).
      ValueError: the staging file does not match its entry, or a dtype the framework lacks.
    """
    framework = framework or _default_framework()
    if device != "cpu" and framework != "pt":
        raise ValueError("device=%r needs torch (framework='pt'), got %r" % (device, framework))
    for _ in range(3):  # an entry withdrawn between lookup and open: look again
        entry = _registry.find(uri, device, staging_dir)
        if entry is None:
            break
        try:
            if entry.get("gpu") and device.startswith("cuda"):
                from . import _cuda

                return _cuda.open_tensors(entry)
            tensors = _host_tensors(entry, framework, verify)
        except FileNotFoundError:
            continue
        if device != "cpu":
            return {k: v.to(device) for k, v in tensors.items()}
        return tensors
    raise _registry.not_staged(uri, staging_dir)


def _default_framework():
    for name, module in (("pt", "torch"), ("np", "numpy")):
        try:
            __import__(module)
            return name
        except ImportError:
            pass
    return "raw"


def _host_tensors(entry, framework, verify):
    with open(entry["file"], "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size != entry["size"]:
            raise ValueError(
                "%s: staging file %s holds %d bytes, its entry says %d"
                % (entry["uri"], entry["file"], size, entry["size"])
            )
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size else b""
    _check_header(entry, mapped)
    start = entry["data_start"]
    out = {}
    for t in entry["tensors"]:
        begin, end = t["data_offsets"]
        view = memoryview(mapped)[start + begin : start + end]
        if verify and "%08x" % crc32c(view) != t["crc32c"]:
            raise ValueError(
                "%s: tensor %s in %s has CRC-32C %08x, its entry says %s"
                % (entry["uri"], t["name"], entry["file"], crc32c(view), t["crc32c"])
            )
        out[t["name"]] = _tensor(t, view, framework, entry)
    return out


def _check_header(entry, mapped):
    """The staging file's own header must list exactly the entry's tensors."""
    if len(mapped) < 8:
        raise ValueError("%s: staging file %s has no header" % (entry["uri"], entry["file"]))
    (n,) = struct.unpack_from("<Q", mapped, 0)
    if 8 + n != entry["data_start"] or 8 + n > len(mapped):
        raise ValueError(
            "%s: staging file %s has a header of 8 + %d bytes, its entry says data starts at %d"
            % (entry["uri"], entry["file"], n, entry["data_start"])
        )
    header = json.loads(bytes(mapped[8 : 8 + n]))
    for t in entry["tensors"]:
        h = header.get(t["name"])
        if (
            not isinstance(h, dict)
            or h.get("dtype") != t["dtype"]
            or list(h.get("shape", [])) != list(t["shape"])
            or list(h.get("data_offsets", [])) != list(t["data_offsets"])
        ):
            raise ValueError(
                "%s: tensor %s of staging file %s does not match its entry"
                % (entry["uri"], t["name"], entry["file"])
            )


def _tensor(t, view, framework, entry):
    dtype = t["dtype"]
    if dtype not in _DTYPES:
        raise ValueError("%s: tensor %s has unknown dtype %s" % (entry["uri"], t["name"], dtype))
    torch_name, np_dtype, _ = _DTYPES[dtype]
    shape = tuple(t["shape"])
    if framework == "raw":
        return view
    if framework == "np":
        import numpy

        if np_dtype is None:
            return numpy.frombuffer(view, dtype="u1")
        return numpy.frombuffer(view, dtype=np_dtype).reshape(shape)
    import torch

    torch_dtype = getattr(torch, torch_name, None) if torch_name else None
    if torch_dtype is None:
        raise ValueError(
            "%s: tensor %s has dtype %s, which torch %s lacks (use framework='np' or 'raw')"
            % (entry["uri"], t["name"], dtype, torch.__version__)
        )
    if len(view) == 0:
        return torch.empty(shape, dtype=torch_dtype)
    return torch.frombuffer(view, dtype=torch_dtype).reshape(shape)
