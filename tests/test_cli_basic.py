"""The imcmap command: list, show, JSON output, exit codes and error messages."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from imcmap import cli

BAD = Path(__file__).resolve().parent / "data" / "bad"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = cli.main(
        list(argv),
        console=Console(file=out, width=100, color_system=None),
        err_console=Console(file=err, width=100, color_system=None),
    )
    return code, out.getvalue(), err.getvalue()


def test_list_shows_bundled_specs() -> None:
    """`imcmap list` lists bundled specs of every kind with their paths."""
    code, out, _ = _run("list")
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert any(row[:2] == ["accelerator", "dimc"] for row in rows)
    assert "dimc.yaml" in "".join(out.split())  # the path may be folded over lines
    assert any(row[:2] == ["workload", "tiny_conv"] for row in rows)
    assert any(row[:2] == ["mapping", "default_imc"] for row in rows)


def test_show_accelerator_lists_memories_and_array() -> None:
    """`show -a dimc` prints each memory level with its instances, and the array."""
    code, out, err = _run("show", "-a", "dimc")
    assert (code, err) == (0, "")
    memory_table = out.split("\narray")[0]
    rows = {line.split()[0]: line.split() for line in memory_table.splitlines() if line.strip()}
    assert rows["cells"][-1] == "16384"  # one 8-bit cell group per multiplier: 128 x 128
    assert rows["rf_1B"][-2:] == ["D1", "128"]
    assert rows["sram_256KB"][-3:] == ["1", "D1,D2", "1"]
    assert "IMC (digital)" in out


def test_show_workload_lists_layers_and_total() -> None:
    """`show -w tiny_net` prints every layer with its MACs and the total."""
    code, out, _ = _run("show", "-w", "tiny_net")
    assert code == 0
    assert "conv2" in out and "18,432" in out
    assert any(line.split()[:2] == ["total", "39,424"] for line in out.splitlines())


def test_show_workload_json_is_one_document() -> None:
    """`show -w tiny_conv --json` prints exactly one JSON document with layers, ops and warnings."""
    code, out, _ = _run("show", "-w", "tiny_conv", "--json")
    assert code == 0
    doc = json.loads(out)
    (layer,) = doc["layers"]
    assert layer["name"] == "conv" and layer["op"] == "Conv" and layer["macs"] == 4608
    assert layer["dims"] == {"B": 1, "G": 1, "K": 8, "C": 4, "OY": 4, "OX": 4, "FY": 3, "FX": 3}
    assert (layer["stride"], layer["dilation"], layer["padding"]) == ([1, 1], [1, 1], [1, 1, 1, 1])
    assert layer["precision"] == {"w_bits": 8, "i_bits": 8, "o_bits": 8, "psum_bits": 16}
    assert doc["unmodelled_ops"] == [] and doc["warnings"] == []
    assert "accelerator" not in doc


def test_show_json_with_accelerator_and_mapping() -> None:
    """With -a and -m, the JSON document also holds the accelerator and the mapping spec."""
    code, out, _ = _run("show", "-a", "aimc", "-w", "tiny_gemm", "-m", "default_imc", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["accelerator"]["name"] == "aimc"
    assert doc["accelerator"]["array"]["imc_type"] == "analog"
    assert [m["instances"] for m in doc["accelerator"]["memories"]] == [16384, 128, 128, 1, 1]
    assert doc["mapping"]["rules"][0]["spatial_allowed"] == {"D1": ["K", "OX", "OY"], "D2": ["C", "FX", "FY"]}


def test_typo_key_exits_2_with_location_and_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo'd key exits 2, printing file:line:col and the suggestion on stderr, no traceback."""
    path = BAD / "unknown_key.yaml"
    code = cli.main(["show", "-a", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(f"{path}:11:5: memories.rf.latency_cycle: unknown key 'latency_cycle', did you mean")
    assert "Traceback" not in captured.err + captured.out


def test_issues_of_several_inputs_are_reported_together() -> None:
    """Bad -a and -w files are both reported in one run."""
    code, _, err = _run("show", "-a", str(BAD / "negative.yaml"), "-w", str(BAD / "unknown_source.yaml"))
    assert code == 2
    assert len(err.strip().splitlines()) == 2


def test_mapping_checked_against_accelerator() -> None:
    """-m with -a runs the accelerator checks of the mapping spec."""
    code, _, err = _run("show", "-a", "digital", "-m", str(BAD / "unknown_loop_dim.yaml"))
    assert code == 2 and "unknown loop dim 'OXX'" in err


def test_unknown_bundled_name_exits_2() -> None:
    """An unknown short name exits 2 with a did-you-mean."""
    code, _, err = _run("show", "-w", "tiny_cnv")
    assert code == 2
    assert err.startswith("tiny_cnv: no bundled workload of that name, did you mean 'tiny_conv'?")


def test_missing_file_exits_2() -> None:
    """A path that does not exist exits 2 with 'file not found'."""
    code, _, err = _run("show", "-a", "nowhere/hw.yaml")
    assert (code, err) == (2, "nowhere/hw.yaml: file not found\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "--bogus"], "imcmap: error: unrecognized arguments: --bogus (see 'imcmap --help')\n"),
        (["frobnicate"], "imcmap: error: argument COMMAND: invalid choice: 'frobnicate'"),
        (["show"], "imcmap show: error: give at least one of -a, -w, -m (see 'imcmap show --help')\n"),
        (["show", "-a"], "imcmap show: error: argument -a/--accelerator: expected one argument"),
    ],
)
def test_bad_usage_exits_2_with_one_message(argv: list[str], message: str) -> None:
    """Bad flags or commands give exit 2 and one error line, never argparse's SystemExit."""
    code, _, err = _run(*argv)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1


def test_no_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`imcmap` alone prints the usage and exits 2."""
    assert cli.main([]) == 2
    assert "a command is required" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints help and exits 0, listing the registered commands."""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "list" in out and "show" in out


def test_keyboard_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C inside a command exits 130."""

    def interrupted(args: argparse.Namespace, console: Console) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "wait", cli.Command("wait", "wait forever", lambda p: None, interrupted))
    assert _run("wait")[0] == 130


def test_console_script_runs_without_traceback() -> None:
    """The real process: a bad file exits 2 with the location on stderr and no traceback."""
    path = BAD / "many_problems.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "imcmap.cli", "show", "-a", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == f"{path}:5:20: memories.rf.capacity_bits: must be >= 1 (got 0)"
    assert len(result.stderr.splitlines()) == 4 and "Traceback" not in result.stderr


def test_show_onnx_json_lists_unmodelled_ops() -> None:
    """An ONNX workload's JSON lists the operators imcmap does not price, with counts and nodes."""
    code, out, _ = _run("show", "-w", "resnet18", "--json")
    assert code == 0
    ops = {op["op_type"]: op for op in json.loads(out)["unmodelled_ops"]}
    assert ops["Relu"]["count"] == len(ops["Relu"]["node_names"]) > 0
