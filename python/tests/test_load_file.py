import array
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import warmstage
from warmstage import StagedFileNotFoundError, crc32c, load_file, redact

from . import staged

try:
    import numpy
except ImportError:
    numpy = None
try:
    import torch
except ImportError:
    torch = None

F32 = array.array("f", [1.5, -2.0, 3.25, 0.0, 7.0, -1e-3])
BF16 = struct.pack("<4H", 0x3FC0, 0xC000, 0x4050, 0x0000)  # 1.5, -2.0, 3.25, 0.0
I64 = struct.pack("<3q", 1, -2, 1 << 40)
URI = "https://models.example/llama/model-00001-of-00002.safetensors"


def tensors():
    return {
        "a.f32": ("F32", (2, 3), F32.tobytes()),
        "b.bf16": ("BF16", (4,), BF16),
        "c.i64": ("I64", (3,), I64),
        "d.empty": ("F16", (0, 5), b""),
        "e.scalar": ("U8", (), b"\x2a"),
    }


class LoadFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.staging = self.dir.name
        self.entry, self.path = staged.stage(self.staging, URI, tensors())

    def tearDown(self):
        self.dir.cleanup()

    def test_crc32c_is_castagnolis(self):
        self.assertEqual(crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(crc32c(b""), 0)

    def test_raw_views_hold_the_staged_bytes(self):
        got = load_file(URI, staging_dir=self.staging, framework="raw", verify=True)
        self.assertEqual(list(got), ["a.f32", "b.bf16", "c.i64", "d.empty", "e.scalar"])
        for name, (_, _, raw) in tensors().items():
            self.assertEqual(bytes(got[name]), raw, name)

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_numpy_arrays_over_the_mapping(self):
        got = load_file(URI, staging_dir=self.staging, framework="np")
        numpy.testing.assert_array_equal(got["a.f32"], numpy.array(F32).reshape(2, 3))
        self.assertEqual(got["a.f32"].dtype, numpy.float32)
        # numpy has no bfloat16: the raw 16-bit patterns
        self.assertEqual(got["b.bf16"].dtype, numpy.uint16)
        self.assertEqual(list(got["b.bf16"]), [0x3FC0, 0xC000, 0x4050, 0])
        self.assertEqual(list(got["c.i64"]), [1, -2, 1 << 40])
        self.assertEqual(got["d.empty"].shape, (0, 5))
        self.assertEqual(got["e.scalar"].shape, ())
        self.assertEqual(int(got["e.scalar"]), 42)

    @unittest.skipIf(torch is None, "torch not installed")
    def test_torch_tensors_over_the_mapping(self):
        got = load_file(URI, staging_dir=self.staging)  # torch is the default where installed
        self.assertTrue(torch.equal(got["a.f32"], torch.tensor(F32.tolist()).reshape(2, 3)))
        self.assertEqual(got["b.bf16"].dtype, torch.bfloat16)
        self.assertEqual(got["b.bf16"].float().tolist(), [1.5, -2.0, 3.25, 0.0])
        self.assertEqual(got["c.i64"].tolist(), [1, -2, 1 << 40])
        self.assertEqual(tuple(got["d.empty"].shape), (0, 5))
        self.assertEqual(got["e.scalar"].item(), 42)

    @unittest.skipIf(torch is None, "torch not installed")
    def test_torch_tensors_share_the_staging_files_pages(self):
        got = load_file(URI, staging_dir=self.staging)
        # The staging job rewrites the file in place (never done in practice; here it proves
        # that the tensor is a view of the file's pages, not a copy).
        with open(self.path, "r+b") as f:
            f.seek(self.entry["data_start"])
            f.write(struct.pack("<f", 99.0))
        self.assertEqual(got["a.f32"][0, 0].item(), 99.0)

    @unittest.skipIf(numpy is None, "numpy not installed")
    def test_a_mapping_stays_valid_after_the_file_is_withdrawn_and_freed(self):
        got = load_file(URI, staging_dir=self.staging, framework="np")
        os.remove(self.entry_path())
        os.remove(self.path)  # what a refresh or a release does, in that order
        numpy.testing.assert_array_equal(got["a.f32"].ravel(), numpy.array(F32))
        with self.assertRaises(StagedFileNotFoundError):
            load_file(URI, staging_dir=self.staging)

    def test_a_file_not_staged_names_the_uri_and_the_staged_set(self):
        other = "s3://bucket/other.safetensors"
        with self.assertRaises(StagedFileNotFoundError) as ctx:
            load_file(other, staging_dir=self.staging)
        msg = str(ctx.exception)
        self.assertIn(other, msg)
        self.assertIn(os.path.join(self.staging, "registry"), msg)
        self.assertIsInstance(ctx.exception, FileNotFoundError)

    def test_credentials_in_the_uri_do_not_matter(self):
        got = load_file(
            "https://user:secret@models.example/llama/model-00001-of-00002.safetensors",
            staging_dir=self.staging,
            framework="raw",
        )
        self.assertEqual(bytes(got["c.i64"]), I64)

    def test_redaction_matches_the_staging_jobs(self):
        self.assertEqual(redact("http://u:p@127.0.0.1:8080/m/a.safetensors?sig=x#f"),
                         "http://127.0.0.1:8080/m/a.safetensors?…")
        self.assertEqual(redact("s3://bucket/k/a.safetensors"), "s3://bucket/k/a.safetensors")
        self.assertEqual(redact("http://host"), "http://host/")
        self.assertEqual(redact("file:///tmp/a.safetensors"), "file:/tmp/a.safetensors")
        self.assertEqual(redact("/tmp/x/../a b.safetensors"), "file:/tmp/a%20b.safetensors")

    def test_verify_finds_a_corrupted_staging_file(self):
        with open(self.path, "r+b") as f:
            f.seek(self.entry["data_start"] + 1)
            f.write(b"\xff")
        with self.assertRaisesRegex(ValueError, "tensor a.f32 .* has CRC-32C"):
            load_file(URI, staging_dir=self.staging, framework="raw", verify=True)

    def test_a_staging_file_that_does_not_match_its_entry_is_refused(self):
        staged.stage(self.staging, URI, {"a.f32": ("F32", (3, 2), F32.tobytes())}, name="1" * 32)
        # the newer entry's header says (3, 2); make its entry say (6,)
        import json

        p = os.path.join(self.staging, "registry", "1" * 32 + ".json")
        with open(p) as f:
            e = json.load(f)
        e["tensors"][0]["shape"] = [6]
        e["staged_at"] = "2026-12-04T00:00:00Z"
        with open(p, "w") as f:
            json.dump(e, f)
        with self.assertRaisesRegex(ValueError, "tensor a.f32 of staging file .* does not match"):
            load_file(URI, staging_dir=self.staging, framework="raw")

    def test_list_prints_the_staged_set_from_another_process(self):
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(warmstage.__file__)))
        out = subprocess.run(
            [sys.executable, "-m", "warmstage", "list", "--staging-dir", self.staging],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
        self.assertIn("1 file(s) staged in " + os.path.join(self.staging, "registry"), out)
        self.assertIn(URI, out)
        self.assertRegex(out, r"m\s+cpu\s+5\s+%d\s+ok" % self.entry["size"])

    @unittest.skipUnless(torch is not None and torch.cuda.is_available(), "no GPU")
    def test_cuda_copies_a_host_staged_file_to_the_gpu(self):
        got = load_file(URI, device="cuda", staging_dir=self.staging)
        self.assertEqual(got["a.f32"].device.type, "cuda")
        self.assertEqual(got["c.i64"].cpu().tolist(), [1, -2, 1 << 40])

    def entry_path(self):
        return os.path.join(self.staging, "registry", "0" * 32 + ".json")


if __name__ == "__main__":
    unittest.main()
