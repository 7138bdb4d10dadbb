"""The cuda side of load_file: tensors opened from a CUDA IPC handle that another process
exported, as a staging job on a GPU lists them. Runs only where torch sees a GPU (the GPU
check runs it); skips cleanly elsewhere."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
except ImportError:
    torch = None

from warmstage import _cuda, _registry, crc32c, load_file

# The exporting process: allocates a tensor on GPU 0, prints the IPC handle of its allocation
# (and the tensor's offset in it), and holds the memory until its stdin closes.
EXPORTER = r"""
import ctypes, json, sys, torch
x = torch.arange(%(n)d, dtype=torch.float32, device="cuda:0") * 0.5
torch.cuda.synchronize()
cuda = ctypes.CDLL("libcuda.so.1")
base, size = ctypes.c_uint64(), ctypes.c_size_t()
assert cuda.cuMemGetAddressRange_v2(ctypes.byref(base), ctypes.byref(size), ctypes.c_uint64(x.data_ptr())) == 0
handle = (ctypes.c_char * 64)()
assert cuda.cuIpcGetMemHandle(ctypes.byref(handle), ctypes.c_uint64(base.value)) == 0
print(json.dumps({"handle": ctypes.string_at(handle, 64).hex(), "offset": x.data_ptr() - base.value}), flush=True)
sys.stdin.read()
"""

N = 1 << 16


@unittest.skipUnless(torch is not None and torch.cuda.is_available(), "no GPU")
class CudaIpcTest(unittest.TestCase):
    def test_tensors_open_from_another_processs_ipc_handle(self):
        exporter = subprocess.Popen(
            [sys.executable, "-c", EXPORTER % {"n": N}],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            exported = json.loads(exporter.stdout.readline())
            expected = (torch.arange(N, dtype=torch.float32) * 0.5).numpy().tobytes()
            with tempfile.TemporaryDirectory() as staging:
                self.publish(staging, exported, exporter.pid, expected)
                got = load_file("s3://b/m.safetensors", device="cuda", staging_dir=staging)
                t = got["w"]
                self.assertEqual(t.device, torch.device("cuda:0"))
                self.assertEqual(tuple(t.shape), (N // 4, 4))
                raw = t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                self.assertEqual(crc32c(raw), crc32c(expected))
        finally:
            exporter.stdin.close()
            exporter.wait(timeout=60)

    @staticmethod
    def publish(staging, exported, pid, expected):
        begin = exported["offset"]
        entry = {
            "format": 1, "uri": "s3://b/m.safetensors", "size": 8 + 8 + len(expected),
            "etag": "v1", "model": "m", "host": "localhost", "job": "test", "slot": 0,
            "device": "cuda:0", "pid": pid, "staged_at": "2026-12-03T00:00:00Z", "file": None,
            "data_start": 16, "gpu": {"ordinal": 0, "uuid": None, "ipc_handle": exported["handle"]},
            "tensors": [{
                "name": "w", "dtype": "F32", "shape": [N // 4, 4],
                "data_offsets": [begin, begin + len(expected)],
                "crc32c": "%08x" % crc32c(expected),
            }],
        }
        os.makedirs(os.path.join(staging, "registry"))
        with open(os.path.join(staging, "registry", "0" * 32 + ".json"), "w") as f:
            json.dump(entry, f)


class CudaEntryTest(unittest.TestCase):
    """The CPU side of a cuda entry: its handle and the tensors' pointers (no GPU, nothing
    opened). The entry is as the staging job writes it (see StagedGpuEntryTest, which also runs
    a python3 process over an entry the job wrote)."""

    HANDLE = bytes(range(0x40, 0x80))

    def entry(self, **gpu):
        g = {"ordinal": 1, "uuid": "GPU-00112233-4455-6677-8899-aabbccddeeff",
             "ipc_handle": self.HANDLE.hex()}
        g.update(gpu)
        return {
            "format": 1, "uri": "s3://b/m.safetensors", "size": 8 + 64 + 40, "etag": "v1",
            "model": "m", "host": "h", "job": "j", "slot": 0, "device": "cuda:1",
            "pid": os.getpid(), "staged_at": "2026-12-03T00:00:00Z", "file": None,
            "data_start": 72, "gpu": g,
            "tensors": [
                {"name": "a", "dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16],
                 "crc32c": "00000000"},
                {"name": "b", "dtype": "BF16", "shape": [12], "data_offsets": [16, 40],
                 "crc32c": "00000000"},
                {"name": "empty", "dtype": "F32", "shape": [0], "data_offsets": [40, 40],
                 "crc32c": "00000000"},
            ],
        }

    def test_the_handle_is_the_64_bytes_the_hex_names(self):
        self.assertEqual(_cuda.handle_bytes(self.entry()), self.HANDLE)

    def test_a_handle_that_is_not_64_bytes_of_lower_case_hex_is_refused(self):
        for bad in ("ab" * 63, self.HANDLE.hex().upper(), "zz" * 64, None):
            with self.assertRaisesRegex(ValueError, "s3://b/m.safetensors: gpu.ipc_handle"):
                _cuda.handle_bytes(self.entry(ipc_handle=bad))

    def test_each_tensor_starts_at_the_base_plus_its_first_data_offset(self):
        base = 0x7F0000000000
        self.assertEqual(
            _cuda.tensor_pointers(self.entry(), base),
            {"a": (base, 16), "b": (base + 16, 24), "empty": (base + 40, 0)},
        )

    def test_the_gpu_entry_is_found_for_cuda_on_its_ordinal(self):
        with tempfile.TemporaryDirectory() as staging:
            os.makedirs(os.path.join(staging, "registry"))
            with open(os.path.join(staging, "registry", "1" * 32 + ".json"), "w") as f:
                json.dump(self.entry(), f)
            self.assertEqual(
                _registry.find("s3://b/m.safetensors", "cuda:1", staging)["gpu"]["ordinal"], 1)
            self.assertIsNone(_registry.find("s3://b/m.safetensors", "cuda:0", staging))
            self.assertIsNone(_registry.find("s3://b/m.safetensors", "cpu", staging))


if __name__ == "__main__":
    unittest.main()
