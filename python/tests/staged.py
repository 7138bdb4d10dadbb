"""Test fixtures: a staging area with safetensors files and registry entries, as a staging
job writes them (the entry format of io.warmstage.registry.StagedEntry)."""

import json
import os
import struct

from warmstage import crc32c


def safetensors_bytes(tensors):
    """A safetensors file of ``{name: (dtype, shape, raw bytes)}``, in the given order."""
    header, data, offset = {}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def stage(staging_dir, uri, tensors, model="m", name="0" * 32, slot=0, etag="v1"):
    """Writes a staging file and its registry entry; returns (entry dict, staging file path)."""
    body = safetensors_bytes(tensors)
    slot_dir = os.path.join(staging_dir, "job-test", "slot-%d" % slot)
    os.makedirs(slot_dir, exist_ok=True)
    path = os.path.join(slot_dir, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(body)
    (n,) = struct.unpack_from("<Q", body, 0)
    header = json.loads(body[8 : 8 + n])
    entry = {
        "format": 1,
        "uri": uri,
        "size": len(body),
        "etag": etag,
        "model": model,
        "host": "localhost",
        "job": "test",
        "slot": slot,
        "device": "cpu",
        "pid": os.getpid(),
        "staged_at": "2026-12-03T00:00:00Z",
        "file": path,
        "data_start": 8 + n,
        "gpu": None,
        "tensors": [
            {
                "name": k,
                "dtype": v["dtype"],
                "shape": v["shape"],
                "data_offsets": v["data_offsets"],
                "crc32c": "%08x" % crc32c(tensors[k][2]),
            }
            for k, v in header.items()
        ],
    }
    reg = os.path.join(staging_dir, "registry")
    os.makedirs(reg, exist_ok=True)
    with open(os.path.join(reg, name + ".json"), "w") as f:
        json.dump(entry, f)
    return entry, path
