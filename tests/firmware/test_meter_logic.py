"""Portable meter logic tests: plain functions and asserts, run by pytest and by MicroPython.

Keep this module MicroPython-compatible: no pytest, no annotations, no f-string tricks.
"""

import os

from gridshare_meter import canon
from gridshare_meter.auth import REPORT_BLOCK, Guard, sign
from gridshare_meter.config import Config
from gridshare_meter.deliveries import Book
from gridshare_meter.energy import NJ_PER_MWH, NJ_PER_WH, Integrator
from gridshare_meter.hmac256 import equal, hexlify, hmac_sha256, unhexlify
from gridshare_meter.meter import Meter
from gridshare_meter.page import render
from gridshare_meter.runtime import step
from gridshare_meter.sensors import Calibration, SensorFault, convert, pin_uv
from gridshare_meter.store import FileStore, MemoryStore

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _cmd(key, counter, time, action, meter=7, **fields):
    msg = {"type": "cmd", "meter": meter, "counter": counter, "time": time, "action": action}
    for k in fields:
        msg[k] = fields[k]
    msg["sig"] = sign(key, msg)
    return msg


def _meter(store=None, silence_ms=60000):
    return Meter(7, KEY, store or MemoryStore(), silence_ms=silence_ms)


def _start(meter, counter, now_ms, did=1, role="import", target_wh=2, deadline=10**9):
    msg = _cmd(KEY, counter, 10**6 + now_ms, "start", id=did, role=role,
               target_wh=target_wh, deadline=deadline)
    return meter.command(msg, "start", now_ms)


def _tmpdir():
    try:
        import tempfile

        return tempfile.mkdtemp()
    except ImportError:
        path = "/gm_test_tmp"
        try:  # noqa: SIM105 - MicroPython has no contextlib.suppress
            os.mkdir(path)
        except OSError:
            pass
        return path


# ---- HMAC -------------------------------------------------------------------------------


def test_hmac_matches_rfc4231_vectors():
    cases = [
        (b"\x0b" * 20, b"Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (b"\xaa" * 20, b"\xdd" * 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ]
    for key, msg, expected in cases:
        assert hexlify(hmac_sha256(key, msg)) == expected


def test_equal_compares_whole_strings():
    assert equal(b"abc", b"abc")
    assert not equal(b"abc", b"abd")
    assert not equal(b"abc", b"ab")
    assert unhexlify("00ff") == b"\x00\xff"


def test_unhexlify_rejects_bad_hex():
    for bad in ("0", "zz", 5):
        try:
            unhexlify(bad)
        except ValueError:
            continue
        raise AssertionError("accepted " + repr(bad))


# ---- canonical bytes --------------------------------------------------------------------


def test_canonical_bytes_sort_keys_without_spaces():
    got = canon.encode({"b": [1, True, None], "a": "x", "c": {"z": -5, "y": False}})
    assert got == b'{"a":"x","b":[1,true,null],"c":{"y":false,"z":-5}}'


def test_canonical_bytes_refuse_floats_and_unsafe_text():
    for bad in (1.5, "a\"b", "a\\b", "\n", {1: 2}, "\u00e9"):
        try:
            canon.encode({"v": bad})
        except ValueError:
            continue
        raise AssertionError("encoded " + repr(bad))


def test_signature_ignores_only_the_sig_field():
    msg = {"a": 1, "sig": "whatever"}
    assert canon.signing_bytes(msg) == canon.PREFIX + b'{"a":1}'


# ---- energy -----------------------------------------------------------------------------


def test_integrator_is_exact_for_constant_power():
    integ = Integrator()
    integ.add(0, 48000, 10000)
    for t in range(100, 3600 * 1000 + 1, 100):
        integ.add(t, 48000, 10000)
    assert integ.import_nj == 480 * NJ_PER_WH  # 480 W for one hour
    assert integ.export_nj == 0


def test_integrator_separates_import_and_export():
    integ = Integrator()
    integ.add(0, 48000, 0)
    assert integ.add(1000, 48000, 1000) == (48000 * 1000 * 1000, 0)
    assert integ.add(2000, 48000, -2000) == (0, 48000 * 2000 * 1000)


def test_integrator_caps_a_stalled_gap():
    integ = Integrator(max_gap_ms=500)
    integ.add(0, 1000, 1000)
    imp, _ = integ.add(10000, 1000, 1000)
    assert imp == 1000 * 1000 * 500


# ---- config -----------------------------------------------------------------------------


def _config(**changes):
    d = {"meter_id": 3, "key": "ab" * 32, "wifi_ssid": "village-grid"}
    for k in changes:
        d[k] = changes[k]
    return d


# (change to a good config.json, the start of the refusal: the setting it names)
BAD_CONFIGS = (
    ({"pins": {"relay_active_high": "false"}}, "pins.relay_active_high: must be true or false"),
    ({"pins": {"relay_active_high": 2}}, "pins.relay_active_high: must be true or false"),
    ({"pins": {"relay_active_high": 0.5}}, "pins.relay_active_high: must be true or false"),
    ({"sample_ms": 100.5}, "sample_ms: must be a whole number"),
    ({"max_queue": 0}, "max_queue: must be a whole number from 1 to 64"),
    ({"max_queue": -1}, "max_queue: "),
    ({"port": 70000}, "port: must be a whole number from 1 to 65535"),
    ({"port": "eighty"}, "port: "),
    ({"port": None}, "port: "),
    ({"wifi_ssid": 123}, "wifi_ssid: must be text of 1 to 32 bytes"),
    ({"wifi_ssid": ""}, "wifi_ssid: "),
    ({"silence_s": 60}, "silence_s: not a setting"),
    ({"silence_ms": 50, "sample_ms": 100}, "silence_ms: must be a whole number from 100"),
    ({"pins": [34, 35]}, "pins: must be an object"),
    ({"pins": {"relay": 99}}, "pins.relay: must be a whole number from 0 to 48"),
    ({"pins": {"voltage": 26}}, "pins: voltage, current, relay and direction must be different"),
    ({"pins": {"relais": 5}}, "pins.relais: not a setting"),
    ({"calibration": None}, "calibration: must be an object"),
    ({"calibration": {"i_sign": "-1"}}, "calibration.i_sign: must be 1 or -1"),
    ({"calibration": {"adc_min_mv": 3000, "adc_max_mv": 100}}, "calibration.adc_max_mv: "),
    ({"calibration": {"v_min_mv": 70000, "v_max_mv": 10000}}, "calibration.v_max_mv: "),
    ({"calibration": {"v_ratio": "21"}}, "calibration.v_ratio: must be a number"),
    ({"calibration": {"v_ration": 21}}, "calibration.v_ration: not a setting"),
    ({"meter_id": True}, "meter_id: must be a whole number"),
    ({"state_file": ""}, "state_file: must be text"),
)


def test_each_bad_setting_is_refused_by_name():
    for change, start in BAD_CONFIGS:
        d = _config()
        for k in change:
            d[k] = change[k]
        try:
            Config(d)
        except ValueError as e:
            assert str(e).startswith(start), (change, str(e))
            continue
        raise AssertionError("accepted " + repr(change))


def test_a_good_config_keeps_its_values_and_its_defaults():
    c = Config(_config(port=8080, pins={"relay": 27, "relay_active_high": False, "direction": 4},
                       calibration={"i_sign": -1, "v_ratio": 20}))
    assert (c.port, c.relay_pin, c.relay_active_high, c.dir_pin) == (8080, 27, False, 4)
    assert (c.v_pin, c.i_pin, c.silence_ms, c.max_queue) == (34, 35, 60000, 8)
    assert c.calibration.i_sign == -1 and c.calibration.v_ratio == 20.0
    assert Config(_config()).relay_active_high is True
    # what older files may hold and the old firmware read the same way
    older = Config(_config(sample_ms=100.0, pins={"relay_active_high": 0},
                           calibration={"v_min_mv": 10000.0}, state_file="meter_state.json"))
    assert (older.sample_ms, older.relay_active_high, older.state_file) == (
        100, False, "/meter_state.json")
    assert older.calibration.v_min_mv == 10000


# ---- sensors ----------------------------------------------------------------------------


def test_sensor_conversion_inverts_the_calibration():
    cal = Calibration({})
    v_uv, i_uv = pin_uv(cal, 48000, 12500)
    v, i = convert(cal, v_uv, i_uv)
    assert abs(v - 48000) <= 1 and abs(i - 12500) <= 1
    v_uv, i_uv = pin_uv(cal, 52000, -8000)
    v, i = convert(cal, v_uv, i_uv)
    assert abs(v - 52000) <= 1 and abs(i + 8000) <= 1


def test_saturated_or_implausible_readings_are_faults():
    cal = Calibration({})
    for v_uv, i_uv in ((0, 1650000), (3300000, 1650000), (2000000, 3300000),
                       (100000, 1650000), (None, 1)):
        try:
            convert(cal, v_uv, i_uv)
        except SensorFault:
            continue
        raise AssertionError("accepted reading")


# ---- deliveries -------------------------------------------------------------------------


def test_book_runs_deliveries_fifo_one_at_a_time():
    book = Book()
    book.add(1, "import", 1, 1000, 0)
    book.add(2, "export", 1, 1000, 0)
    assert book.promote(0).id == 1
    assert book.promote(0).id == 1
    book.credit(NJ_PER_WH, 0, 5)
    assert book.get(1).state == "completed"
    assert book.promote(6).id == 2
    book.credit(NJ_PER_WH - 1, 0, 7)  # import energy does not count for an export
    assert book.active.energy_nj == 0


def test_book_expires_and_stops():
    book = Book()
    book.add(1, "import", 5, 100, 0)
    book.add(2, "import", 5, 200, 0)
    book.promote(0)
    book.expire(150)
    assert book.get(1).state == "expired"
    assert book.get(2).state == "queued"
    book.stop(2, "stop", 160)
    assert book.get(2).state == "stopped"
    assert book.promote(170) is None


def test_book_rejects_duplicates_and_overflow():
    book = Book(max_queue=2)
    book.add(1, "import", 5, 100, 0)
    for did in (1, 2, 3):
        try:
            book.add(did, "import", 5, 100, 0)
        except Exception as e:
            assert e.status == 409
    assert len(book.queue) == 2


# ---- meter ------------------------------------------------------------------------------


def test_meter_closes_relay_and_opens_it_at_target():
    m = _meter()
    code, rep = _start(m, 1, 0, target_wh=1)
    assert code == 201 and rep["state"] == "running" and m.relay_closed
    t = 0
    while m.relay_closed and t < 10**7:
        t += 100
        m.sample(t, 48000, 10000)  # 480 W: 1 Wh in 7.5 s
    rep = m.delivery_report(1)
    assert rep["state"] == "completed" and rep["final"]
    assert 1000 <= rep["delivered_mwh"] <= 1000 + 48000 * 10000 * 100 // NJ_PER_MWH + 1
    assert rep["delivered_wh"] == 1


def test_meter_opens_relay_at_deadline():
    m = _meter()
    _start(m, 1, 0, deadline=10**6 + 5000)
    t = 0
    while t < 4900:
        t += 100
        assert m.sample(t, 48000, 100)
    m.sample(5000, 48000, 100)
    assert not m.relay_closed
    assert m.delivery_report(1)["state"] == "expired"


def test_meter_opens_relay_on_stop_and_reports_partial_energy():
    m = _meter()
    _start(m, 1, 0, target_wh=100)
    for t in range(0, 10100, 100):
        m.sample(t, 48000, 10000)
    code, rep = m.command(_cmd(KEY, 2, 10**6 + 10100, "stop", id=1), "stop", 10100, 1)
    assert code == 200 and rep["state"] == "stopped" and rep["reason"] == "stop"
    assert not m.relay_closed
    assert rep["delivered_mwh"] == 480 * 10 * 1000 // 3600


def test_meter_opens_relay_on_sensor_fault():
    m = _meter()
    _start(m, 1, 0)
    m.sample(100, 48000, 1000)
    assert m.relay_closed
    m.sample(200, 0, 0, fault="voltage ADC out of range")
    assert not m.relay_closed
    rep = m.delivery_report(1)
    assert rep["state"] == "stopped" and rep["reason"] == "sensor_fault"


def test_meter_fail_safe_opens_relay_when_server_silent():
    m = _meter(silence_ms=3000)
    _start(m, 1, 0, target_wh=1000)
    t = 0
    while t < 3000:
        t += 100
        assert m.sample(t, 48000, 100), "relay opened before the silence limit"
    m.sample(3100, 48000, 100)
    assert not m.relay_closed
    assert m.delivery_report(1)["reason"] == "server_silent"


def test_heartbeat_keeps_a_delivery_running():
    m = _meter(silence_ms=3000)
    _start(m, 1, 0, target_wh=1000)
    counter = 1
    for t in range(100, 10000, 100):
        if t % 2000 == 0:
            counter += 1
            assert m.command(_cmd(KEY, counter, 10**6 + t, "ping"), "ping", t)[0] == 200
        assert m.sample(t, 48000, 100)


def test_queued_delivery_starts_after_the_active_one():
    m = _meter()
    _start(m, 1, 0, did=1, target_wh=1)
    _start(m, 2, 0, did=2, target_wh=1, role="export")
    st = m.status_report()
    assert st["active"]["id"] == 1 and [d["id"] for d in st["queued"]] == [2]
    t = 0
    while m.book.get(1).state == "running":
        t += 100
        m.sample(t, 48000, 10000)
    assert m.book.active.id == 2 and m.exporting
    while m.book.get(2).state == "running":
        t += 100
        m.sample(t, 48000, -10000)
    assert m.book.get(2).state == "completed" and not m.relay_closed


def test_meter_rejects_forged_replayed_and_misaddressed_commands():
    m = _meter()
    good = _cmd(KEY, 5, 10**6, "ping")
    assert m.command(good, "ping", 0)[0] == 200
    assert m.command(good, "ping", 1)[0] == 401  # replay
    assert m.command(_cmd(KEY, 4, 10**6, "ping"), "ping", 1)[0] == 401  # reordered
    assert m.command(_cmd(OTHER_KEY, 9, 10**6, "ping"), "ping", 1)[0] == 401  # wrong key
    assert m.command(_cmd(KEY, 9, 10**6, "ping", meter=8), "ping", 1)[0] == 403
    forged = _cmd(KEY, 10, 10**6, "start", id=1, role="import", target_wh=1, deadline=10**9)
    forged["target_wh"] = 1000
    assert m.command(forged, "start", 1)[0] == 401
    assert m.command({"id": 1}, "start", 1)[0] == 401
    assert m.command(None, "start", 1)[0] == 401
    assert m.book.get(1) is None and not m.relay_closed


def test_command_action_must_match_endpoint():
    m = _meter()
    code, rep = m.command(_cmd(KEY, 1, 10**6, "ping"), "start", 0)
    assert code == 400 and "action" in rep["error"]


def test_invalid_start_fields_are_named():
    m = _meter()
    code, rep = _start(m, 1, 0, role="sideways")
    assert code == 400 and rep["error"].startswith("role")
    code, rep = _start(m, 2, 0, target_wh=0)
    assert code == 400 and rep["error"].startswith("target_wh")
    code, rep = _start(m, 3, 0, deadline=5)
    assert code == 400 and rep["error"].startswith("deadline")


def test_reports_are_signed_with_increasing_counters():
    m = _meter()
    a = m.status_report()
    b = m.status_report()
    assert b["counter"] == a["counter"] + 1
    assert a["sig"] == sign(KEY, a)
    assert a["meter"] == 7 and a["type"] == "report"


def test_counters_survive_reboot():
    store = MemoryStore()
    m = _meter(store)
    assert m.command(_cmd(KEY, 5, 10**6, "ping"), "ping", 0)[0] == 200
    last_report = m.status_report()["counter"]
    m2 = _meter(store)  # reboot
    assert m2.command(_cmd(KEY, 5, 10**6, "ping"), "ping", 0)[0] == 401
    assert m2.command(_cmd(KEY, 6, 10**6, "ping"), "ping", 0)[0] == 200
    assert m2.status_report()["counter"] > last_report


def test_report_counter_writes_flash_once_per_block():
    store = MemoryStore()
    g = Guard(7, KEY, store)
    writes = store.writes
    for _ in range(REPORT_BLOCK * 3):
        g.sign_report({})
    assert store.writes - writes == 3


def test_file_store_keeps_counters_across_instances():
    path = _tmpdir() + "/state.json"
    m = _meter(FileStore(path))
    assert m.command(_cmd(KEY, 3, 10**6, "ping"), "ping", 0)[0] == 200
    m2 = _meter(FileStore(path))
    assert m2.command(_cmd(KEY, 3, 10**6, "ping"), "ping", 0)[0] == 401
    assert m2.guard.last_command == 3


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _read(path):
    with open(path) as f:
        return f.read()


def test_a_save_cut_short_between_remove_and_rename_is_read_back():
    """FAT cannot rename over a file: a power cut after removing the old one leaves only the
    temporary file; reading nothing there reset the counters to zero (replays accepted)."""
    path = _tmpdir() + "/cut.json"
    m = _meter(FileStore(path))
    assert m.command(_cmd(KEY, 9, 10**6, "ping"), "ping", 0)[0] == 200
    _write(path + ".tmp", _read(path))
    os.remove(path)  # the power went here
    store = FileStore(path)
    store.save = lambda data: _write(path + ".tmp", '{"cm')  # a second cut, in the next save
    _meter(store)  # the boot after the first cut
    m2 = _meter(FileStore(path))
    assert m2.command(_cmd(KEY, 9, 10**6, "ping"), "ping", 0)[0] == 401
    assert m2.command(_cmd(KEY, 10, 10**6, "ping"), "ping", 0)[0] == 200


def test_a_temporary_file_cut_short_while_written_is_ignored():
    path = _tmpdir() + "/partial.json"
    m = _meter(FileStore(path))
    assert m.command(_cmd(KEY, 4, 10**6, "ping"), "ping", 0)[0] == 200
    _write(path + ".tmp", '{"cmd": 5, "rp')  # the power went while writing the next state
    m2 = _meter(FileStore(path))
    assert m2.command(_cmd(KEY, 4, 10**6, "ping"), "ping", 0)[0] == 401
    assert m2.guard.locked is None and m2.guard.last_command == 4


def test_an_unreadable_state_file_refuses_every_command_and_is_left_as_it_is():
    """Counters read as zero from a broken file let every command the meter ever obeyed be
    replayed; the meter refuses commands instead (503, the relay stays open)."""
    for name, text in (("garbage", "\x00\x17 not json"), ("empty", ""), ("list", "[1, 2]"),
                       ("null", '{"cmd": null, "rpt": 3}'), ("text", '{"cmd": 1, "rpt": "7"}'),
                       ("negative", '{"cmd": 1, "rpt": -5}')):
        path = _tmpdir() + "/broken-" + name + ".json"
        _write(path, text)
        m = _meter(FileStore(path))
        code, body = _start(m, 1, 0)
        assert code == 503, (name, code, body)
        assert body["error"].startswith("state: "), body
        assert not m.relay_closed
        assert _read(path) == text, name  # nothing written over it
        code, _ = m.command(_cmd(KEY, 1, 10**6, "ping", meter=8), "ping", 0)
        assert code == 403  # a stranger's wrong command is still told what is wrong with it


def test_a_driver_error_while_sampling_opens_the_relay_and_sampling_goes_on():
    """Only SensorFault was caught: an OSError from the ADC driver (or a MemoryError) ended the
    board's sampling loop with the relay closed and no fail-safe left."""
    cal = Calibration({})

    class Hardware:
        def __init__(self):
            self.fail = False
            self.relay = None

        def read(self):
            if self.fail:
                raise OSError(116)
            return pin_uv(cal, 48000, 1000)

        def set_relay(self, closed, exporting):
            self.relay = closed

    m = _meter()
    hw = Hardware()
    _start(m, 1, 0, target_wh=1000)
    assert step(m, hw, cal, 100) and hw.relay
    hw.fail = True
    assert not step(m, hw, cal, 200) and hw.relay is False
    assert m.fault == "error: OSError"
    assert m.delivery_report(1)["reason"] == "sensor_fault"
    hw.fail = False
    step(m, hw, cal, 300)
    assert m.fault is None


def test_nesting_deeper_than_eight_levels_is_refused_before_signing():
    """MicroPython's stack ran out encoding a 200-deep list in an unsigned command: a 500 and a
    traceback on the board instead of a refusal."""
    deep = []
    for _ in range(200):
        deep = [deep]
    try:
        canon.encode(deep)
        raise AssertionError("a 200-deep list was encoded")
    except ValueError as e:
        assert "nested deeper than 8" in str(e)
    msg = {"type": "cmd", "meter": 7, "counter": 1, "time": 1, "x": deep, "sig": "00" * 32}
    assert _meter().command(msg, "ping", 0) == (401, {"error": "sig: not a valid signature"})


def test_status_page_shows_readings():
    m = _meter()
    _start(m, 1, 0)
    m.sample(100, 48123, 2500)
    html = render("House <1>", m.status_dict())
    assert "48.12 V" in html and "2.500 A" in html and "CLOSED" in html
    assert "House &lt;1&gt;" in html and "#1" in html


def run(module):
    """Tiny runner for MicroPython: runs every test_* function, prints a summary line."""
    passed = 0
    failed = 0
    for name in sorted(dir(module)):
        if not name.startswith("test_"):
            continue
        try:
            getattr(module, name)()
            passed += 1
            print("PASS " + name)
        except Exception as e:
            failed += 1
            print("FAIL " + name + ": " + type(e).__name__ + " " + str(e))
    print("RESULT passed=" + str(passed) + " failed=" + str(failed))
    return failed
