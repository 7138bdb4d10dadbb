"""Tensors over a GPU allocation another process staged, opened from its CUDA IPC handle.

Uses the CUDA driver (``libcuda.so.1``) through ctypes and torch's
``__cuda_array_interface__`` support; needs a GPU, its driver and torch built with CUDA.
The allocation stays valid while the staging process holds it (its registry entry is
withdrawn before it frees it); the mapping is opened once per entry and kept.
"""

import ctypes

from ._load import _DTYPES

_IPC_LAZY_ENABLE_PEER_ACCESS = 1
_IPC_HANDLE_SIZE = 64
_opened = {}


class _IpcHandle(ctypes.Structure):
    _fields_ = [("reserved", ctypes.c_char * 64)]


def _driver():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        raise RuntimeError("cuda: no CUDA driver on this host (%s)" % e) from None
    _check(cuda.cuInit(0), "cuInit")
    return cuda


def _check(rc, what):
    if rc != 0:
        raise RuntimeError("cuda: %s failed with CUresult %d" % (what, rc))


def handle_bytes(entry):
    """The 64 bytes of the entry's ``CUipcMemHandle`` (``gpu.ipc_handle``, lower-case hex)."""
    text = (entry.get("gpu") or {}).get("ipc_handle") or ""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != _IPC_HANDLE_SIZE or text != text.lower():
        raise ValueError(
            "%s: gpu.ipc_handle must be %d bytes in lower-case hex, got %r"
            % (entry.get("uri"), _IPC_HANDLE_SIZE, text[:16] + ("..." if len(text) > 16 else ""))
        )
    return raw


def tensor_pointers(entry, base):
    """``{name: (pointer, nbytes)}`` of every tensor of a cuda entry whose IPC allocation opened
    at ``base``: a tensor's bytes start at ``base + data_offsets[0]`` (offsets relative to the
    allocation, which holds the file's data section)."""
    out = {}
    for t in entry["tensors"]:
        begin, end = t["data_offsets"]
        if begin < 0 or end < begin:
            raise ValueError("%s: tensor %s has data_offsets %r" % (entry["uri"], t["name"], [begin, end]))
        out[t["name"]] = (base + begin, end - begin)
    return out


def _base_pointer(entry):
    key = (entry["gpu"]["ordinal"], entry["gpu"]["ipc_handle"])
    if key in _opened:
        return _opened[key]
    import torch

    ordinal = entry["gpu"]["ordinal"]
    torch.cuda.init()
    with torch.cuda.device(ordinal):
        torch.zeros(1, device="cuda:%d" % ordinal)  # makes torch's (primary) context current
        cuda = _driver()
        handle = _IpcHandle()
        handle.reserved = handle_bytes(entry)
        ptr = ctypes.c_uint64()
        _check(
            cuda.cuIpcOpenMemHandle_v2(ctypes.byref(ptr), handle, _IPC_LAZY_ENABLE_PEER_ACCESS),
            "cuIpcOpenMemHandle of %s" % entry["uri"],
        )
    _opened[key] = ptr.value
    return ptr.value


class _DeviceArray:
    """A ``__cuda_array_interface__`` (version 2) over device memory of another process."""

    def __init__(self, ptr, shape, typestr):
        self.__cuda_array_interface__ = {
            "data": (ptr, True),
            "shape": tuple(shape),
            "typestr": typestr,
            "version": 2,
        }


def open_tensors(entry):
    """``dict[str, torch.Tensor]`` on ``cuda:<ordinal>`` over the entry's IPC allocation."""
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("cuda: torch sees no GPU; %s is staged on a GPU" % entry["uri"])
    base = _base_pointer(entry)
    device = "cuda:%d" % entry["gpu"]["ordinal"]
    pointers = tensor_pointers(entry, base)
    out = {}
    for t in entry["tensors"]:
        torch_name, np_dtype, _ = _DTYPES[t["dtype"]]
        ptr, nbytes = pointers[t["name"]]
        raw = torch.as_tensor(_DeviceArray(ptr, (nbytes,), "|u1"), device=device)
        dtype = getattr(torch, torch_name, None) if torch_name else None
        out[t["name"]] = raw if dtype is None else raw.view(dtype).reshape(t["shape"])
    return out
