"""Checks bench/fleet-model.py's formulas on hand-computed cases.

Run: python3 -m unittest bench/test_fleet_model.py   (from the repository root)
"""
import importlib.util
import pathlib
import unittest

_spec = importlib.util.spec_from_file_location(
    "fleet_model", pathlib.Path(__file__).with_name("fleet-model.py"))
fm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fm)

GB = 1e9


class FleetModelTest(unittest.TestCase):
    def setUp(self):
        self.a = fm.parse([])

    def test_buffers_match_flink_2_3_for_p80(self):
        # Flink 2.3.0's own NettyShuffleUtils / InputGateSpecUtils gave, for 80 channels:
        # result partition (min 81, max 168), input gate (min 2 * 80 + 1 = 161, max 168).
        self.assertEqual(fm.exchange_buffers(80, 1), (81 + 161, 168 + 168))
        # 2 subtasks per TaskManager on each side, P = 8: out 9 / 24, in 17 / 24.
        self.assertEqual(fm.exchange_buffers(8, 2), (2 * (9 + 17), 2 * (24 + 24)))

    def test_fan_out_4_hosts_2_gpus_8_gb(self):
        r = fm.warm("fan-out", 4, 2, 8 * GB, self.a)
        # Each host fetches 8/4 = 2 GB and sends it to the 3 x 2 remote slots: 12 GB out;
        # it receives 6 GB of the model fetched elsewhere for each of its 2 slots: 12 GB in.
        self.assertAlmostEqual(r["sent"], 12 * GB)
        self.assertAlmostEqual(r["recv"], 12 * GB)
        self.assertAlmostEqual(r["origin"], 8 * GB)
        self.assertEqual(r["channels"], 64)
        self.assertEqual(r["tcp_per_tm"], 6)
        # The fan-out job's graph: per slot source 9 + stage gate (6 remote channels x 2 + 1) 13
        # + 2 to the event sink; the busiest TaskManager also holds the sink's gate, 13.
        self.assertEqual(r["buf_min"], (2 * (9 + 13 + 2) + 13) * 32768)
        # origin 8 / 12.5 = 0.64 s beats NIC in (2 + 12) / 25 = 0.56 s, out 12 / 25 = 0.48 s,
        # device 8 / 25 = 0.32 s and CPU (0.73 * 2 + 0.8 * 16 + 0.88 * 24) / 56 = 0.632 s.
        self.assertEqual(r["bottleneck"], "origin")
        self.assertAlmostEqual(r["time"], 0.64)
        self.assertAlmostEqual(r["parts"]["cpu"], (0.73 * 2 + 0.8 * 16 + 0.88 * 24) / 56)

    def test_host_level_sends_once_per_remote_host(self):
        r = fm.warm("fan-out-host", 4, 2, 8 * GB, self.a)
        self.assertAlmostEqual(r["sent"], 6 * GB)  # 2 GB to each of 3 hosts
        self.assertAlmostEqual(r["recv"], 6 * GB)  # the 3/4 of the model fetched elsewhere

    def test_local_hop_charges_the_relays_hand_off(self):
        a = fm.parse(["--local-hop-cpu-s-per-gb", "0.88"])
        r = fm.warm("fan-out-host", 4, 2, 8 * GB, a)
        # fetch 2 GB, stage 2 x 8 = 16 GB, network 6 out + 6 in; locally the 2 GB fetched to its
        # own lead plus the relay's 2 x 8 = 16 GB to the slots: 18 GB, serialized and deserialized.
        cpu = (0.73 * 2 + 0.8 * 16 + 0.88 * 12 + 0.88 * 2 * 18) / 56
        self.assertAlmostEqual(r["parts"]["cpu"], cpu)
        zero = fm.warm("fan-out-host", 4, 2, 8 * GB, self.a)
        self.assertAlmostEqual(zero["parts"]["cpu"], (0.73 * 2 + 0.8 * 16 + 0.88 * 12) / 56)

    def test_origin_copies_per_mode(self):
        m = 8 * GB
        self.assertAlmostEqual(fm.warm("per-target", 4, 2, m, self.a)["origin"], 8 * m)
        self.assertAlmostEqual(fm.warm("per-host", 4, 2, m, self.a)["origin"], 4 * m)
        self.assertAlmostEqual(fm.warm("relay", 4, 2, m, self.a)["origin"], m)

    def test_relay_exchange_is_hosts_squared(self):
        r = fm.warm("relay", 1000, 8, 140 * GB, self.a)
        self.assertEqual(r["channels"], 1000 * 1000)
        self.assertEqual(r["buf_min"], (1001 + 2001) * 32768)

    def test_job_buffers_match_measured_minimum(self):
        # bench/network-buffers.sh measured these minima (buffers per TaskManager) exactly:
        # 4x2 relay on: 2 * (2 * (9 + 13) + 2) + 13 = 105; with a cap of 16 the gate requires
        # 16, of it (16 - 1) // 8 = 1 exclusive per channel (6 remote) + 16 - 8 floating = 14:
        # 2 * (2 * (9 + 14) + 2) + 14 = 110; relay off: 2 * (9 + 14 + 2) + 14 = 64.
        self.assertEqual(fm.job_buffers(8, 2, 2)[0], 105)
        self.assertEqual(fm.job_buffers(8, 2, 2, cap=16)[0], 110)
        self.assertEqual(fm.job_buffers(8, 2, 1, cap=16)[0], 64)
        # 8x2 (P = 16) relay off: gate 2 * 14 + 1 = 29; with the cap 16, 0 exclusive, 16.
        self.assertEqual(fm.job_buffers(16, 2, 1)[0], 2 * (17 + 29 + 2) + 29)
        self.assertEqual(fm.job_buffers(16, 2, 1, cap=16)[0], 2 * (17 + 16 + 2) + 16)

    def test_cap_bounds_the_input_side_at_1000_hosts(self):
        # P = 8000, G = 8, relay on: gate 2 * 7992 + 1 = 15985 uncapped, 16 with the cap.
        self.assertEqual(fm.job_buffers(8000, 8, 2)[0], 8 * (2 * (8001 + 15985) + 2) + 15985)
        self.assertEqual(fm.job_buffers(8000, 8, 2, cap=16)[0], 8 * (2 * (8001 + 16) + 2) + 16)
        r = fm.warm("fan-out-host", 1000, 8, 16 * GB, fm.parse(["--gate-cap", "16"]))
        self.assertEqual(r["buffers_min"], 128304)
        self.assertEqual(r["buf_min"], 128304 * 32768)

    def test_hosts_the_shipped_task_manager_fits(self):
        # 359703515 // 32768 = 10977 buffers. Relay on, uncapped: 400N - 223 <= 10977: 28.
        self.assertEqual(fm.hosts_fit(8, 2, fm.parse([])), 28)
        # Relay on, cap 16: 128N + 304 <= 10977: 83; relay off, cap 16: 64N + 168: 168.
        self.assertEqual(fm.hosts_fit(8, 2, fm.parse(["--gate-cap", "16"])), 83)
        self.assertEqual(fm.hosts_fit(8, 1, fm.parse(["--gate-cap", "16"])), 168)
        # 64 KiB segments: 5488 buffers, 128N + 304 <= 5488: 40.
        a = fm.parse(["--gate-cap", "16", "--segment-bytes", "65536"])
        self.assertEqual(fm.hosts_fit(8, 2, a), 40)

    def test_groups_fit_the_task_manager_and_stage_in_two_tiers(self):
        # Group size 0: the most hosts whose TaskManagers fit the network memory as built (28 of
        # 8 GPUs, test_hosts_the_shipped_task_manager_fits), so no group is over the limit.
        r = fm.warm("groups", 1000, 8, 140 * GB, self.a)
        self.assertEqual(r["group_hosts"], 28)
        self.assertEqual(r["jobs"], 36)  # ceil(1000 / 28)
        self.assertEqual(r["limits"], [])
        first = fm.warm("fan-out-host", 28, 8, 140 * GB, self.a)
        serve = 35 * 140 * GB / 28  # each first-group host serves the 35 later groups' share
        later = max([v for k, v in first["parts"].items() if k != "origin"]
                    + [serve / (25 * GB), serve * 0.44 / GB / 56])
        self.assertAlmostEqual(r["time"], first["time"] + later)
        self.assertAlmostEqual(r["sent"], first["sent"] + serve)
        self.assertAlmostEqual(r["origin"], 140 * GB)
        self.assertEqual(r["buffers_min"], first["buffers_min"])

    def test_one_group_is_host_level_fan_out(self):
        r = fm.warm("groups", 10, 8, 16 * GB, self.a)
        h = fm.warm("fan-out-host", 10, 8, 16 * GB, self.a)
        self.assertEqual(r["jobs"], 1)
        self.assertAlmostEqual(r["time"], h["time"])
        self.assertAlmostEqual(r["sent"], h["sent"])

    def test_tree_depth_and_egress(self):
        r = fm.traffic("tree", 7, 8, 1 * GB, self.a)  # 1 + 2 + 4 hosts: depth 2
        self.assertEqual(r["hops"], 2)
        self.assertAlmostEqual(r["sent"], 2 * GB)

    def test_inputs_file_and_flags(self):
        import json
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"nic_gbps": 10, "skew": 1.5}, f)
        a = fm.parse(["--inputs", f.name, "--skew", "2"])
        self.assertEqual(a.nic_gbps, 10.0)
        self.assertEqual(a.skew, 2.0)  # the flag wins over the file


if __name__ == "__main__":
    unittest.main()
