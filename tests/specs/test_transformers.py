"""Transformer workloads: the bundled blocks' layers by hand arithmetic, attention's dynamic operands,
sources through reshapes and transposes, Einsum and Hugging Face export forms, and bad input.

Expected dimensions are written out from the models' configurations (BERT-base and ViT-B/16: hidden
768, 12 heads of 64, FFN 3072; GPT-2 small the same widths with a fused 768 -> 2304 q/k/v projection),
not from the import. A matrix product ``[rows, C] x [C, K]`` is ``B = rows``; attention's per-head
products put the 12 heads on ``G`` (their right operand differs per head), the query rows on ``B``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from types import ModuleType

import onnx
import pytest
from onnx import TensorProto, helper
from rich.console import Console

from imcmap import cli
from imcmap.models.workload import Layer, Operand, Workload
from imcmap.specs import load_workload, resolve
from imcmap.specs.errors import SpecError
from imcmap.specs.onnx_import import load_onnx

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "specs" / "library" / "build_transformers.py"
NAMES = ("bert_base_layer", "vit_b16_block", "gpt2_prefill", "gpt2_decode")
F = TensorProto.FLOAT
DYNAMIC_W = frozenset({Operand.W})


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_transformers", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(name: str) -> Workload:
    return load_workload(resolve("workload", name))


def _layer(workload: Workload, name: str) -> Layer:
    return next(layer for layer in workload.layers if layer.name == name)


def _dims(layer: Layer) -> dict[str, int]:
    """The loop dimensions larger than 1."""
    return {dim: size for dim, size in layer.dims.items() if size != 1}


def _unmodelled(workload: Workload) -> dict[str, int]:
    return {op.op_type: op.count for op in workload.unmodelled_ops}


def _value(name: str, shape: Sequence[int | str | None], elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, list(shape))


def _model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    initializers: Sequence[onnx.TensorProto] = (),
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), "test", list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _save(tmp_path: Path, model: onnx.ModelProto, name: str = "model.onnx", check: bool = True) -> Path:
    if check:
        onnx.checker.check_model(model, full_check=True)
    path = tmp_path / name
    onnx.save(model, path)
    return path


# --- the bundled blocks, layer by layer ------------------------------------------------------------


def _projection(rows: int, c: int, k: int) -> dict[str, int]:
    return {"B": rows, "C": c, "K": k}


def _scores(queries: int, keys: int) -> dict[str, int]:
    """q k^T per head: [12, queries, 64] x [12, 64, keys]."""
    return {"G": 12, "B": queries, "C": 64, "K": keys} if queries > 1 else {"G": 12, "C": 64, "K": keys}


def _context(queries: int, keys: int) -> dict[str, int]:
    """p v per head: [12, queries, keys] x [12, keys, 64]."""
    return {"G": 12, "B": queries, "C": keys, "K": 64} if queries > 1 else {"G": 12, "C": keys, "K": 64}


def _encoder(prefix: str, tokens: int) -> list[tuple[str, str, dict[str, int]]]:
    """BERT's / ViT's eight matrix products (Hugging Face module paths; ``prefix`` the self-attention)."""
    return [
        (f"{prefix}/query/MatMul", "MatMul", _projection(tokens, 768, 768)),
        (f"{prefix}/key/MatMul", "MatMul", _projection(tokens, 768, 768)),
        (f"{prefix}/value/MatMul", "MatMul", _projection(tokens, 768, 768)),
        (f"{prefix}/MatMul", "MatMul", _scores(tokens, tokens)),
        (f"{prefix}/MatMul_1", "MatMul", _context(tokens, tokens)),
        ("/attention/output/dense/MatMul", "MatMul", _projection(tokens, 768, 768)),
        ("/intermediate/dense/MatMul", "MatMul", _projection(tokens, 768, 3072)),
        ("/output/dense/MatMul", "MatMul", _projection(tokens, 3072, 768)),
    ]


def _gpt2(tokens: int, keys: int) -> list[tuple[str, str, dict[str, int]]]:
    """GPT-2's six: the fused q/k/v Gemm, attention's two products, attn and MLP projections."""
    return [
        ("/attn/c_attn/Gemm", "Gemm", _projection(tokens, 768, 2304)),
        ("/attn/MatMul", "MatMul", _scores(tokens, keys)),
        ("/attn/MatMul_1", "MatMul", _context(tokens, keys)),
        ("/attn/c_proj/Gemm", "Gemm", _projection(tokens, 768, 768)),
        ("/mlp/c_fc/Gemm", "Gemm", _projection(tokens, 768, 3072)),
        ("/mlp/c_proj/Gemm", "Gemm", _projection(tokens, 3072, 768)),
    ]


def _without_ones(dims: dict[str, int]) -> dict[str, int]:
    return {dim: size for dim, size in dims.items() if size != 1}


EXPECTED_LAYERS = {
    "bert_base_layer": _encoder("/attention/self", 128),
    "vit_b16_block": _encoder("/attention/attention", 197),
    "gpt2_prefill": _gpt2(128, 128),
    "gpt2_decode": [(name, op, _without_ones(dims)) for name, op, dims in _gpt2(1, 129)],
}


@pytest.mark.parametrize("name", NAMES)
def test_layers_in_graph_order_with_their_dimensions(name: str) -> None:
    """Each block's compute layers, names, ops and loop dimensions, as the model's widths give them."""
    workload = _load(name)
    assert workload.name == name
    assert [(layer.name, layer.op, _dims(layer)) for layer in workload.layers] == EXPECTED_LAYERS[name]


@pytest.mark.parametrize(
    "name, macs",
    [
        # Q/K/V/O 4 x 128*768*768, scores and context 2 x 12*128*128*64, FFN 2 x 128*768*3072
        ("bert_base_layer", 4 * 128 * 768 * 768 + 2 * 12 * 128 * 128 * 64 + 2 * 128 * 768 * 3072),
        # the same widths on 197 tokens
        ("vit_b16_block", 4 * 197 * 768 * 768 + 2 * 12 * 197 * 197 * 64 + 2 * 197 * 768 * 3072),
        # fused q/k/v 128*768*2304 (= 3 projections), c_proj, attention, MLP: BERT's count exactly
        ("gpt2_prefill", 128 * 768 * 2304 + 2 * 12 * 128 * 128 * 64 + 128 * 768 * 768 + 2 * 128 * 768 * 3072),
        # one token: 768*2304 + 2 x 12*64*129 (attention over 129 keys) + 768*768 + 2 x 768*3072
        ("gpt2_decode", 768 * 2304 + 2 * 12 * 64 * 129 + 768 * 768 + 2 * 768 * 3072),
    ],
)
def test_total_macs(name: str, macs: int) -> None:
    """Network MACs: BERT-base 931,135,488 (0.93 GMAC per layer), ViT-B/16 1,453,954,560, GPT-2
    prefill 931,135,488, decode 7,276,032."""
    assert sum(layer.macs for layer in _load(name).layers) == macs
    assert macs in (931_135_488, 1_453_954_560, 7_276_032)


@pytest.mark.parametrize(
    "name, scores, context, query, key, value",
    [
        ("bert_base_layer", "/attention/self/MatMul", "/attention/self/MatMul_1",
         "/attention/self/query/MatMul", "/attention/self/key/MatMul", "/attention/self/value/MatMul"),
        ("vit_b16_block", "/attention/attention/MatMul", "/attention/attention/MatMul_1",
         "/attention/attention/query/MatMul", "/attention/attention/key/MatMul",
         "/attention/attention/value/MatMul"),
        ("gpt2_prefill", "/attn/MatMul", "/attn/MatMul_1",
         "/attn/c_attn/Gemm", "/attn/c_attn/Gemm", "/attn/c_attn/Gemm"),
        ("gpt2_decode", "/attn/MatMul", "/attn/MatMul_1",
         "/attn/c_attn/Gemm", "/attn/c_attn/Gemm", "/attn/c_attn/Gemm"),
    ],
)  # fmt: skip
def test_attention_operands_are_dynamic_with_their_producers(
    name: str, scores: str, context: str, query: str, key: str, value: str
) -> None:
    """q k^T lists the query and key projections as sources (through Add, Reshape, Transpose, and
    GPT-2's Split and Concat with the cache) and its W (k^T) as dynamic, produced by the key's;
    p v reads softmax(scores) as I and v as a dynamic W. Every other layer's W is a stored weight."""
    workload = _load(name)
    q_k, p_v = _layer(workload, scores), _layer(workload, context)
    assert q_k.sources == tuple(dict.fromkeys([query, key]))
    assert (q_k.dynamic_operands, q_k.weight_sources) == (DYNAMIC_W, (key,))
    assert p_v.sources == tuple(dict.fromkeys([value, scores]))  # graph order: the projection first
    assert (p_v.dynamic_operands, p_v.weight_sources) == (DYNAMIC_W, (value,))
    others = [layer for layer in workload.layers if layer.name not in (scores, context)]
    assert all(not layer.dynamic_operands and not layer.weight_sources for layer in others)


@pytest.mark.parametrize("name", NAMES)
def test_projections_chain_through_norms_residuals_and_activations(name: str) -> None:
    """The attention output projection and the two MLP ones are each fed by the layer before them,
    through the heads' merge, the residual Add, LayerNorm and GELU; the first layer reads the block's
    input, a graph input, so it has no source."""
    layers = _load(name).layers
    assert [layer.sources for layer in layers[-3:]] == [(before.name,) for before in layers[-4:-1]]
    assert layers[0].sources == ()


def test_bert_sources_written_out() -> None:
    """BERT: output dense <- context; intermediate <- output dense (through residual and LayerNorm);
    output <- intermediate (through the erf GELU)."""
    workload = _load("bert_base_layer")
    assert _layer(workload, "/attention/output/dense/MatMul").sources == ("/attention/self/MatMul_1",)
    assert _layer(workload, "/intermediate/dense/MatMul").sources == ("/attention/output/dense/MatMul",)
    assert _layer(workload, "/output/dense/MatMul").sources == ("/intermediate/dense/MatMul",)


@pytest.mark.parametrize(
    "name, counts",
    [
        # 3 q/k/v biases, the mask, 3 more biases, 2 residuals, GELU's 1 + erf: 10 Adds
        ("bert_base_layer", {"Add": 10, "Div": 2, "Erf": 1, "LayerNormalization": 2, "Mul": 2,
                             "Reshape": 4, "Softmax": 1, "Transpose": 4}),
        ("vit_b16_block", {"Add": 9, "Div": 2, "Erf": 1, "LayerNormalization": 2, "Mul": 2,
                           "Reshape": 4, "Softmax": 1, "Transpose": 4}),
        # gelu_new: Pow, 4 Mul, 2 Add, Tanh; 2 residual Adds; k^T is a fifth Transpose
        ("gpt2_prefill", {"Add": 4, "Div": 1, "LayerNormalization": 2, "Mul": 4, "Pow": 1, "Reshape": 4,
                          "Softmax": 1, "Split": 1, "Tanh": 1, "Transpose": 5, "Where": 1}),
        ("gpt2_decode", {"Add": 4, "Concat": 2, "Div": 1, "LayerNormalization": 2, "Mul": 4, "Pow": 1,
                         "Reshape": 4, "Softmax": 1, "Split": 1, "Tanh": 1, "Transpose": 5}),
    ],
)  # fmt: skip
def test_unmodelled_ops_are_listed_with_counts(name: str, counts: dict[str, int]) -> None:
    """LayerNorm, Softmax, GELU's pieces, reshapes and the cache Concat are listed, never dropped."""
    workload = _load(name)
    assert _unmodelled(workload) == counts
    assert workload.warnings == ("float32 tensors priced at 8-bit (default precision)",)


@pytest.mark.parametrize("name", ["resnet18", "ae", "ds_cnn", "mobilenet_v1", "resnet8", "tiny_net"])
def test_earlier_workloads_have_no_dynamic_operand(name: str) -> None:
    """Weights declared as data-less graph inputs (shapes-only files) stay stored parameters."""
    assert all(not layer.dynamic_operands and not layer.weight_sources for layer in _load(name).layers)


@pytest.mark.parametrize("name", NAMES)
def test_bundled_file_is_the_builder_output(name: str) -> None:
    """The committed file equals the builder's output byte for byte and passes the full ONNX check."""
    builder = _builder()
    model = builder.BUILDERS[name]()
    onnx.checker.check_model(model, full_check=True)
    assert builder.output_path(name).read_bytes() == model.SerializeToString()


# --- a Hugging Face style export of the BERT layer -------------------------------------------------


class _HfBert:
    """BERT-base's layer as a Hugging Face torch export writes it: [batch, seq, 768] activations with
    a dynamic batch, 4-D [1, 12, 128, 64] heads, LayerNorm decomposed (opset 14), either MatMul or
    Einsum for the matrix products."""

    def __init__(self, einsum: bool) -> None:
        self.einsum = einsum
        self.nodes: list[onnx.NodeProto] = []
        self.inputs = [_value("hidden", ["batch", 128, 768]), _value("mask", ["batch", 1, 1, 128])]
        self.initializers = [
            helper.make_tensor("heads_shape", TensorProto.INT64, [4], [1, 128, 12, 64]),
            helper.make_tensor("rows_shape", TensorProto.INT64, [3], [1, 128, 768]),
            helper.make_tensor("eight", F, [], [8.0]),
            helper.make_tensor("two", F, [], [2.0]),
            helper.make_tensor("eps", F, [], [1e-12]),
            helper.make_tensor("sqrt2", F, [], [1.4142135]),
            helper.make_tensor("one", F, [], [1.0]),
            helper.make_tensor("half", F, [], [0.5]),
        ]

    def op(self, op_type: str, name: str, inputs: list[str], **attributes: object) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attributes))
        return name

    def product(self, name: str, a: str, b: str, equation: str) -> str:
        if self.einsum:
            return self.op("Einsum", name, [a, b], equation=equation)
        return self.op("MatMul", name, [a, b])

    def linear(self, name: str, x: str, c: int, k: int) -> str:
        self.inputs += [_value(f"{name}.w", [c, k]), _value(f"{name}.b", [k])]
        return self.op("Add", f"{name}.add", [self.product(name, x, f"{name}.w", "bsd,df->bsf"), f"{name}.b"])

    def layer_norm(self, name: str, x: str) -> str:
        self.inputs += [_value(f"{name}.g", [768]), _value(f"{name}.b", [768])]
        mean = self.op("ReduceMean", f"{name}.mean", [x], axes=[-1])
        centred = self.op("Sub", f"{name}.sub", [x, mean])
        var = self.op("ReduceMean", f"{name}.var", [self.op("Pow", f"{name}.pow", [centred, "two"])], axes=[-1])
        std = self.op("Sqrt", f"{name}.sqrt", [self.op("Add", f"{name}.add_eps", [var, "eps"])])
        y = self.op("Mul", f"{name}.mul", [self.op("Div", f"{name}.div", [centred, std]), f"{name}.g"])
        return self.op("Add", f"{name}.add", [y, f"{name}.b"])

    def heads(self, name: str, x: str, perm: list[int]) -> str:
        return self.op("Transpose", f"{name}.t", [self.op("Reshape", f"{name}.r", [x, "heads_shape"])], perm=perm)

    def build(self) -> onnx.ModelProto:
        x = "hidden"
        q = self.heads("q", self.linear("query", x, 768, 768), [0, 2, 1, 3])
        # MatMul needs k^T [1, 12, 64, 128]; the Einsum reads k [1, 12, 128, 64] as it is
        k = self.heads("k", self.linear("key", x, 768, 768), [0, 2, 1, 3] if self.einsum else [0, 2, 3, 1])
        v = self.heads("v", self.linear("value", x, 768, 768), [0, 2, 1, 3])
        scores = self.product("scores", q, k, "bhqd,bhkd->bhqk")
        scores = self.op("Add", "masked", [self.op("Div", "scaled", [scores, "eight"]), "mask"])
        probs = self.op("Softmax", "probs", [scores], axis=-1)
        context = self.product("context", probs, v, "bhqk,bhkd->bhqd")
        merged = self.op("Transpose", "ctx.t", [context], perm=[0, 2, 1, 3])
        merged = self.op("Reshape", "ctx.r", [merged, "rows_shape"])
        y = self.linear("attn_out", merged, 768, 768)
        y = self.layer_norm("ln1", self.op("Add", "res1", [y, x]))
        h = self.linear("ffn_in", y, 768, 3072)
        erf = self.op("Erf", "gelu.erf", [self.op("Div", "gelu.div", [h, "sqrt2"])])
        h = self.op(
            "Mul", "gelu.mul_half", [self.op("Mul", "gelu.mul", [h, self.op("Add", "gelu.add", [erf, "one"])]), "half"]
        )
        out = self.layer_norm("ln2", self.op("Add", "res2", [self.linear("ffn_out", h, 3072, 768), y]))
        return _model(self.nodes, self.inputs, [_value(out, ["batch", 128, 768])], self.initializers, opset=14)


def _summary(workload: Workload) -> list[tuple[object, ...]]:
    """Per layer what the cost model reads, names aside: op, dims, MACs, dynamic operands, and its
    sources and weight sources as positions in the layer list."""
    position = {layer.name: i for i, layer in enumerate(workload.layers)}
    return [
        (
            layer.op,
            layer.dims,
            layer.macs,
            layer.dynamic_operands,
            tuple(position[s] for s in layer.sources),
            tuple(position[s] for s in layer.weight_sources),
        )
        for layer in workload.layers
    ]


@pytest.mark.parametrize("einsum", [False, True], ids=["matmul_4d", "einsum"])
def test_hugging_face_export_imports_to_the_bundled_layers(tmp_path: Path, einsum: bool) -> None:
    """The export form (4-D batched MatMuls or Einsum, batch axis kept) gives the bundled BERT layer's
    ops, dimensions, MACs, dynamic operands and source structure, layer for layer."""
    hf = load_onnx(_save(tmp_path, _HfBert(einsum).build()))
    assert _summary(hf) == _summary(_load("bert_base_layer"))
    assert [layer.name for layer in hf.layers] == [
        "query", "key", "value", "scores", "context", "attn_out", "ffn_in", "ffn_out",
    ]  # fmt: skip
    assert _layer(hf, "scores").sources == ("query", "key")


def test_hugging_face_export_lists_decomposed_layer_norm_and_sets_batch_to_one(tmp_path: Path) -> None:
    """LayerNorm as ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add is listed op by op; the dynamic batch of both
    graph inputs is set to 1 with a warning each."""
    workload = load_onnx(_save(tmp_path, _HfBert(einsum=False).build()))
    counts = _unmodelled(workload)
    # per LayerNorm: 2 ReduceMean, Sub, Pow, Sqrt, Div, Mul, 2 Add
    assert {op: counts[op] for op in ("ReduceMean", "Sub", "Pow", "Sqrt")} == {
        "ReduceMean": 4, "Sub": 2, "Pow": 2, "Sqrt": 2,
    }  # fmt: skip
    # 6 biases, the mask, 2 residuals, 2 x 2 in the LayerNorms, 1 in GELU
    assert (counts["Add"], counts["Div"], counts["Mul"], counts["Erf"]) == (14, 4, 4, 1)
    assert workload.warnings[:2] == (
        "input 'hidden': dynamic batch dimension 'batch' set to 1",
        "input 'mask': dynamic batch dimension 'batch' set to 1",
    )


class _HfGpt2:
    """GPT-2 small's block as a Hugging Face torch export writes it: [batch, tokens, 768] activations
    with a dynamic batch; each ``Conv1D`` as ``addmm`` on a 2-D view (Reshape, Gemm, then a Reshape to
    ``x.shape[:-1] + (nf,)`` computed through Shape/Slice/Concat); 4-D [1, 12, tokens, 64] heads; in
    decode the cache ``past_key``/``past_value`` [batch, 12, 128, 64] concatenated on axis -2; q k^T as
    MatMul of k transposed, or as Einsum of k itself."""

    def __init__(self, tokens: int, cached: int, einsum: bool) -> None:
        self.tokens, self.cached, self.einsum = tokens, cached, einsum
        self.nodes: list[onnx.NodeProto] = []
        self.inputs = [_value("hidden", ["batch", tokens, 768])]
        self.initializers = [
            helper.make_tensor("heads_shape", TensorProto.INT64, [4], [1, tokens, 12, 64]),
            helper.make_tensor("rows_shape", TensorProto.INT64, [3], [1, tokens, 768]),
            helper.make_tensor("start", TensorProto.INT64, [1], [0]),
            helper.make_tensor("end", TensorProto.INT64, [1], [-1]),
            helper.make_tensor("eight", F, [], [8.0]),
            helper.make_tensor("lowest", F, [], [-3.4e38]),
        ]

    def op(self, op_type: str, name: str, inputs: list[str], **attributes: object) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attributes))
        return name

    def conv1d(self, name: str, x: str, c: int, k: int) -> str:
        self.inputs += [_value(f"{name}.w", [c, k]), _value(f"{name}.b", [k])]
        self.initializers += [
            helper.make_tensor(f"{name}.rows", TensorProto.INT64, [2], [-1, c]),
            helper.make_tensor(f"{name}.nf", TensorProto.INT64, [1], [k]),
        ]
        rows = self.op("Reshape", f"{name}.view", [x, f"{name}.rows"])
        y = self.op("Gemm", name, [rows, f"{name}.w", f"{name}.b"])
        leading = self.op("Slice", f"{name}.lead", [self.op("Shape", f"{name}.shape", [x]), "start", "end"])
        size_out = self.op("Concat", f"{name}.size_out", [leading, f"{name}.nf"], axis=0)
        return self.op("Reshape", f"{name}.out", [y, size_out])

    def layer_norm(self, name: str, x: str) -> str:
        self.inputs += [_value(f"{name}.g", [768]), _value(f"{name}.b", [768])]
        return self.op("LayerNormalization", name, [x, f"{name}.g", f"{name}.b"], axis=-1, epsilon=1e-5)

    def heads(self, name: str, x: str) -> str:
        split = self.op("Reshape", f"{name}.r", [x, "heads_shape"])
        return self.op("Transpose", f"{name}.t", [split], perm=[0, 2, 1, 3])

    def build(self) -> onnx.ModelProto:
        x = "hidden"
        qkv = self.conv1d("c_attn", self.layer_norm("ln_1", x), 768, 2304)
        self.nodes.append(helper.make_node("Split", [qkv], ["q", "k", "v"], name="split", axis=2, num_outputs=3))
        q, k, v = self.heads("q", "q"), self.heads("k", "k"), self.heads("v", "v")
        outputs: list[onnx.ValueInfoProto] = []
        keys = self.tokens + self.cached
        if self.cached:
            self.inputs += [_value(f"past_{kv}", ["batch", 12, self.cached, 64]) for kv in ("key", "value")]
            k = self.op("Concat", "present_key", ["past_key", k], axis=-2)
            v = self.op("Concat", "present_value", ["past_value", v], axis=-2)
            outputs = [_value(name, ["batch", 12, keys, 64]) for name in (k, v)]
        if self.einsum:
            scores = self.op("Einsum", "scores", [q, k], equation="bhqd,bhkd->bhqk")
        else:
            scores = self.op("MatMul", "scores", [q, self.op("Transpose", "k.tt", [k], perm=[0, 1, 3, 2])])
        scores = self.op("Div", "scaled", [scores, "eight"])
        if not self.cached:
            self.inputs.append(_value("causal", [1, 1, self.tokens, self.tokens], TensorProto.BOOL))
            scores = self.op("Where", "masked", ["causal", scores, "lowest"])
        probs = self.op("Softmax", "probs", [scores], axis=-1)
        if self.einsum:
            context = self.op("Einsum", "context", [probs, v], equation="bhqk,bhkd->bhqd")
        else:
            context = self.op("MatMul", "context", [probs, v])
        merged = self.op("Transpose", "ctx.t", [context], perm=[0, 2, 1, 3])
        merged = self.op("Reshape", "ctx.r", [merged, "rows_shape"])
        y = self.op("Add", "res1", [self.conv1d("attn_proj", merged, 768, 768), x])
        h = self.conv1d("c_fc", self.layer_norm("ln_2", y), 768, 3072)
        h = self.op("Gelu", "gelu", [h], approximate="tanh")  # opset 20's Gelu, as newer exports write
        out = self.op("Add", "res2", [y, self.conv1d("mlp_proj", h, 3072, 768)])
        outputs.insert(0, _value(out, ["batch", self.tokens, 768]))
        return _model(self.nodes, self.inputs, outputs, self.initializers, opset=20)


@pytest.mark.parametrize("einsum", [False, True], ids=["matmul_4d", "einsum"])
@pytest.mark.parametrize("name, tokens, cached", [("gpt2_prefill", 128, 0), ("gpt2_decode", 1, 128)])
def test_hugging_face_gpt2_export_imports_to_the_bundled_layers(
    tmp_path: Path, name: str, tokens: int, cached: int, einsum: bool
) -> None:
    """GPT-2 in the export's form (2-D Gemm views with shapes computed through Shape, 4-D heads, the
    4-D cache Concat, MatMul or Einsum) gives the bundled block's layers: ops, dims, MACs, the dynamic
    W of both attention products and their sources, cache included."""
    hf = load_onnx(_save(tmp_path, _HfGpt2(tokens, cached, einsum).build()))
    assert _summary(hf) == _summary(_load(name))
    assert [layer.name for layer in hf.layers] == ["c_attn", "scores", "context", "attn_proj", "c_fc", "mlp_proj"]
    assert (_layer(hf, "scores").weight_sources, _layer(hf, "context").weight_sources) == (("c_attn",), ("c_attn",))
    assert _unmodelled(hf)["Gelu"] == 1 and "Shape" in _unmodelled(hf)


# --- Einsum and Gemm forms ----------------------------------------------------------------------


def _einsum_layer(tmp_path: Path, equation: str, a: list[int], b: list[int], out: list[int]) -> Workload:
    node = helper.make_node("Einsum", ["a", "w"], ["y"], name="e", equation=equation)
    return load_onnx(_save(tmp_path, _model([node], [_value("a", a), _value("w", b)], [_value("y", out)])))


@pytest.mark.parametrize(
    "equation, a, b, out, dims",
    [
        ("bsd,df->bsf", [2, 128, 768], [768, 3072], [2, 128, 3072], {"B": 256, "C": 768, "K": 3072}),
        ("bhqd,bhkd->bhqk", [2, 12, 128, 64], [2, 12, 128, 64], [2, 12, 128, 128],
         {"G": 24, "B": 128, "C": 64, "K": 128}),
        ("bhqk,bhkd->bhqd", [1, 12, 128, 128], [1, 12, 128, 64], [1, 12, 128, 64],
         {"G": 12, "B": 128, "C": 128, "K": 64}),
        ("...qd,...kd->...qk", [12, 128, 64], [12, 128, 64], [12, 128, 128],
         {"G": 12, "B": 128, "C": 64, "K": 128}),
        # the second operand broadcast over the heads (multi-query attention): one W for all, so B
        ("...qd,...kd->...qk", [12, 128, 64], [1, 128, 64], [12, 128, 128], {"B": 12 * 128, "C": 64, "K": 128}),
        ("ij,jk", [16, 32], [32, 8], [16, 8], {"B": 16, "C": 32, "K": 8}),  # implicit output "ik"
        ("sd, fd -> sf", [128, 768], [3072, 768], [128, 3072], {"B": 128, "C": 768, "K": 3072}),
    ],
)  # fmt: skip
def test_einsum_forms(
    tmp_path: Path, equation: str, a: list[int], b: list[int], out: list[int], dims: dict[str, int]
) -> None:
    """Shared indices -> G (B where the second operand is 1), first only -> B, second only -> K,
    contracted -> C; ellipsis and the implicit output as numpy reads them."""
    (layer,) = _einsum_layer(tmp_path, equation, a, b, out).layers
    assert (layer.op, _dims(layer)) == ("MatMul", dims)


@pytest.mark.parametrize(
    "equation, a, b, out, reason",
    [
        ("ij,jk->k", [4, 8], [8, 6], [6], "equation 'ij,jk->k' sums index 'i' over the first operand alone"),
        ("ii,ij->j", [8, 8], [8, 6], [6], "equation 'ii,ij->j' repeats index 'i' in one operand (a diagonal)"),
    ],
)
def test_einsum_outside_the_loop_nest_is_listed_with_a_warning(
    tmp_path: Path, equation: str, a: list[int], b: list[int], out: list[int], reason: str
) -> None:
    """A contraction the nest cannot express is not guessed at: listed as unmodelled, with the reason."""
    workload = _einsum_layer(tmp_path, equation, a, b, out)
    assert workload.layers == () and _unmodelled(workload) == {"Einsum": 1}
    assert f"Einsum 'e' not modelled: {reason}" in workload.warnings


def test_einsum_of_three_operands_is_listed_with_a_warning(tmp_path: Path) -> None:
    """Three operands are two products: listed, with a warning, not priced as one."""
    node = helper.make_node("Einsum", ["a", "b", "c"], ["y"], name="e3", equation="ij,jk,kl->il")
    inputs = [_value("a", [4, 8]), _value("b", [8, 6]), _value("c", [6, 2])]
    workload = load_onnx(_save(tmp_path, _model([node], inputs, [_value("y", [4, 2])])))
    assert workload.layers == () and _unmodelled(workload) == {"Einsum": 1}
    assert "Einsum 'e3' not modelled: 3 operands (only a product of two fits the loop nest)" in workload.warnings


@pytest.mark.parametrize(
    "trans_a, trans_b, q_shape, k_shape",
    [(0, 1, [128, 64], [96, 64]), (1, 0, [64, 128], [64, 96]), (1, 1, [64, 128], [96, 64])],
)
def test_gemm_of_two_activations(
    tmp_path: Path, trans_a: int, trans_b: int, q_shape: list[int], k_shape: list[int]
) -> None:
    """One head's q k^T as Gemm(q, k, transB=1) (and the other layouts): B = 128 query rows, C = 64,
    K = 96 keys whatever the flags, and the key projection's output is a dynamic W."""
    nodes = [
        helper.make_node("MatMul", ["xq", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["xk", "wk"], ["k"], name="k_proj"),
        helper.make_node("Gemm", ["q", "k"], ["s"], name="scores", transA=trans_a, transB=trans_b),
    ]
    inputs = [
        _value("xq", [q_shape[0], 32]), _value("wq", [32, q_shape[1]]),
        _value("xk", [k_shape[0], 32]), _value("wk", [32, k_shape[1]]),
    ]  # fmt: skip
    workload = load_onnx(_save(tmp_path, _model(nodes, inputs, [_value("s", [128, 96])])))
    scores = _layer(workload, "scores")
    assert (scores.op, _dims(scores)) == ("Gemm", {"B": 128, "C": 64, "K": 96})
    assert (scores.sources, scores.dynamic_operands, scores.weight_sources) == (
        ("q_proj", "k_proj"), DYNAMIC_W, ("k_proj",)
    )  # fmt: skip


# --- which W is dynamic -------------------------------------------------------------------------


def test_w_read_from_the_networks_input_is_dynamic_without_a_producer(tmp_path: Path) -> None:
    """x x^T with x a graph input that is also read as I: W is data (dynamic), no layer produces it."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),
        helper.make_node("MatMul", ["x", "xt"], ["gram"], name="gram"),
    ]
    workload = load_onnx(_save(tmp_path, _model(nodes, [_value("x", [16, 32])], [_value("gram", [16, 16])])))
    gram = workload.layers[0]
    assert (gram.sources, gram.dynamic_operands, gram.weight_sources) == ((), DYNAMIC_W, ())


def test_cache_input_read_only_as_w_counts_as_stored(tmp_path: Path) -> None:
    """A graph input reaching layers only as their W is a stored parameter (shapes-only weights are
    declared that way), even through Transpose: q K^T with K such an input has a stored W."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("Transpose", ["keys"], ["kt"], name="t", perm=[1, 0]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
    ]
    inputs = [_value("x", [4, 32]), _value("wq", [32, 16]), _value("keys", [10, 16])]
    workload = load_onnx(_save(tmp_path, _model(nodes, inputs, [_value("s", [4, 10])])))
    scores = _layer(workload, "scores")
    assert (scores.sources, scores.dynamic_operands, scores.weight_sources) == (("q_proj",), frozenset(), ())


def test_broadcast_first_operand_is_warned(tmp_path: Path) -> None:
    """[128, 64] x [12, 64, 128]: the first operand is shared by the 12 slices of G, which the nest
    cannot say (I is relevant to G); imported as G = 12 with a warning, not silently."""
    node = helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")
    model = _model([node], [_value("a", [128, 64]), _value("w", [12, 64, 128])], [_value("y", [12, 128, 128])])
    workload = load_onnx(_save(tmp_path, model))
    assert _dims(workload.layers[0]) == {"G": 12, "B": 128, "C": 64, "K": 128}
    assert (
        "MatMul 'mm': its first operand is broadcast over 12 of the G = 12 slices, priced as if each "
        "slice read its own copy"
    ) in workload.warnings


# --- bad input: one test per message ------------------------------------------------------------


def _unknown_shape_model() -> onnx.ModelProto:
    """q k^T where k comes out of a custom-domain op: ONNX shape inference cannot give its shape."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("Rotary", ["x"], ["k"], name="rope", domain="com.example"),
        helper.make_node("MatMul", ["q", "k"], ["s"], name="scores"),
    ]
    inputs = [_value("x", [8, 16]), _value("wq", [16, 16])]
    model = _model(nodes, inputs, [_value("s", [8, 8])])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    return model


def test_matmul_with_an_operand_of_unknown_shape_names_the_node(tmp_path: Path) -> None:
    """No shape for k: one SpecError issue keyed by the node, naming the tensor; never a guessed shape."""
    path = _save(tmp_path, _unknown_shape_model(), check=False)
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    (issue,) = caught.value.issues
    assert (issue.file, issue.key_path) == (str(path), "onnx.node[scores]")
    assert issue.message == "shape of 'k' unknown (ONNX shape inference could not derive it)"


def test_matmul_with_an_operand_of_unknown_shape_exits_2_from_the_cli(tmp_path: Path) -> None:
    """`imcmap show -w` on that file: exit 2, the issue on stderr, no traceback."""
    path = _save(tmp_path, _unknown_shape_model(), check=False)
    out, err = StringIO(), StringIO()
    code = cli.main(
        ["show", "-w", str(path)],
        console=Console(file=out, width=200, color_system=None),
        err_console=Console(file=err, width=200, color_system=None),
    )
    assert code == 2
    assert f"{path}: onnx.node[scores]: shape of 'k' unknown" in err.getvalue()
    assert "Traceback" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "node",
    [
        helper.make_node("MatMul", ["a", "w"], ["y"], name="p"),
        helper.make_node("Gemm", ["a", "w"], ["y"], name="p"),
        helper.make_node("Einsum", ["a", "w"], ["y"], name="p", equation="ij,jk->ik"),
    ],
    ids=["MatMul", "Gemm", "Einsum"],
)
def test_product_whose_stated_output_contradicts_its_operands_names_the_node(
    tmp_path: Path, node: onnx.NodeProto
) -> None:
    """[8, 16] x [16, 4] gives 8 x 4 = 32 elements; a model stating the output as [8, 5] (40) is an
    error at the node, not a layer whose K is silently one or the other."""
    inputs = [_value("a", [8, 16]), _value("w", [16, 4])]
    path = _save(tmp_path, _model([node], inputs, [_value("y", [8, 5])]), check=False)
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    (issue,) = caught.value.issues
    assert (issue.key_path, issue.message) == (
        "onnx.node[p]",
        "output 'y' is [8, 5] in the model (40 elements), but operands of shapes [8, 16] and [16, 4] give 32",
    )


def test_dynamic_sequence_length_is_an_error_naming_each_node(tmp_path: Path) -> None:
    """An export with a dynamic sequence axis: the batch becomes 1, but the sequence cannot be guessed;
    every product reading it is named (the query/key products' both operands are dynamic too)."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("Transpose", ["q"], ["qt"], name="t", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "qt"], ["s"], name="scores"),
    ]
    inputs = [_value("x", ["batch", "sequence", 64]), _value("wq", [64, 64])]
    path = _save(tmp_path, _model(nodes, inputs, [_value("s", ["batch", "sequence", "sequence"])]))
    with pytest.raises(SpecError) as caught:
        load_onnx(path)
    only_batch = "only the batch dimension of a graph input may be dynamic"
    assert [(issue.key_path, issue.message) for issue in caught.value.issues] == [
        ("onnx.node[q_proj]", f"dimension 1 of 'x' is dynamic ('sequence'); {only_batch}"),
        ("onnx.node[scores]", f"dimension 1 of 'q' is dynamic ('sequence'); {only_batch}"),
    ]


def test_dynamic_batch_of_an_attention_input_is_set_to_one_with_a_warning(tmp_path: Path) -> None:
    """[batch, 12, 128, 64] q and k: batch becomes 1 (a warning each), heads G = 12."""
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], name="t", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
    ]
    inputs = [_value("q", ["batch", 12, 128, 64]), _value("k", ["batch", 12, 128, 64])]
    workload = load_onnx(_save(tmp_path, _model(nodes, inputs, [_value("s", ["batch", 12, 128, 128])])))
    assert _dims(workload.layers[0]) == {"G": 12, "B": 128, "C": 64, "K": 128}
    assert workload.warnings[:2] == (
        "input 'q': dynamic batch dimension 'batch' set to 1",
        "input 'k': dynamic batch dimension 'batch' set to 1",
    )


def test_einsum_term_not_matching_its_operand_names_the_node(tmp_path: Path) -> None:
    """An equation whose term has fewer indices than its operand's rank is an error at the node."""
    node = helper.make_node("Einsum", ["a", "w"], ["y"], name="e", equation="ij,jk->ik")
    model = _model([node], [_value("a", [2, 4, 8]), _value("w", [8, 6])], [_value("y", [4, 6])])
    with pytest.raises(SpecError) as caught:
        load_onnx(_save(tmp_path, model, check=False))
    (issue,) = caught.value.issues
    assert (issue.key_path, issue.message) == (
        "onnx.node[e]", "equation 'ij,jk->ik': term 'ij' does not match an operand of rank 3"
    )  # fmt: skip


def test_einsum_index_sizes_that_differ_name_the_node(tmp_path: Path) -> None:
    """An index of two sizes (8 in A, 6 in B) is an error at the node, not a broadcast."""
    node = helper.make_node("Einsum", ["a", "w"], ["y"], name="e", equation="ij,jk->ik")
    model = _model([node], [_value("a", [4, 8]), _value("w", [6, 5])], [_value("y", [4, 5])])
    with pytest.raises(SpecError) as caught:
        load_onnx(_save(tmp_path, model, check=False))
    (issue,) = caught.value.issues
    assert (issue.key_path, issue.message) == ("onnx.node[e]", "equation 'ij,jk->ik': index 'j' is 8 in A and 6 in B")
