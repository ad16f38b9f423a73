"""
groklab's 'pre_replace' transformer against Grokfast's Decoder, in float64 PyTorch.

Grokfast's model (github.com/ironjr/grokfast, main.py: Block and Decoder) re-implemented module for
module: nn.Embedding for tokens and positions, blocks whose ln_1 output replaces the stream
(x = ln_1(x); x = x + attn(x, x, x); x = x + mlp(ln_2(x))), nn.MultiheadAttention with the causal
float mask Grokfast builds, an MLP nn.Sequential(Linear, GELU, Linear), a final ln_f and a head
without bias; sequences go sequence-first ([T, B]) as in Grokfast, and the loss is cross-entropy of
the last position's logits. Only what groklab's model cannot have differs, on purpose:
  - attention without biases (nn.MultiheadAttention(bias=False)): groklab has none;
  - GELU's tanh approximation: groklab's gelu (Grokfast's nn.GELU() is the exact erf form; the
    output reports how far that moves the logits, so a test can see the check tells them apart);
  - the head over groklab's classes and position rows for groklab's sequence length.

    torch_block_check.py IN.json OUT.json

IN.json: {"layers", "d_model", "heads", "d_mlp", "vocab", "seq_len", "classes",
          "params": {groklab name: {"shape": [...], "data": [...]}},   # groklab's layout ([in, out])
          "tokens": [[...] per example], "labels": [...]}
OUT.json: {"logits": [...] (examples × classes), "loss", "grads": {groklab name: [...]} in groklab's
           layout, "erf_gelu_max_logit_diff"}
"""

import json
import sys

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Grokfast's causal block; GELU and attention biases as groklab's (see above)."""

    def __init__(self, dim, num_heads, d_mlp, exact_gelu):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(dim, d_mlp),
            nn.GELU() if exact_gelu else nn.GELU(approximate="tanh"),
            nn.Linear(d_mlp, dim),
        )

    def forward(self, x):
        attn_mask = torch.full((len(x), len(x)), -float("Inf"), device=x.device, dtype=x.dtype)
        attn_mask = torch.triu(attn_mask, diagonal=1)
        attn_mask[torch.isnan(attn_mask)] = 0.0

        x = self.ln_1(x)
        a, _ = self.attn(x, x, x, attn_mask=attn_mask, need_weights=False)
        x = x + a
        m = self.mlp(self.ln_2(x))
        x = x + m
        return x


class Decoder(nn.Module):
    def __init__(self, dim, num_layers, num_heads, d_mlp, num_tokens, num_classes, seq_len, exact_gelu):
        super().__init__()
        self.token_embeddings = nn.Embedding(num_tokens, dim)
        self.position_embeddings = nn.Embedding(seq_len, dim)
        self.layers = nn.ModuleList(Block(dim, num_heads, d_mlp, exact_gelu) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes, bias=False)

    def forward(self, x):
        h = self.token_embeddings(x)
        positions = torch.arange(x.shape[0], device=x.device).unsqueeze(-1)
        h = h + self.position_embeddings(positions).expand_as(h)
        for layer in self.layers:
            h = layer(h)
        h = self.ln_f(h)
        return self.head(h)


def tensor_map(model, cfg):
    """groklab name -> (torch parameter, its rows holding the tensor or None, transposed?).

    groklab stores matrices [in, out]; torch's Linear and in_proj_weight store [out, in], and
    in_proj_weight stacks W_q, W_k, W_v as rows 0…d−1, d…2d−1, 2d…3d−1."""
    d = cfg["d_model"]
    out = {
        "embed": (model.token_embeddings.weight, None, False),
        "pos": (model.position_embeddings.weight, None, False),
        "ln_final.gain": (model.ln_f.weight, None, False),
        "ln_final.bias": (model.ln_f.bias, None, False),
        "unembed": (model.head.weight, None, True),
    }
    for i, block in enumerate(model.layers):
        b = f"blocks.{i}"
        for j, name in enumerate(["wq", "wk", "wv"]):
            out[f"{b}.attn.{name}"] = (block.attn.in_proj_weight, slice(j * d, (j + 1) * d), True)
        out.update(
            {
                f"{b}.attn.wo": (block.attn.out_proj.weight, None, True),
                f"{b}.ln1.gain": (block.ln_1.weight, None, False),
                f"{b}.ln1.bias": (block.ln_1.bias, None, False),
                f"{b}.ln2.gain": (block.ln_2.weight, None, False),
                f"{b}.ln2.bias": (block.ln_2.bias, None, False),
                f"{b}.mlp.w1": (block.mlp[0].weight, None, True),
                f"{b}.mlp.b1": (block.mlp[0].bias, None, False),
                f"{b}.mlp.w2": (block.mlp[2].weight, None, True),
                f"{b}.mlp.b2": (block.mlp[2].bias, None, False),
            }
        )
    return out


def part(tensor, rows, transposed):
    """The groklab tensor's place in a torch tensor, as a view in groklab's layout."""
    view = tensor if rows is None else tensor[rows]
    return view.t() if transposed else view


def build(cfg, exact_gelu):
    model = Decoder(
        cfg["d_model"], cfg["layers"], cfg["heads"], cfg["d_mlp"],
        cfg["vocab"], cfg["classes"], cfg["seq_len"], exact_gelu,
    ).double()
    names = tensor_map(model, cfg)
    given = cfg["params"]
    if set(given) != set(names):
        sys.exit(f"parameter names differ: groklab only {sorted(set(given) - set(names))}, "
                 f"peer only {sorted(set(names) - set(given))}")
    # Every element of every peer parameter is set from groklab's: nothing keeps torch's own init.
    covered = {}
    with torch.no_grad():
        for name, (tensor, rows, transposed) in names.items():
            view = part(tensor, rows, transposed)
            value = torch.tensor(given[name]["data"], dtype=torch.float64).reshape(given[name]["shape"])
            if tuple(value.shape) != tuple(view.shape):
                sys.exit(f"{name}: groklab {list(value.shape)} does not fit the peer's {list(view.shape)}")
            view.copy_(value)
            covered[id(tensor)] = covered.get(id(tensor), 0) + value.numel()
    for pname, param in model.named_parameters():
        if covered.get(id(param), 0) != param.numel():
            sys.exit(f"peer parameter {pname} is not (wholly) set from groklab's")
    return model, names


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    tokens = torch.tensor(cfg["tokens"], dtype=torch.long).t()  # [T, B], as Grokfast feeds it
    labels = torch.tensor(cfg["labels"], dtype=torch.long)

    model, names = build(cfg, exact_gelu=False)
    logits = model(tokens)[-1]  # the answer is read at the last position
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = {
        name: part(tensor.grad, rows, transposed).reshape(-1).tolist()
        for name, (tensor, rows, transposed) in names.items()
    }

    exact, _ = build(cfg, exact_gelu=True)
    with torch.no_grad():
        erf_diff = (exact(tokens)[-1] - logits.detach()).abs().max().item()

    with open(sys.argv[2], "w") as f:
        json.dump(
            {
                "logits": logits.detach().reshape(-1).tolist(),
                "loss": loss.item(),
                "grads": grads,
                "erf_gelu_max_logit_diff": erf_diff,
            },
            f,
        )


if __name__ == "__main__":
    main()
