"""api.load_inputs: every problem of every input in one SpecError, the same from Python and the command line."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from imcmap import api, cli

DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
TOO_BIG = BAD / "full_mapping_tile_too_big.yaml"


def _cli_err(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    code = cli.main(list(argv), console=Console(file=out, width=100, color_system=None),
                    err_console=Console(file=err, width=100, color_system=None))
    return code, err.getvalue()


def _api_error(call, *args, **kwargs) -> api.SpecError:
    with pytest.raises(api.SpecError) as info:
        call(*args, **kwargs)
    return info.value


def test_bad_accelerator_file_and_bad_constraint_text_in_one_round():
    """A broken hardware file and a malformed constraint are one SpecError, printed line for line by the CLI."""
    accel = BAD / "negative.yaml"
    error = _api_error(api.solve, str(accel), "tiny_conv", constraints=["diagonal maybe"])
    files = {issue.file for issue in error.issues}
    assert files == {str(accel), "--constraint 'diagonal maybe'"}
    code, err = _cli_err("solve", "-a", str(accel), "-w", "tiny_conv", "--constraint", "diagonal maybe")
    assert code == 2
    assert err.splitlines() == str(error).splitlines()


def test_constraint_names_and_mapping_spec_checked_together():
    """An unknown level in --constraint and an unknown loop dim in the mapping spec used to take two
    runs to find (the constraint was checked after the spec); now one SpecError holds both."""
    spec = BAD / "unknown_loop_dim.yaml"
    error = _api_error(api.solve, "digital", "tiny_conv", str(spec), constraints=["stationary W at rff"])
    text = str(error)
    assert "unknown loop dim 'OXX'" in text and "unknown memory level 'rff'" in text
    code, err = _cli_err(
        "solve", "-a", "digital", "-w", "tiny_conv", "-m", str(spec), "--constraint", "stationary W at rff"
    )
    assert code == 2 and err.splitlines() == text.splitlines()


def test_evaluate_reports_every_input_at_once(tmp_path: Path):
    """api.evaluate (it stopped at the first bad input before) reports a bad workload name and a bad
    full mapping together, exactly as `imcmap evaluate` does."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text("layers:\n  conv1:\n    temporal: {W: {}, I: {}, O: {}}\n    spatial: {D9: {}}\n")
    error = _api_error(api.evaluate, "dimc", "tiny_nett", mapping)
    assert {issue.file for issue in error.issues} == {str(mapping), "tiny_nett"}
    code, err = _cli_err("evaluate", "-a", "dimc", "-w", "tiny_nett", "-m", str(mapping))
    assert code == 2 and err.splitlines() == str(error).splitlines()


def test_illegal_full_mapping_is_an_input_error_from_load_inputs():
    """A full mapping that breaks the evaluator's rules is reported at its place by load_inputs itself."""
    error = _api_error(api.load_inputs, "dimc", "tiny_net", full_mapping=TOO_BIG)
    (issue,) = error.issues
    assert (issue.file, issue.line, issue.col) == (str(TOO_BIG), 8, 11)
    assert "illegal mapping (not priced): capacity at rf_1B" in issue.message


def test_inputs_not_given_stay_none_and_notes_say_how_zigzag_files_were_read():
    """Only what is asked for is loaded; a ZigZag hardware file brings the notes on its assumptions."""
    zigzag = DATA / "zigzag" / "dimc.yaml"
    inputs = api.load_inputs(zigzag, None, DATA / "zigzag" / "default_imc.yaml")
    assert inputs.accelerator is not None and inputs.workload is None and inputs.full_mapping is None
    assert inputs.constraints == ()
    assert inputs.notes[0] == f"{zigzag}: {api.ZIGZAG_NOTE}"
    assert any(note.startswith("mapping: ") and "entry 'Add' left out" in note for note in inputs.notes)
    assert api.load_inputs("dimc", "tiny_net").notes == ()
