"""The sweep's results store: content keys, exact round trips, atomic runs, reopening, readers, exports."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import struct
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imcmap.sweep import store as store_module
from imcmap.sweep.store import (
    FAILED,
    LayerRecord,
    RunRecord,
    Store,
    StoreError,
    StoreMeta,
    canonical_json,
    layer_key,
    run_key,
)

KEY_INPUTS: dict[str, object] = {
    "accelerator": {"name": "dimc", "rows": 256, "tclk_ns": 2.5, "memories": [{"name": "rf", "bits": 64}]},
    "workload": {"layers": [{"name": "conv1", "K": 16, "C": 3}, {"name": "fc", "K": 10, "C": 64}]},
    "mapping": {"default": {"unroll": {"D1": "K"}}},
    "constraints": ["conv1: K unrolled", "fc: C at rf"],
    "objective": "energy",
    "solver": {"seed": 0, "max_deterministic_time": 10.0, "relative_gap": 0.01},
    "version": "0.1.0",
}


def reversed_dicts(value: object) -> object:
    """The same data with every dict's insertion order reversed."""
    if isinstance(value, dict):
        return {k: reversed_dicts(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_dicts(v) for v in value]
    return value


def a_run(name: str = "dimc", energy: float = 1234.5678, workload: str = "tiny_net") -> RunRecord:
    return RunRecord(
        point=(("rows", 256), ("tclk_ns", 2.5), ("adc", "sar"), ("dataflow", True)),
        accelerator=name,
        workload=workload,
        objective="energy",
        status="ok",
        energy_pj=energy,
        latency_cycles=98765.0,
        latency_s=98765.0 * 2.5e-9,
        area_mm2=0.1 + 0.2,
        tops_per_w=1 / 3,
        tops_per_mm2=2 / 7,
        peak_tops_per_w=5e-324,
        peak_tops_per_mm2=1.7976931348623157e308,
        utilization=0.62,
        median_gap=0.0,
        worst_gap=0.0099,
        lower_bound=energy * (1 - 0.0099),
        energy_by_component_json=json.dumps({"adc": 12.5, "mult": 0.1 + 0.7}),
        energy_by_level_json=json.dumps({"dram": 900.125, "rf": 3.0}),
        solver_json=json.dumps({"seed": 0, "relative_gap": 0.01}),
        wall_time_s=1.25,
    )


def some_layers(count: int = 3) -> list[LayerRecord]:
    return [
        LayerRecord(
            name=f"layer{i}",
            status="OPTIMAL",
            energy_pj=100.0 / (i + 3),
            latency_cycles=float(1000 + i),
            gap=0.0,
            lower_bound=100.0 / (i + 3),
            mapping_json=json.dumps({"levels": [{"name": "rf", "factors": {"K": 2 + i}}]}),
            solved_as=f"layer{i}",
            wall_time_s=0.01 * i,
        )
        for i in range(count)
    ]


def float_bits(record: RunRecord | LayerRecord) -> dict[str, bytes | None]:
    return {f.name: None if getattr(record, f.name) is None else struct.pack("<d", getattr(record, f.name))
            for f in fields(record) if isinstance(getattr(record, f.name), float) or getattr(record, f.name) is None}


# --- keys ---------------------------------------------------------------------------------------------


def test_run_key_is_the_sha256_of_the_documented_canonical_text():
    """run_key hashes {"kind": "imcmap.sweep.run", ...inputs} written with sorted keys, no spaces."""
    small = {"accelerator": {"b": 1.5, "a": 2}, "workload": {"x": [1, 2.0]}, "mapping": {}, "constraints": ["c"],
             "objective": "latency", "solver": {"seed": 3}, "version": "9"}
    text = ('{"accelerator":{"a":2,"b":1.5},"constraints":["c"],"kind":"imcmap.sweep.run","mapping":{},'
            '"objective":"latency","solver":{"seed":3},"version":"9","workload":{"x":[1,2.0]}}')
    assert run_key(**small) == hashlib.sha256(text.encode()).hexdigest()


def test_keys_ignore_dict_order():
    """Reversing every dict's insertion order (nested ones too) gives the same run and layer keys."""
    shuffled = {k: reversed_dicts(v) for k, v in reversed(list(KEY_INPUTS.items()))}
    assert run_key(**shuffled) == run_key(**KEY_INPUTS)
    layer_inputs = {**KEY_INPUTS, "layer": {"K": 16, "C": 3, "OX": 7}}
    del layer_inputs["workload"]
    shuffled_layer = {**layer_inputs, "layer": reversed_dicts(layer_inputs["layer"]),
                      "accelerator": reversed_dicts(layer_inputs["accelerator"])}
    assert layer_key(**shuffled_layer) == layer_key(**layer_inputs)


def test_keys_are_the_same_in_another_process():
    """A fresh interpreter with another hash seed computes the same run key."""
    code = ("import json, sys; from imcmap.sweep.store import run_key; "
            "print(run_key(**json.loads(sys.stdin.read())))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run([sys.executable, "-c", code], input=json.dumps(reversed_dicts(KEY_INPUTS)),
                           capture_output=True, text=True, env=env, check=True, timeout=120)
    assert child.stdout.strip() == run_key(**KEY_INPUTS)


@pytest.mark.parametrize(
    "name, changed",
    [
        ("accelerator", {**KEY_INPUTS["accelerator"], "rows": 128}),  # type: ignore[dict-item]
        ("accelerator", {**KEY_INPUTS["accelerator"], "tclk_ns": 2.5000000000000004}),  # type: ignore[dict-item]
        ("workload", {"layers": [{"name": "conv1", "K": 16, "C": 3}]}),
        ("mapping", {"default": {"unroll": {"D1": "C"}}}),
        ("constraints", ["conv1: K unrolled"]),
        ("constraints", ["fc: C at rf", "conv1: K unrolled"]),
        ("objective", "latency"),
        ("solver", {"seed": 1, "max_deterministic_time": 10.0, "relative_gap": 0.01}),
        ("version", "0.1.1"),
    ],
)
def test_run_key_changes_with_any_input(name, changed):
    """Changing one input (one ulp of a float included) changes the key."""
    assert run_key(**{**KEY_INPUTS, name: changed}) != run_key(**KEY_INPUTS)


def test_layer_key_changes_with_the_layer_and_differs_from_a_run_key():
    """A layer key depends on the layer's shape; the same data under the two kinds never collides."""
    inputs = {k: v for k, v in KEY_INPUTS.items() if k != "workload"}
    base = layer_key(layer={"K": 16, "C": 3}, **inputs)
    assert layer_key(layer={"K": 16, "C": 4}, **inputs) != base
    assert layer_key(layer={"K": 16, "C": 3}, **{**inputs, "objective": "latency"}) != base
    assert run_key(workload={"K": 16, "C": 3}, **inputs) != layer_key(layer={"K": 16, "C": 3}, **inputs)


def test_int_and_float_are_different_keys():
    """1 and 1.0 are written differently ("1" vs "1.0"): the caller passes each value with its type."""
    assert canonical_json({"x": 1}) == '{"x":1}' and canonical_json({"x": 1.0}) == '{"x":1.0}'
    assert run_key(**{**KEY_INPUTS, "solver": {"seed": 1}}) != run_key(**{**KEY_INPUTS, "solver": {"seed": 1.0}})


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"x": float("nan")}, r"^accelerator\.x: nan has no JSON text"),
        ({"x": [float("inf")]}, r"^accelerator\.x\[0\]: inf"),
        ({1: "a"}, "^accelerator: key 1 is a int; expected string keys"),
        ({"x": {1, 2}}, r"^accelerator\.x: set is not plain JSON data"),
    ],
)
def test_keys_reject_data_without_one_json_text(bad, message):
    """Non-finite floats, non-string keys and non-JSON types are refused with the place named."""
    with pytest.raises((TypeError, ValueError), match=message):
        run_key(**{**KEY_INPUTS, "accelerator": bad})


def test_keys_reject_wrong_argument_types():
    """A constraints string (not a list) or a non-dict accelerator is refused, not hashed."""
    with pytest.raises(TypeError, match="constraints"):
        run_key(**{**KEY_INPUTS, "constraints": "conv1: K unrolled"})
    with pytest.raises(TypeError, match="accelerator: expected a dict"):
        run_key(**{**KEY_INPUTS, "accelerator": [1, 2]})


# --- records --------------------------------------------------------------------------------------------


def test_records_refuse_values_sqlite_would_change():
    """NaN (SQLite stores it as NULL), infinities, bad JSON texts and repeated point names are refused."""
    with pytest.raises(ValueError, match="energy_pj: nan"):
        replace(a_run(), energy_pj=float("nan"))
    with pytest.raises(ValueError, match="gap: inf"):
        LayerRecord("l", "OPTIMAL", gap=float("inf"))
    with pytest.raises(ValueError, match="mapping_json: not JSON text"):
        LayerRecord("l", "OPTIMAL", mapping_json="{levels")
    with pytest.raises(ValueError, match=r"energy_by_level_json: not JSON text .NaN is not standard JSON"):
        replace(a_run(), energy_by_level_json='{"rf": NaN}')
    with pytest.raises(ValueError, match="'rows' appears twice"):
        replace(a_run(), point=(("rows", 1), ("rows", 2)))
    with pytest.raises(TypeError, match="area_mm2: str"):
        replace(a_run(), area_mm2="0.3")


def test_records_hold_floats_as_sqlite_returns_them():
    """An int metric is held as a float and -0.0 as 0.0 (SQLite's REAL reads both back that way)."""
    run = replace(a_run(), latency_cycles=12, median_gap=-0.0)
    assert type(run.latency_cycles) is float and run.latency_cycles == 12.0
    assert struct.pack("<d", run.median_gap) == struct.pack("<d", 0.0)


# --- the store ------------------------------------------------------------------------------------------


def test_run_round_trip_is_bit_exact(tmp_path):
    """A run and its layers read back equal, every float with the same 64 bits, layers in order."""
    run, layers = a_run(), some_layers(4)
    with Store(tmp_path) as store:
        store.put_run("k1", run, layers)
        back, back_layers = store.get_run("k1"), store.run_layers("k1")
    assert back == run and float_bits(back) == float_bits(run)
    assert back.point == run.point and [type(v) for _, v in back.point] == [int, float, str, bool]
    assert back_layers == tuple(layers)
    assert [float_bits(b) for b in back_layers] == [float_bits(a) for a in layers]


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    point_value=st.floats(allow_nan=False, allow_infinity=False),
)
def test_any_finite_float_round_trips_bit_exact(tmp_path_factory, value, point_value):
    """Every finite float, as a metric or a design-point value, comes back with the same bits (-0.0 as 0.0)."""
    run = replace(a_run(), energy_pj=value, point=(("x", point_value),))
    layer = LayerRecord("l", "FEASIBLE", lower_bound=value)
    with Store(tmp_path_factory.mktemp("rt")) as store:
        store.put_run("k", run, [layer])
        store.put_layer("lk", layer)
        back = store.get_run("k")
        assert struct.pack("<d", back.energy_pj) == struct.pack("<d", value + 0.0)
        assert struct.pack("<d", back.point[0][1]) == struct.pack("<d", point_value)
        assert struct.pack("<d", store.get_layer("lk").lower_bound) == struct.pack("<d", value + 0.0)


def test_missing_keys_read_as_none(tmp_path):
    """An unknown run or layer key is None (a cache miss), with no layers."""
    with Store(tmp_path) as store:
        assert store.get_run("nope") is None and store.run_layers("nope") == ()
        assert store.get_layer("nope") is None and store.meta() is None and len(store) == 0


def test_put_run_replaces_a_run_and_its_layers(tmp_path):
    """Storing under a key again replaces the run and all of its old layers."""
    with Store(tmp_path) as store:
        store.put_run("k", a_run(energy=1.0), some_layers(3))
        store.put_run("k", a_run(energy=2.0), some_layers(1))
        assert store.get_run("k").energy_pj == 2.0 and len(store.run_layers("k")) == 1 and len(store) == 1


def test_a_failed_put_run_leaves_nothing(tmp_path):
    """Two layers named alike break the UNIQUE(run, name) rule at the second insert: no run, no layer."""
    layers = some_layers(3)
    layers[2] = replace(layers[2], name=layers[0].name)
    with Store(tmp_path) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.put_run("k", a_run(), layers)
        assert store.get_run("k") is None and store.run_layers("k") == ()
        assert list(store.runs()) == []


def test_a_failure_while_replacing_keeps_the_old_run_whole(tmp_path, monkeypatch):
    """An exception raised after the old layers were deleted and the new run row written rolls all back."""
    with Store(tmp_path) as store:
        store.put_run("k", a_run(energy=1.0), some_layers(3))
        calls = []
        real_layer_row = store_module._layer_row

        def failing_layer_row(record):
            calls.append(record.name)
            if len(calls) == 2:
                raise RuntimeError("worker lost")
            return real_layer_row(record)

        monkeypatch.setattr(store_module, "_layer_row", failing_layer_row)
        with pytest.raises(RuntimeError, match="worker lost"):
            store.put_run("k", a_run(energy=2.0), some_layers(5))
        monkeypatch.undo()
        assert calls == ["layer0", "layer1"]
        assert store.get_run("k").energy_pj == 1.0 and store.run_layers("k") == tuple(some_layers(3))
        store.put_run("k2", a_run(), some_layers(1))  # the connection is usable afterwards
        assert len(store) == 2


def test_reopening_the_folder_finds_everything(tmp_path):
    """Runs, their layers, failures, cached layers and the meta survive closing and reopening."""
    with Store(tmp_path) as store:
        store.put_run("a", a_run("dimc"), some_layers(2))
        store.put_run("b", a_run("aimc", energy=7.0), some_layers(3))
        store.mark_failed("c", "out of memory", point=(("rows", 512),), accelerator="dimc", workload="tiny_net",
                          objective="latency")
        store.put_layer("L", some_layers(1)[0])
        store.set_meta(spec_hash="ab" * 32, version="0.1.0")
    with Store(tmp_path) as store:
        assert dict(store.runs()) == {"a": a_run("dimc"), "b": a_run("aimc", energy=7.0),
                                      "c": store.get_run("c")}
        assert store.run_layers("b") == tuple(some_layers(3))
        failed = store.get_run("c")
        assert (failed.status, failed.error, failed.point, failed.objective) == (
            FAILED, "out of memory", (("rows", 512),), "latency")
        assert store.get_layer("L") == some_layers(1)[0]
        assert store.meta() == StoreMeta("ab" * 32, "0.1.0")
    assert (tmp_path / "sweep.sqlite").exists()


def test_mark_failed_drops_figures_and_layers_but_keeps_the_identity(tmp_path):
    """Marking a stored run failed keeps its point and names, clears its metrics and its layers."""
    with Store(tmp_path) as store:
        store.put_run("k", a_run(), some_layers(2))
        store.mark_failed("k", "evaluator disagrees")
        failed = store.get_run("k")
        assert failed.point == a_run().point and failed.accelerator == "dimc" and failed.workload == "tiny_net"
        assert failed.status == FAILED and failed.error == "evaluator disagrees"
        assert failed.energy_pj is None and failed.solver_json == a_run().solver_json
        assert store.run_layers("k") == ()
        store.mark_failed("new", "crashed")
        assert store.get_run("new") == RunRecord((), "", "", "", FAILED, error="crashed")


def test_runs_come_sorted_by_workload_objective_accelerator_key(tmp_path):
    """Iteration order does not depend on the order runs finished in."""
    with Store(tmp_path) as store:
        store.put_run("z", a_run("b", workload="w1"), [])
        store.put_run("y", a_run("a", workload="w2"), [])
        store.put_run("x", a_run("b", workload="w1"), [])
        store.put_run("w", a_run("a", workload="w1"), [])
        assert [k for k, _ in store.runs()] == ["w", "x", "z", "y"]


def test_clear_forgets_everything_but_stays_usable(tmp_path):
    """After clear() (``--fresh``) no run, layer, cached layer or meta is left, and writes work."""
    with Store(tmp_path) as store:
        store.put_run("k", a_run(), some_layers(2))
        store.put_layer("L", some_layers(1)[0])
        store.set_meta(spec_hash="s", version="v")
        store.clear()
        assert list(store.runs()) == [] and store.run_layers("k") == () and store.get_layer("L") is None
        assert store.meta() is None
        store.put_run("k", a_run(), [])
    with Store(tmp_path) as store:
        assert len(store) == 1


def test_readonly_store_reads_and_refuses_writes(tmp_path):
    """A read-only store sees what the writer committed and raises on any write; a missing file is an error."""
    with pytest.raises(StoreError, match="no sweep results here"):
        Store(tmp_path / "empty", readonly=True)
    with Store(tmp_path) as writer:
        writer.put_run("k", a_run(), some_layers(1))
        with Store(tmp_path, readonly=True) as reader:
            assert reader.get_run("k") == a_run()
            with pytest.raises(StoreError, match="read-only"):
                reader.put_layer("L", some_layers(1)[0])
            writer.put_run("k2", a_run(), [])
            assert len(reader) == 2


def test_another_table_layout_is_refused(tmp_path):
    """A folder written with another table layout is an error naming both layouts, not a silent misread."""
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / "sweep.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE name = 'schema'")
    with pytest.raises(StoreError, match="table layout '0', this imcmap reads '1'"):
        Store(tmp_path)


def test_the_store_uses_a_wal_journal(tmp_path):
    """The journal is WAL, so readers in other processes never wait for the writer."""
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / "sweep.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


READER = """
import sys, time
from imcmap.sweep.store import Store
folder, total, per_run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(folder, readonly=True)
print("ready", flush=True)
counts, torn, deadline = [], 0, time.monotonic() + 120
while time.monotonic() < deadline:
    keys = [key for key, _ in store.runs()]
    torn += sum(len(store.run_layers(key)) != per_run for key in keys)
    counts.append(len(keys))
    if len(keys) == total:
        break
print(len(counts), len(set(counts)), torn, int(counts == sorted(counts)), counts[-1], flush=True)
"""


def test_a_reader_in_another_process_sees_only_whole_runs(tmp_path):
    """While one process writes 60 runs of 300 layers, a reader process polling them never sees a run
    with fewer layers, sees the count only grow, and sees states between empty and full."""
    total, per_run = 60, 300
    with Store(tmp_path) as store:
        reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path), str(total), str(per_run)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout.readline().strip() == "ready"
            for i in range(total):
                store.put_run(f"run{i:03d}", a_run(energy=float(i)), some_layers(per_run))
                time.sleep(0.002)
            out, _ = reader.communicate(timeout=180)
        finally:
            if reader.poll() is None:
                reader.kill()
    polls, distinct, torn, monotonic, last = map(int, out.split())
    assert torn == 0 and monotonic == 1 and last == total
    assert distinct > 2, f"the reader saw only {distinct} states in {polls} polls"


# --- exports --------------------------------------------------------------------------------------------


def test_csv_export_reads_back_exactly(tmp_path):
    """The CSV has a column per design parameter; its floats parse back to the stored bits, None as ''."""
    with Store(tmp_path) as store:
        store.put_run("a", a_run(), some_layers(2))
        store.put_run("b", replace(a_run(energy=3.0), point=(("rows", 128), ("cols", 64))), [])
        store.mark_failed("c", "boom, with a comma")
        store.export_csv(tmp_path / "runs.csv")
    with open(tmp_path / "runs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["key"] for r in rows] == ["c", "a", "b"]
    failed, a, b = rows
    assert failed["error"] == "boom, with a comma" and failed["energy_pj"] == "" and failed["point.rows"] == ""
    assert a["point.rows"] == "256" and a["point.adc"] == "sar" and b["point.cols"] == "64" and a["point.cols"] == ""
    for name in ("energy_pj", "area_mm2", "tops_per_w", "peak_tops_per_w", "peak_tops_per_mm2", "lower_bound"):
        assert struct.pack("<d", float(a[name])) == struct.pack("<d", getattr(a_run(), name)), name
    assert json.loads(a["energy_by_level_json"]) == json.loads(a_run().energy_by_level_json)


def test_json_export_nests_points_layers_and_parsed_texts(tmp_path):
    """The JSON export holds the meta, each run with its point as an object, parsed JSON fields and layers."""
    with Store(tmp_path) as store:
        store.set_meta(spec_hash="h", version="0.1.0")
        store.put_run("a", a_run(), some_layers(2))
        store.export_json(tmp_path / "runs.json")
    document = json.loads(Path(tmp_path / "runs.json").read_text())
    assert document["meta"] == {"spec_hash": "h", "version": "0.1.0"}
    (run,) = document["runs"]
    assert run["key"] == "a" and run["point"] == {"rows": 256, "tclk_ns": 2.5, "adc": "sar", "dataflow": True}
    assert run["energy_pj"] == a_run().energy_pj and run["latency_s"] == a_run().latency_s
    assert run["energy_by_component"] == {"adc": 12.5, "mult": 0.1 + 0.7} and run["solver"]["seed"] == 0
    assert [layer["name"] for layer in run["layers"]] == ["layer0", "layer1"]
    assert run["layers"][1]["mapping"] == {"levels": [{"name": "rf", "factors": {"K": 3}}]}
