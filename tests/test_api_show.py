"""api.list_specs and api.show: typed listings and what was understood of the inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from imcmap import api
from imcmap.models.hardware import Accelerator
from imcmap.models.workload import Workload

DATA = Path(__file__).resolve().parent / "data"


def test_list_specs_gives_every_kind_or_one():
    """Every kind in order, each with its bundled names and files; a kind filter keeps one."""
    kinds = api.list_specs()
    assert [k.kind for k in kinds] == list(api.SPEC_KINDS)
    accelerators = {s.name: s.path for s in kinds[0].specs}
    assert {"aimc", "dimc", "digital"} <= set(accelerators) and accelerators["dimc"].is_file()
    (chips,) = api.list_specs("chip")
    assert [s.name for s in chips.specs] == ["aimc1", "aimc2", "aimc3", "dimc1", "dimc2", "dimc3", "dimc4"]
    with pytest.raises(ValueError, match="kind must be one of"):
        api.list_specs("chips")


def test_show_returns_the_loaded_inputs():
    """show() reads what it is given and leaves the rest None; it needs at least one input."""
    result = api.show("dimc", mapping="default_imc")
    assert isinstance(result.accelerator, Accelerator) and result.accelerator.name == "dimc"
    assert result.workload is None and result.mapping is not None and result.notes == ()
    only = api.show(workload="tiny_net")
    assert isinstance(only.workload, Workload) and [layer.name for layer in only.workload.layers] == [
        "conv1",
        "conv2",
        "fc",
    ]
    with pytest.raises(ValueError):
        api.show()


def test_show_of_a_zigzag_file_carries_its_notes():
    """The notes on ZigZag's assumptions are part of the result (the CLI prints them on stderr)."""
    result = api.show(DATA / "zigzag" / "dimc.yaml")
    assert result.notes and "read as a ZigZag 3.x file" in result.notes[0]
