"""``models.mapping_spec``: how a spec resolves per layer (name beats op type beats default, each field
on its own; constraints of every matching entry, default first) and where user input came from."""

from __future__ import annotations

from imcmap.models.mapping_spec import MappingRule, MappingSpec, SourceRef, UserConstraint
from imcmap.models.workload import Layer, Operand

CONV = Layer("conv1", "Conv", {"K": 4})
GEMM = Layer("fc", "Gemm", {"K": 4})
SPEC = MappingSpec(
    (
        MappingRule("default", allowed_spatial={"D1": ("K",)}, allow_diagonal=False,
                    constraints=(UserConstraint("diagonal forbidden"),)),
        MappingRule("Conv", fixed_spatial={"D1": {"K": 4}}, allow_diagonal=True,
                    constraints=(UserConstraint("spatial.D1.K >= 2", scope="Conv"),)),
        MappingRule("conv1", operand_links={Operand.W: "I2", Operand.I: "I2", Operand.O: "O"},
                    constraints=(UserConstraint("tile.I.buf <= 4", scope="conv1"),)),
    )
)


def test_each_field_comes_from_the_most_specific_entry_that_sets_it():
    """conv1: links from its own entry, fixed spatial and diagonal from Conv, the allowed dims from default."""
    rule = SPEC.resolve(CONV)
    assert rule.operand_links[Operand.I] == "I2"
    assert rule.fixed_spatial == {"D1": {"K": 4}}
    assert rule.allow_diagonal is True
    assert rule.allowed_spatial == {"D1": ("K",)}


def test_constraints_of_every_matching_entry_apply_default_first():
    """conv1 matches default, Conv and conv1: three constraints, least specific first; fc only default's."""
    assert [c.text for c in SPEC.resolve(CONV).constraints] == [
        "diagonal forbidden",
        "spatial.D1.K >= 2",
        "tile.I.buf <= 4",
    ]
    assert [c.text for c in SPEC.resolve(GEMM).constraints] == ["diagonal forbidden"]


def test_defaults_without_entries():
    """No entry: default links (W I2, I I1, O O), nothing fixed or restricted, diagonal as the spec's default."""
    rule = MappingSpec().resolve(GEMM)
    assert rule.operand_links == {Operand.W: "I2", Operand.I: "I1", Operand.O: "O"}
    assert (rule.fixed_spatial, rule.allowed_spatial, rule.allow_diagonal, rule.constraints) == (None, None, False, ())
    assert MappingSpec(diagonal_default=True).resolve(GEMM).allow_diagonal is True
    assert SPEC.resolve(GEMM).allow_diagonal is False  # default's entry says so


def test_a_constraint_applies_within_its_scope():
    """A constraint scoped to Conv applies to conv1 and not to fc; '*' applies to both."""
    scoped = UserConstraint("diagonal forbidden", scope="Conv")
    assert scoped.applies_to(CONV) and not scoped.applies_to(GEMM)
    assert UserConstraint("x").applies_to(GEMM)


def test_origin_names_the_file_position_or_the_command_line():
    """A constraint from a file says file:line:col; one given on the command line says so."""
    assert UserConstraint("x", source=SourceRef("map.yaml", 3, 7)).origin() == "map.yaml:3:7"
    assert UserConstraint("x").origin() == "--constraint"
