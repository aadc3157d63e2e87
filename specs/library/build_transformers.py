"""Build the bundled transformer workloads (shapes only): one encoder or decoder block each, batch 1.

* ``bert_base_layer``: one BERT-base encoder layer (Hugging Face ``BertLayer``, post-LayerNorm):
  sequence 128, hidden 768, 12 heads of 64, FFN 3072 with the exact (erf) GELU, an additive
  attention mask over the keys.
* ``vit_b16_block``: one ViT-B/16 encoder block (Hugging Face ``ViTLayer``, pre-LayerNorm): 197 tokens
  (196 patches of a 224 x 224 image and the class token), the same widths, no mask.
* ``gpt2_prefill``: one GPT-2 small decoder block (Hugging Face ``GPT2Block``, pre-LayerNorm) on a
  128-token prompt: the fused ``c_attn`` projection to q/k/v (``Gemm`` and ``Split``, as GPT-2's
  ``Conv1D`` exports), a causal mask (``Where``), the tanh GELU approximation (``gelu_new``).
* ``gpt2_decode``: the same block generating one token against a 128-token KV cache: q/k/v of the new
  token are computed, its key and value are appended to the cache (``Concat``: the attention reads
  K and V of 129 positions) and the updated cache is an output.

The graphs are written by hand in the operator forms a PyTorch export produces (``MatMul`` + ``Add``
for ``nn.Linear`` on token rows, ``Gemm`` for GPT-2's ``Conv1D``, ``LayerNormalization``, erf GELU as
``Div``/``Erf``/``Add``/``Mul``), but with the batch axis left out: tokens are ``[seq, hidden]``
rows and attention runs on ``[heads, seq, 64]`` tensors, so a query-key product is a 3-D batched
``MatMul`` over the heads. (A Hugging Face export's 4-D ``[1, heads, seq, 64]`` form imports to the
same layers; a test checks that.) Node names follow the export's ``/<module path>/<Op>_<n>`` style.

No weight data: weights, biases, LayerNorm parameters, the attention mask and the KV cache are float32
(the causal mask bool) graph inputs with their shapes; only the reshape targets, split sizes and
scalar constants are initializers. Run ``python specs/library/build_transformers.py`` to regenerate
the four files; a test checks that the committed files equal the builder's output byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OPSET = 17  # the first with LayerNormalization
IR_VERSION = 8
WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"
PRODUCER = "imcmap specs/library/build_transformers.py"

HIDDEN = 768
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
FFN = 3072
BERT_SEQUENCE = 128
VIT_TOKENS = 197  # (224 / 16)^2 patches + the class token
GPT2_PROMPT = 128
BERT_LN_EPSILON = VIT_LN_EPSILON = 1e-12  # BertConfig / ViTConfig layer_norm_eps
GPT2_LN_EPSILON = 1e-5  # GPT2Config layer_norm_epsilon

_SHAPES_ONLY = (
    "Shapes only: weights, biases, LayerNorm parameters, masks and caches are graph inputs without data."
)


class _Block:
    """A shapes-only graph under construction: nodes named by module scope, data-less inputs, shapes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: dict[str, list[int]] = {}
        self._counts: dict[tuple[str, str], int] = {}

    def param(self, name: str, shape: list[int], elem: int = TensorProto.FLOAT) -> str:
        """A graph input declared with its shape only (a weight, a mask, a cache)."""
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        self.shapes[name] = shape
        return name

    def ints(self, name: str, values: list[int]) -> str:
        """A small int64 initializer (a reshape target, split sizes), declared once per name."""
        return self._constant(helper.make_tensor(name, TensorProto.INT64, [len(values)], values))

    def scalar(self, name: str, value: float) -> str:
        return self._constant(helper.make_tensor(name, TensorProto.FLOAT, [], [value]))

    def _constant(self, tensor: onnx.TensorProto) -> str:
        known = next((t for t in self.initializers if t.name == tensor.name), None)
        if known is None:
            self.initializers.append(tensor)
        elif known != tensor:
            raise ValueError(f"constant {tensor.name} declared twice with different values")
        return tensor.name

    def node(
        self,
        scope: str,
        op_type: str,
        inputs: list[str],
        shape: list[int],
        attributes: dict[str, object] | None = None,
        outputs: int = 1,
    ) -> str:
        """Append ``<scope>/<op_type>[_n]`` (numbered per scope as torch's exporter does); its first
        output is ``<node name>_output_0``."""
        count = self._counts.get((scope, op_type), 0)
        self._counts[(scope, op_type)] = count + 1
        name = f"{scope}/{op_type}" + (f"_{count}" if count else "")
        names = [f"{name}_output_{i}" for i in range(outputs)]
        node = helper.make_node(op_type, inputs, names, name=name)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in (attributes or {}).items())
        self.nodes.append(node)
        for output in names:
            self.shapes[output] = shape
        return names[0]

    def outputs_of(self, tensor: str) -> list[str]:
        """Every output of the node whose first output is ``tensor``."""
        node = next(n for n in self.nodes if n.output[0] == tensor)
        return list(node.output)

    # --- modules -------------------------------------------------------------------------------

    def linear(self, scope: str, param: str, x: str, features: int) -> str:
        """``nn.Linear`` on token rows as torch exports it: ``MatMul`` with the weight stored [in, out],
        then ``Add`` of the bias."""
        rows, width = self.shapes[x]
        weight = self.param(f"{param}.weight", [width, features])
        bias = self.param(f"{param}.bias", [features])
        y = self.node(scope, "MatMul", [x, weight], [rows, features])
        return self.node(scope, "Add", [bias, y], [rows, features])

    def conv1d(self, scope: str, param: str, x: str, features: int) -> str:
        """GPT-2's ``Conv1D`` (``addmm(bias, x, weight)``, weight [in, out]) as a ``Gemm``."""
        rows, width = self.shapes[x]
        weight = self.param(f"{param}.weight", [width, features])
        bias = self.param(f"{param}.bias", [features])
        return self.node(scope, "Gemm", [x, weight, bias], [rows, features], {"alpha": 1.0, "beta": 1.0})

    def layer_norm(self, scope: str, param: str, x: str, epsilon: float) -> str:
        width = self.shapes[x][-1]
        scale = self.param(f"{param}.weight", [width])
        bias = self.param(f"{param}.bias", [width])
        attributes: dict[str, object] = {"axis": -1, "epsilon": epsilon}
        return self.node(scope, "LayerNormalization", [x, scale, bias], self.shapes[x], attributes)

    def split_heads(self, scope: str, x: str, perm: list[int]) -> str:
        """Token rows [seq, hidden] -> [seq, heads, 64], transposed by ``perm``: [1, 0, 2] gives
        [heads, seq, 64], [1, 2, 0] the keys transposed, [heads, 64, seq]."""
        rows = self.shapes[x][0]
        target = self.ints(f"{scope}/shape_{rows}x{HEADS}x{HEAD_DIM}", [rows, HEADS, HEAD_DIM])
        y = self.node(scope, "Reshape", [x, target], [rows, HEADS, HEAD_DIM])
        shape = [[rows, HEADS, HEAD_DIM][axis] for axis in perm]
        return self.node(scope, "Transpose", [y], shape, {"perm": perm})

    def merge_heads(self, scope: str, x: str) -> str:
        """[heads, seq, 64] -> token rows [seq, hidden]."""
        heads, rows, head_dim = self.shapes[x]
        y = self.node(scope, "Transpose", [x], [rows, heads, head_dim], {"perm": [1, 0, 2]})
        target = self.ints(f"{scope}/shape_{rows}x{heads * head_dim}", [rows, heads * head_dim])
        return self.node(scope, "Reshape", [y, target], [rows, heads * head_dim])

    def attention(self, scope: str, q: str, k_t: str, v: str, mask: Callable[[str], str] | None = None) -> str:
        """softmax(q k^T / sqrt(64) (+ mask)) v over [heads, seq, 64] tensors; k_t is [heads, 64, keys]."""
        heads, queries, _ = self.shapes[q]
        keys = self.shapes[k_t][2]
        scores = self.node(scope, "MatMul", [q, k_t], [heads, queries, keys])
        scale = self.scalar(f"{scope}/sqrt_head_dim", math.sqrt(HEAD_DIM))
        scores = self.node(scope, "Div", [scores, scale], [heads, queries, keys])
        if mask is not None:
            scores = mask(scores)
        probs = self.node(scope, "Softmax", [scores], [heads, queries, keys], {"axis": -1})
        return self.node(scope, "MatMul", [probs, v], [heads, queries, self.shapes[v][2]])

    def gelu_erf(self, scope: str, x: str) -> str:
        """Exact GELU as torch exports it before opset 20: x * (1 + erf(x / sqrt 2)) * 0.5."""
        shape = self.shapes[x]
        y = self.node(scope, "Div", [x, self.scalar(f"{scope}/sqrt_2", math.sqrt(2.0))], shape)
        y = self.node(scope, "Erf", [y], shape)
        y = self.node(scope, "Add", [y, self.scalar(f"{scope}/one", 1.0)], shape)
        y = self.node(scope, "Mul", [x, y], shape)
        return self.node(scope, "Mul", [y, self.scalar(f"{scope}/half", 0.5)], shape)

    def gelu_tanh(self, scope: str, x: str) -> str:
        """GPT-2's ``gelu_new``: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
        shape = self.shapes[x]
        y = self.node(scope, "Pow", [x, self.scalar(f"{scope}/three", 3.0)], shape)
        y = self.node(scope, "Mul", [y, self.scalar(f"{scope}/cubic", 0.044715)], shape)
        y = self.node(scope, "Add", [x, y], shape)
        sqrt_2_over_pi = self.scalar(f"{scope}/sqrt_2_over_pi", math.sqrt(2.0 / math.pi))
        y = self.node(scope, "Mul", [y, sqrt_2_over_pi], shape)
        y = self.node(scope, "Tanh", [y], shape)
        y = self.node(scope, "Add", [y, self.scalar(f"{scope}/one", 1.0)], shape)
        y = self.node(scope, "Mul", [x, y], shape)
        return self.node(scope, "Mul", [y, self.scalar(f"{scope}/half", 0.5)], shape)

    def model(self, outputs: list[str], doc: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            self.inputs,
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, self.shapes[name]) for name in outputs],
            self.initializers,
            doc_string=doc,
        )
        model = helper.make_model(
            graph, producer_name=PRODUCER, opset_imports=[helper.make_opsetid("", OPSET)]
        )
        model.ir_version = IR_VERSION
        return model


def _encoder_attention(block: _Block, scope: str, param: str, x: str, mask: str | None) -> str:
    """BERT's / ViT's self-attention with separate query, key and value projections."""
    q = block.split_heads(scope, block.linear(f"{scope}/query", f"{param}.query", x, HIDDEN), [1, 0, 2])
    k_t = block.split_heads(scope, block.linear(f"{scope}/key", f"{param}.key", x, HIDDEN), [1, 2, 0])
    v = block.split_heads(scope, block.linear(f"{scope}/value", f"{param}.value", x, HIDDEN), [1, 0, 2])

    add_mask: Callable[[str], str] | None = None
    if mask is not None:
        additive = mask

        def add_mask(scores: str) -> str:
            return block.node(scope, "Add", [scores, additive], block.shapes[scores])

    return block.merge_heads(scope, block.attention(scope, q, k_t, v, add_mask))


def build_bert_base_layer() -> onnx.ModelProto:
    """One BERT-base encoder layer on 128 tokens: attention, add & norm, FFN 3072 (GELU), add & norm."""
    block = _Block("bert_base_layer")
    x = block.param("hidden_states", [BERT_SEQUENCE, HIDDEN])
    mask = block.param("attention_mask", [1, BERT_SEQUENCE])  # additive: 0 or -10000 per key
    context = _encoder_attention(block, "/attention/self", "attention.self", x, mask)
    y = block.linear("/attention/output/dense", "attention.output.dense", context, HIDDEN)
    y = block.node("/attention/output", "Add", [y, x], [BERT_SEQUENCE, HIDDEN])
    y = block.layer_norm("/attention/output/LayerNorm", "attention.output.LayerNorm", y, BERT_LN_EPSILON)
    h = block.linear("/intermediate/dense", "intermediate.dense", y, FFN)
    h = block.gelu_erf("/intermediate/intermediate_act_fn", h)
    out = block.linear("/output/dense", "output.dense", h, HIDDEN)
    out = block.node("/output", "Add", [out, y], [BERT_SEQUENCE, HIDDEN])
    out = block.layer_norm("/output/LayerNorm", "output.LayerNorm", out, BERT_LN_EPSILON)
    return block.model([out], "BERT-base encoder layer, sequence 128. " + _SHAPES_ONLY)


def build_vit_b16_block() -> onnx.ModelProto:
    """One ViT-B/16 encoder block on 197 tokens: LN, attention, residual, LN, MLP 3072 (GELU), residual."""
    block = _Block("vit_b16_block")
    x = block.param("hidden_states", [VIT_TOKENS, HIDDEN])
    normed = block.layer_norm("/layernorm_before", "layernorm_before", x, VIT_LN_EPSILON)
    context = _encoder_attention(block, "/attention/attention", "attention.attention", normed, None)
    y = block.linear("/attention/output/dense", "attention.output.dense", context, HIDDEN)
    y = block.node("", "Add", [y, x], [VIT_TOKENS, HIDDEN])
    normed = block.layer_norm("/layernorm_after", "layernorm_after", y, VIT_LN_EPSILON)
    h = block.linear("/intermediate/dense", "intermediate.dense", normed, FFN)
    h = block.gelu_erf("/intermediate/intermediate_act_fn", h)
    out = block.linear("/output/dense", "output.dense", h, HIDDEN)
    out = block.node("/output", "Add", [out, y], [VIT_TOKENS, HIDDEN])
    return block.model([out], "ViT-B/16 encoder block, 197 tokens. " + _SHAPES_ONLY)


def _gpt2_block(block: _Block, prompt: int, cached: int) -> list[str]:
    """GPT-2 small's block on ``prompt`` new tokens after ``cached`` cached ones (prefill: 0 cached,
    causal mask; decode: 1 new token, the cache extended by its key and value). Returns the outputs."""
    x = block.param("hidden_states", [prompt, HIDDEN])
    normed = block.layer_norm("/ln_1", "ln_1", x, GPT2_LN_EPSILON)
    qkv = block.conv1d("/attn/c_attn", "attn.c_attn", normed, 3 * HIDDEN)
    sizes = block.ints("/attn/split_sizes", [HIDDEN] * 3)
    split = block.node("/attn", "Split", [qkv, sizes], [prompt, HIDDEN], {"axis": 1}, outputs=3)
    q, k, v = block.outputs_of(split)
    q = block.split_heads("/attn", q, [1, 0, 2])
    k = block.split_heads("/attn", k, [1, 0, 2])
    v = block.split_heads("/attn", v, [1, 0, 2])
    outputs: list[str] = []
    if cached:
        past_key = block.param("past_key", [HEADS, cached, HEAD_DIM])
        past_value = block.param("past_value", [HEADS, cached, HEAD_DIM])
        total = cached + prompt
        k = block.node("/attn", "Concat", [past_key, k], [HEADS, total, HEAD_DIM], {"axis": 1})
        v = block.node("/attn", "Concat", [past_value, v], [HEADS, total, HEAD_DIM], {"axis": 1})
        outputs = [k, v]  # the present key and value: the next step's cache
    k_t = block.node("/attn", "Transpose", [k], [HEADS, HEAD_DIM, block.shapes[k][1]], {"perm": [0, 2, 1]})

    def causal(scores: str) -> str:
        allowed = block.param("causal_mask", [prompt, prompt], TensorProto.BOOL)  # lower triangle
        lowest = block.scalar("/attn/masked_bias", -3.4028234663852886e38)  # torch.finfo(float32).min
        return block.node("/attn", "Where", [allowed, scores, lowest], block.shapes[scores])

    context = block.attention("/attn", q, k_t, v, None if cached else causal)
    y = block.conv1d("/attn/c_proj", "attn.c_proj", block.merge_heads("/attn", context), HIDDEN)
    y = block.node("", "Add", [y, x], [prompt, HIDDEN])
    normed = block.layer_norm("/ln_2", "ln_2", y, GPT2_LN_EPSILON)
    h = block.gelu_tanh("/mlp/act", block.conv1d("/mlp/c_fc", "mlp.c_fc", normed, FFN))
    out = block.conv1d("/mlp/c_proj", "mlp.c_proj", h, HIDDEN)
    return [block.node("", "Add", [y, out], [prompt, HIDDEN]), *outputs]


def build_gpt2_prefill() -> onnx.ModelProto:
    """One GPT-2 small block on a 128-token prompt (causal self-attention)."""
    block = _Block("gpt2_prefill")
    outputs = _gpt2_block(block, GPT2_PROMPT, cached=0)
    return block.model(outputs, "GPT-2 small decoder block, prefill of 128 tokens. " + _SHAPES_ONLY)


def build_gpt2_decode() -> onnx.ModelProto:
    """One GPT-2 small block generating one token against a 128-token KV cache (attention over 129)."""
    block = _Block("gpt2_decode")
    outputs = _gpt2_block(block, 1, cached=GPT2_PROMPT)
    return block.model(
        outputs, "GPT-2 small decoder block, one token after 128 cached (K and V of 129). " + _SHAPES_ONLY
    )


BUILDERS: dict[str, Callable[[], onnx.ModelProto]] = {
    "bert_base_layer": build_bert_base_layer,
    "vit_b16_block": build_vit_b16_block,
    "gpt2_prefill": build_gpt2_prefill,
    "gpt2_decode": build_gpt2_decode,
}


def output_path(name: str) -> Path:
    return WORKLOADS_DIR / f"{name}.onnx"


def main() -> None:
    WORKLOADS_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        model = build()
        onnx.checker.check_model(model, full_check=True)
        path = output_path(name)
        path.write_bytes(model.SerializeToString())
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
