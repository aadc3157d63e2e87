"""The sweep's results store: one SQLite file per output folder, rows keyed by a content hash.

A run (one design point x workload x objective, a whole network solve) and a layer problem are each
keyed by the sha256 of a canonical JSON text of everything that decides their result, so a resumed or
extended sweep finds what it already solved, and identical layer problems are solved once across the
sweep and across sweeps sharing the folder. The keys are computed from plain JSON-ready data the
caller builds (``run_key``, ``layer_key``); this module knows nothing of the domain types.

Tables (in ``<folder>/sweep.sqlite``, WAL journal so one writer process and any number of readers):

* ``runs``: one row per run (``RunRecord``), ``run_layers``: one row per layer of a stored run
  (``LayerRecord``, in network order); a run and its layers are written in one transaction.
* ``layer_cache``: solved layer problems by ``layer_key`` (``LayerRecord``; its ``mapping_json`` holds
  the mapping with what else rebuilds the solution, ``sweep.layer_jobs.layer_record``).
* ``meta``: the sweep spec's hash, the imcmap version that wrote the folder, the table layout.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
import sqlite3
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from imcmap.models.errors import ImcmapError

FILENAME = "sweep.sqlite"
SCHEMA_VERSION = "1"
FAILED = "failed"  # the status ``Store.mark_failed`` writes

PointValue = bool | int | float | str
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class StoreError(ImcmapError):
    """The folder holds a store this code cannot read (another table layout), or bad input to it."""


# --- keys -------------------------------------------------------------------------------------------


def canonical_json(value: object) -> str:
    """One text per value: keys sorted, no spaces, floats by ``repr`` (shortest round-trip digits).

    Only plain data is accepted: dicts with string keys, lists and tuples (both written as lists),
    strings, ints, finite floats, booleans and None. ``1`` and ``1.0`` are different texts (an int and
    a float), so pass each quantity with the type it has in the problem.
    """
    _check_plain(value, "")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(value: object) -> str:
    """sha256 (hex) of ``canonical_json(value)``: equal for equal data whatever the dict order."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def run_key(
    *,
    accelerator: dict[str, object],
    workload: dict[str, object],
    mapping: dict[str, object],
    constraints: Sequence[str],
    objective: str,
    solver: dict[str, object],
    version: str,
) -> str:
    """The key of one network solve: a hash of every input that decides its result.

    ``accelerator``: the hardware as solved (every field the cost model reads, the design point's
    values applied); ``workload``: every layer (name, dims, precisions, operand links) in order;
    ``mapping``: the mapping spec's rules; ``constraints``: the user constraints' texts in the order
    given (a reordering is a different key: a needless re-solve at worst, never a wrong hit);
    ``objective``: "energy", "latency" or "edp"; ``solver``: the solver parameters (seed, time
    limits, gap, workers when they affect the result); ``version``: the imcmap version (a new cost
    model is a new key). All plain JSON-ready data (see ``canonical_json``).
    """
    return _key("run", accelerator=accelerator, workload=workload, mapping=mapping,
                constraints=constraints, objective=objective, solver=solver, version=version)


def layer_key(
    *,
    layer: dict[str, object],
    accelerator: dict[str, object],
    mapping: dict[str, object],
    constraints: Sequence[str],
    objective: str,
    solver: dict[str, object],
    version: str,
) -> str:
    """The key of one layer problem, so identical problems are solved once across runs.

    ``layer``: the layer's shape (dims, strides, precisions, operand links) *without its name*, so
    same-shaped layers of different networks share a key; ``accelerator``: the hardware as that layer
    sees it (after the bypasses and the caps of a kept tensor); ``mapping``: the rule resolved for
    that layer; ``constraints``: the user constraints that apply to it; the rest as in ``run_key``.
    A layer key never equals a run key (the kind is hashed too).
    """
    return _key("layer", layer=layer, accelerator=accelerator, mapping=mapping,
                constraints=constraints, objective=objective, solver=solver, version=version)


def _key(kind: str, **parts: object) -> str:
    for name, part in parts.items():
        if name == "constraints":
            if (
                isinstance(part, str)
                or not isinstance(part, (list, tuple))
                or not all(isinstance(c, str) for c in part)
            ):
                raise TypeError("constraints: expected a list of constraint texts")
        elif name in ("objective", "version"):
            if not isinstance(part, str):
                raise TypeError(f"{name}: expected a string, got {type(part).__name__}")
        elif not isinstance(part, dict):
            raise TypeError(f"{name}: expected a dict of plain data, got {type(part).__name__}")
    return content_hash({"kind": f"imcmap.sweep.{kind}", **parts})


def _check_plain(value: object, where: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where or 'value'}: {value!r} has no JSON text; expected a finite number")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where or 'value'}: key {k!r} is a {type(k).__name__}; expected string keys")
            _check_plain(item, f"{where}.{k}" if where else k)
        return
    raise TypeError(
        f"{where or 'value'}: {type(value).__name__} is not plain JSON data (dict, list, str, int, float, bool, None)"
    )


# --- records ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One layer's solved problem, as a run row's layer or a layer-cache entry.

    ``status`` is the solver's (OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN); ``lower_bound`` is the
    certified lower bound on the run's objective metric (pJ for energy, cycles for latency) and
    ``gap`` the certified relative gap; ``mapping_json`` the mapping as JSON text ("null" if none);
    ``solved_as`` the name of the identical layer actually solved (its own name if solved itself).
    """

    name: str
    status: str
    energy_pj: float | None = None
    latency_cycles: float | None = None
    gap: float | None = None
    lower_bound: float | None = None
    mapping_json: str = "null"
    solved_as: str = ""
    wall_time_s: float | None = None
    message: str = ""

    def __post_init__(self) -> None:
        _check_record(self)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One network solve's outcome: the design point, the figures, and how it was obtained.

    ``point`` holds the design point's parameter values in the spec's order. Metrics are None when
    unknown (a failed or infeasible run). ``utilization`` is a fraction; ``median_gap`` and
    ``worst_gap`` are over the layers' certified gaps; ``lower_bound`` is the certified lower bound on
    the objective metric (the sum of the layers' for energy and latency). The ``*_json`` fields are
    JSON texts: energy per component and per memory level (pJ), and the solver parameters used.
    ``status`` is the engine's word for the outcome ("failed" from ``mark_failed``), ``error`` why.
    """

    point: tuple[tuple[str, PointValue], ...]
    accelerator: str
    workload: str
    objective: str
    status: str
    energy_pj: float | None = None
    latency_cycles: float | None = None
    latency_s: float | None = None
    area_mm2: float | None = None
    tops_per_w: float | None = None
    tops_per_mm2: float | None = None
    peak_tops_per_w: float | None = None
    peak_tops_per_mm2: float | None = None
    peak_system_tops_per_mm2: float | None = None  # the macro's peak over the whole accelerator's area
    utilization: float | None = None
    median_gap: float | None = None
    worst_gap: float | None = None
    lower_bound: float | None = None
    energy_by_component_json: str = "{}"
    energy_by_level_json: str = "{}"
    solver_json: str = "{}"
    wall_time_s: float | None = None
    error: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.point, tuple):
            raise TypeError(f"point: expected a tuple of (name, value) pairs, got {type(self.point).__name__}")
        names: set[str] = set()
        for pair in self.point:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                raise TypeError(f"point: {pair!r} is not a (name, value) pair")
            name, value = pair
            if name in names:
                raise ValueError(f"point: {name!r} appears twice")
            names.add(name)
            if not isinstance(value, (bool, int, float, str)):
                raise TypeError(f"point.{name}: {type(value).__name__}; expected bool, int, float or str")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"point.{name}: {value!r}; expected a finite number")
        _check_record(self)

    def point_values(self) -> dict[str, PointValue]:
        return dict(self.point)


def _check_record(record: LayerRecord | RunRecord) -> None:
    """Typed fields, finite floats (SQLite stores NaN as NULL), ints as floats, JSON texts that parse."""
    record_type: type = type(record)
    for name, kind in _field_kinds(record_type):
        value = getattr(record, name)
        if kind == "metric":
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}: {type(value).__name__}; expected a number or None")
            if not math.isfinite(value):
                raise ValueError(f"{name}: {value!r}; expected a finite number or None (unknown)")
            # + 0.0 turns -0.0 into 0.0 as SQLite does, so the record equals what it reads back
            object.__setattr__(record, name, float(value) + 0.0)
        elif kind in ("text", "json"):
            if not isinstance(value, str):
                raise TypeError(f"{name}: {type(value).__name__}; expected a string")
            if kind == "json":
                try:
                    json.loads(value, parse_constant=_refuse_constant)
                except ValueError as exc:
                    raise ValueError(f"{name}: not JSON text ({exc})") from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not standard JSON (the JSON export could not write it)")


@functools.cache
def _field_kinds(cls: type) -> tuple[tuple[str, str], ...]:
    """(field, kind) per record field: "metric" (float | None, a REAL column), "json" (JSON text),
    "text", or "point" (the design point, checked by RunRecord itself)."""
    hints = typing.get_type_hints(cls)
    kinds = []
    for f in fields(cls):
        if hints[f.name] == float | None:
            kinds.append((f.name, "metric"))
        elif hints[f.name] is str:
            kinds.append((f.name, "json" if f.name.endswith("_json") else "text"))
        else:
            kinds.append((f.name, "point"))
    return tuple(kinds)


# --- the store --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreMeta:
    spec_hash: str
    version: str


def _columns(cls: type) -> tuple[tuple[str, str], ...]:
    """(column, SQL type) per record field: REAL for metrics, TEXT for the rest (point as JSON)."""
    return tuple((name, "REAL" if kind == "metric" else "TEXT NOT NULL") for name, kind in _field_kinds(cls))


_RUN_COLUMNS = _columns(RunRecord)
_LAYER_COLUMNS = _columns(LayerRecord)
_RUN_NAMES = tuple(name for name, _ in _RUN_COLUMNS)
_LAYER_NAMES = tuple(name for name, _ in _LAYER_COLUMNS)


def _ddl(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} {sqltype}" for name, sqltype in columns)


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, {_ddl(_RUN_COLUMNS)});
CREATE TABLE IF NOT EXISTS run_layers (
    run_key TEXT NOT NULL, position INTEGER NOT NULL, {_ddl(_LAYER_COLUMNS)},
    PRIMARY KEY (run_key, position), UNIQUE (run_key, name));
CREATE TABLE IF NOT EXISTS layer_cache (key TEXT PRIMARY KEY, {_ddl(_LAYER_COLUMNS)});
"""


def _run_row(key: str, run: RunRecord) -> tuple[object, ...]:
    values = [getattr(run, name) for name in _RUN_NAMES]
    values[0] = json.dumps([list(pair) for pair in run.point], allow_nan=False)
    return (key, *values)


def _run_from_row(row: Sequence[Any]) -> RunRecord:
    values = list(row)
    values[0] = tuple((str(name), value) for name, value in json.loads(str(values[0])))
    return RunRecord(*values)


def _layer_row(record: LayerRecord) -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in _LAYER_NAMES)


class Store:
    """The results of the sweep in ``folder`` (created if missing, unless ``readonly``).

    Writes are transactions (``BEGIN IMMEDIATE``): one writer process at a time, waiting up to
    ``timeout_s`` for another's; readers (``readonly=True``, in any process) see whole runs only.
    """

    def __init__(self, folder: str | os.PathLike[str], *, readonly: bool = False, timeout_s: float = 60.0):
        self.path = Path(folder) / FILENAME
        self.readonly = readonly
        if readonly:
            if not self.path.exists():
                raise StoreError(f"{self.path}: no sweep results here")
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            # WAL: readers never block the writer nor see a half-written transaction; NORMAL sync
            # keeps every commit atomic (a power cut may only drop the last few whole commits).
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._write() as conn:
                for statement in _SCHEMA.split(";"):
                    conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        found = self._meta_value("schema")
        if found != SCHEMA_VERSION:
            self._conn.close()
            raise StoreError(f"{self.path}: table layout {found!r}, this imcmap reads {SCHEMA_VERSION!r}")

    # context and lifetime

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one state of the file (a read transaction)."""
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    # runs

    def get_run(self, key: str) -> RunRecord | None:
        row = self._conn.execute(f"SELECT {', '.join(_RUN_NAMES)} FROM runs WHERE key = ?", (key,)).fetchone()
        return None if row is None else _run_from_row(row)

    def run_layers(self, key: str) -> tuple[LayerRecord, ...]:
        """The layers stored with run ``key``, in network order (empty for a failed run)."""
        rows = self._conn.execute(
            f"SELECT {', '.join(_LAYER_NAMES)} FROM run_layers WHERE run_key = ? ORDER BY position", (key,)
        ).fetchall()
        return tuple(LayerRecord(*row) for row in rows)

    def put_run(self, key: str, run: RunRecord, layers: Sequence[LayerRecord]) -> None:
        """Store run ``key`` with its layers, replacing any earlier one: all of it or, on any error, none."""
        with self._write() as conn:
            conn.execute("DELETE FROM run_layers WHERE run_key = ?", (key,))
            conn.execute(f"INSERT OR REPLACE INTO runs VALUES ({_marks(1 + len(_RUN_NAMES))})", _run_row(key, run))
            for position, layer in enumerate(layers):
                conn.execute(
                    f"INSERT INTO run_layers VALUES ({_marks(2 + len(_LAYER_NAMES))})",
                    (key, position, *_layer_row(layer)),
                )

    def mark_failed(
        self,
        key: str,
        reason: str,
        *,
        point: tuple[tuple[str, PointValue], ...] | None = None,
        accelerator: str | None = None,
        workload: str | None = None,
        objective: str | None = None,
    ) -> None:
        """Record that run ``key`` failed, with ``reason``; its figures and layers are dropped.

        The identity fields given replace the stored ones; those not given keep a stored run's, or
        are empty when nothing was stored under ``key``.
        """
        with self._write() as conn:
            row = conn.execute(f"SELECT {', '.join(_RUN_NAMES)} FROM runs WHERE key = ?", (key,)).fetchone()
            old = _run_from_row(row) if row is not None else RunRecord((), "", "", "", FAILED)
            failed = RunRecord(
                point=old.point if point is None else point,
                accelerator=old.accelerator if accelerator is None else accelerator,
                workload=old.workload if workload is None else workload,
                objective=old.objective if objective is None else objective,
                status=FAILED,
                solver_json=old.solver_json,
                error=reason,
            )
            conn.execute("DELETE FROM run_layers WHERE run_key = ?", (key,))
            conn.execute(f"INSERT OR REPLACE INTO runs VALUES ({_marks(1 + len(_RUN_NAMES))})", _run_row(key, failed))

    def runs(self) -> Iterator[tuple[str, RunRecord]]:
        """Every stored run as (key, record), by workload, objective, accelerator, then key."""
        rows = self._conn.execute(
            f"SELECT key, {', '.join(_RUN_NAMES)} FROM runs ORDER BY workload, objective, accelerator, key"
        ).fetchall()
        for row in rows:
            yield row[0], _run_from_row(row[1:])

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    # the layer cache

    def get_layer(self, key: str) -> LayerRecord | None:
        row = self._conn.execute(
            f"SELECT {', '.join(_LAYER_NAMES)} FROM layer_cache WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else LayerRecord(*row)

    def put_layer(self, key: str, record: LayerRecord) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO layer_cache VALUES ({_marks(1 + len(_LAYER_NAMES))})",
                (key, *_layer_row(record)),
            )

    # meta and housekeeping

    def set_meta(self, *, spec_hash: str, version: str) -> None:
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [("spec_hash", spec_hash), ("version", version)])

    def meta(self) -> StoreMeta | None:
        """The spec hash and imcmap version last written by ``set_meta`` (None if never)."""
        spec_hash, version = self._meta_value("spec_hash"), self._meta_value("version")
        return None if spec_hash is None or version is None else StoreMeta(spec_hash, version)

    def clear(self) -> None:
        """Forget every run, cached layer and the meta (``--fresh``); the table layout stays."""
        with self._write() as conn:
            for table in ("run_layers", "runs", "layer_cache"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM meta WHERE name != 'schema'")

    def _meta_value(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    # exports

    def export_csv(self, path: str | os.PathLike[str]) -> None:
        """One line per run: ``key``, one ``point.<name>`` column per design parameter, then the
        record's fields; floats by ``repr`` (``float()`` reads them back exactly), None as empty."""
        runs = list(self.runs())
        point_names = list(dict.fromkeys(name for _, run in runs for name, _ in run.point))
        header = ["key", *(f"point.{name}" for name in point_names), *_RUN_NAMES[1:]]
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for key, run in runs:
                values = run.point_values()
                writer.writerow([
                    key,
                    *(_csv_text(values.get(name)) for name in point_names),
                    *(_csv_text(getattr(run, name)) for name in _RUN_NAMES[1:]),
                ])

    def export_json(self, path: str | os.PathLike[str]) -> None:
        """``{"meta": ..., "runs": [...]}``: each run's fields with ``point`` as an object, the JSON
        texts parsed (``energy_by_component``, ``energy_by_level``, ``solver``) and its ``layers``."""
        with self._snapshot():
            meta = self.meta()
            documents = [_run_document(key, run, self.run_layers(key)) for key, run in self.runs()]
        body = {"meta": None if meta is None else {"spec_hash": meta.spec_hash, "version": meta.version},
                "runs": documents}
        with open(path, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1, allow_nan=False)
            out.write("\n")


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _plain_fields(record: LayerRecord | RunRecord) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name.endswith("_json"):
            out[f.name.removesuffix("_json")] = json.loads(value)
        else:
            out[f.name] = value
    return out


def _run_document(key: str, run: RunRecord, layers: Sequence[LayerRecord]) -> dict[str, object]:
    return {"key": key, **_plain_fields(run), "point": run.point_values(),
            "layers": [_plain_fields(layer) for layer in layers]}
