"""
A TransformerLens HookedTransformer's forward pass in plain PyTorch, for checking groklab's export.

Written from TransformerLens's components (embed, pos_embed, blocks.L.{ln1, attn, ln2, mlp},
ln_final, unembed) for the configs groklab exports: standard positional embeddings, causal
attention scaled by 1/sqrt(d_head), LayerNorm (normalization_type "LN") or none, act_fn relu,
gelu or gelu_new. The module's parameters carry TransformerLens's names and shapes, and the
exported file is loaded with load_state_dict(strict=False) as TransformerLens itself loads
state dicts, so a wrong name or shape fails here.

    tl_logits.py CONFIG.json MODEL.safetensors TOKENS.i32 LOGITS.f32 [--act-fn NAME] [--save FILE]

TOKENS.i32 holds int32 token ids [N, n_ctx]; LOGITS.f32 receives float32 logits [N, d_vocab_out]
at the last position. --act-fn overrides the config's activation (to show that it matters);
--save writes the module's whole state_dict (buffers included, as safetensors.torch.save_file
does) to FILE. Safetensors is read and written by hand: Debian has no python3-safetensors.
"""

import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# HookedTransformerConfig's fields (TransformerLens 2.x): an exported config must be accepted by
# HookedTransformerConfig(**config).
HOOKED_TRANSFORMER_CONFIG_FIELDS = {
    "n_layers", "d_model", "n_ctx", "d_head", "model_name", "n_heads", "d_mlp", "act_fn", "d_vocab",
    "eps", "use_attn_result", "use_attn_scale", "attn_scale", "use_split_qkv_input", "use_hook_mlp_in",
    "use_attn_in", "use_local_attn", "ungroup_grouped_query_attention", "original_architecture",
    "from_checkpoint", "checkpoint_index", "checkpoint_label_type", "checkpoint_value",
    "tokenizer_name", "window_size", "attn_types", "init_mode", "normalization_type", "device",
    "n_devices", "attention_dir", "attn_only", "seed", "initializer_range", "init_weights",
    "scale_attn_by_inverse_layer_idx", "positional_embedding_type", "final_rms", "d_vocab_out",
    "parallel_attn_mlp", "rotary_dim", "n_params", "use_hook_tokens", "gated_mlp",
    "default_prepend_bos", "dtype", "tokenizer_prepends_bos", "n_key_value_heads",
    "post_embedding_ln", "rotary_base", "trust_remote_code", "rotary_adjacent_pairs", "load_in_4bit",
    "num_experts", "experts_per_token", "relative_attention_max_distance",
    "relative_attention_num_buckets", "decoder_start_token_id", "tie_word_embeddings",
    "use_normalization_before_and_after", "attn_scores_soft_cap", "output_logits_soft_cap",
    "use_NTK_by_parts_rope", "NTK_by_parts_low_freq_factor", "NTK_by_parts_high_freq_factor",
    "NTK_by_parts_factor",
}

DTYPES = {"F32": (np.float32, torch.float32), "BOOL": (np.bool_, torch.bool)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        np_dtype, _ = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[8 + n + begin : 8 + n + end], dtype=np.dtype(np_dtype).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.copy().reshape(info["shape"]))
    return tensors


def write_safetensors(path, tensors):
    names = {torch.float32: "F32", torch.bool: "BOOL"}
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "gelu_new": gelu_new}


class LayerNorm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.eps = cfg["eps"]
        self.w = nn.Parameter(torch.ones(cfg["d_model"]))
        self.b = nn.Parameter(torch.zeros(cfg["d_model"]))

    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        scale = (x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt()
        return x / scale * self.w + self.b


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, d, e = cfg["n_heads"], cfg["d_model"], cfg["d_head"]
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.empty(h, d, e)) for _ in range(3))
        self.W_O = nn.Parameter(torch.empty(h, e, d))
        self.b_Q, self.b_K, self.b_V = (nn.Parameter(torch.zeros(h, e)) for _ in range(3))
        self.b_O = nn.Parameter(torch.zeros(d))
        self.register_buffer("mask", torch.tril(torch.ones(cfg["n_ctx"], cfg["n_ctx"])).bool())
        self.register_buffer("IGNORE", torch.tensor(-torch.inf))
        self.attn_scale = math.sqrt(e)

    def forward(self, x):
        q = torch.einsum("bpd,hde->bphe", x, self.W_Q) + self.b_Q
        k = torch.einsum("bpd,hde->bphe", x, self.W_K) + self.b_K
        v = torch.einsum("bpd,hde->bphe", x, self.W_V) + self.b_V
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / self.attn_scale
        n = x.shape[1]
        scores = torch.where(self.mask[:n, :n], scores, self.IGNORE)
        pattern = F.softmax(scores, dim=-1)
        z = torch.einsum("bkhe,bhqk->bqhe", v, pattern)
        return torch.einsum("bqhe,hed->bqd", z, self.W_O) + self.b_O


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, m = cfg["d_model"], cfg["d_mlp"]
        self.W_in = nn.Parameter(torch.empty(d, m))
        self.b_in = nn.Parameter(torch.zeros(m))
        self.W_out = nn.Parameter(torch.empty(m, d))
        self.b_out = nn.Parameter(torch.zeros(d))
        self.act = ACTIVATIONS[cfg["act_fn"]]

    def forward(self, x):
        return self.act(x @ self.W_in + self.b_in) @ self.W_out + self.b_out


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        normed = cfg["normalization_type"] == "LN"
        self.ln1 = LayerNorm(cfg) if normed else nn.Identity()
        self.attn = Attention(cfg)
        self.ln2 = LayerNorm(cfg) if normed else nn.Identity()
        self.mlp = MLP(cfg)

    def forward(self, resid):
        resid = resid + self.attn(self.ln1(resid))
        return resid + self.mlp(self.ln2(resid))


class Holder(nn.Module):
    """A module holding one named parameter, so state_dict names are TransformerLens's (embed.W_E)."""

    def __init__(self, name, shape):
        super().__init__()
        self.register_parameter(name, nn.Parameter(torch.zeros(*shape)))


class HookedTransformerLike(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.embed = Holder("W_E", (cfg["d_vocab"], d))
        self.pos_embed = Holder("W_pos", (cfg["n_ctx"], d))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg["n_layers"]))
        if cfg["normalization_type"] == "LN":
            self.ln_final = LayerNorm(cfg)
        self.unembed = Holder("W_U", (d, cfg["d_vocab_out"]))
        self.unembed.register_parameter("b_U", nn.Parameter(torch.zeros(cfg["d_vocab_out"])))
        self.normed = cfg["normalization_type"] == "LN"

    def forward(self, tokens):
        resid = self.embed.W_E[tokens] + self.pos_embed.W_pos[: tokens.shape[1]]
        for block in self.blocks:
            resid = block(resid)
        if self.normed:
            resid = self.ln_final(resid)
        return resid @ self.unembed.W_U + self.unembed.b_U


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("model")
    parser.add_argument("tokens")
    parser.add_argument("logits")
    parser.add_argument("--act-fn")
    parser.add_argument("--save")
    args = parser.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    unknown = sorted(set(cfg) - HOOKED_TRANSFORMER_CONFIG_FIELDS)
    if unknown:
        sys.exit(f"not HookedTransformerConfig fields: {unknown}")
    assert cfg["n_heads"] * cfg["d_head"] == cfg["d_model"], "n_heads * d_head != d_model"
    assert cfg["positional_embedding_type"] == "standard" and cfg["attention_dir"] == "causal"
    assert cfg["attn_only"] is False and cfg["use_attn_scale"] is True
    if args.act_fn:
        cfg["act_fn"] = args.act_fn

    model = HookedTransformerLike(cfg)
    state = read_safetensors(args.model)
    # As TransformerLens loads a state dict: buffers (mask, IGNORE) may be absent, nothing else.
    missing, unexpected = model.load_state_dict(state, strict=False)
    buffers = [k for k in missing if k.endswith((".attn.mask", ".attn.IGNORE"))]
    if unexpected or len(buffers) != len(missing):
        sys.exit(f"state dict mismatch: missing {sorted(set(missing) - set(buffers))}, unexpected {unexpected}")

    tokens = np.fromfile(args.tokens, dtype="<i4").reshape(-1, cfg["n_ctx"])
    with torch.no_grad():
        logits = model(torch.from_numpy(tokens.astype(np.int64)))[:, -1, :]
    logits.numpy().astype("<f4").tofile(args.logits)
    if args.save:
        write_safetensors(args.save, model.state_dict())
    print(json.dumps({"examples": int(tokens.shape[0]), "loaded": len(state), "buffers_default": buffers}))


if __name__ == "__main__":
    main()
