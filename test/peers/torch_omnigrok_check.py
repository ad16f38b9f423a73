"""
groklab's MNIST training (preset omnigrok-mnist) against Omnigrok's own, in float64 PyTorch.

Omnigrok's MNIST notebook (Liu, Michaud & Tegmark 2022; github.com/KindXiaoming/Omnigrok,
mnist/grokking/mnist-grokking.ipynb) re-done step for step: torch.set_default_dtype(torch.float64), the
model nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(),
nn.Linear(200, 10)), the loss nn.MSELoss()(y, one_hots[labels]) (the mean over batch × 10 entries),
torch.optim.AdamW(lr, betas, eps, weight_decay) (their call passes lr and weight_decay; β and eps are
AdamW's defaults 0.9/0.999 and 1e-8, which IN.json gives), and per step zero_grad → loss → backward →
step. Images go in as [B, 1, 28, 28] through nn.Flatten, as theirs, with pixels bytes/255 in float64
(ToTensor under a float64 default dtype); the bytes are recovered exactly from groklab's float32 pixels
(round(v·255)), so groklab's float32 rounding of k/255 is part of what the comparison measures.

What differs from their notebook, on purpose, so that the two runs can be compared number for number:
  - the initial parameters are groklab's (already × α), not a fresh PyTorch init × α. groklab draws
    from the same distribution (U(−1/√fan_in, 1/√fan_in) for weights and biases, times α); the output
    gives the standard deviation of a fresh PyTorch init × α per weight matrix so a test can check that;
  - the training images and the batches are groklab's: its first train_size images (Omnigrok's
    Subset(range(train_points))) and the example indices of each step from groklab's own minibatch
    schedule (each epoch a seeded permutation cut into consecutive batches), where Omnigrok cycles a
    DataLoader(shuffle=True), which draws a new permutation each epoch: the same kind of schedule,
    other permutations;
  - the hidden width, depth and number of classes come from IN.json (Omnigrok: 200, 2 hidden, 10).

    torch_omnigrok_check.py IN.json OUT.json

IN.json: {"width", "depth", "classes", "init_scale",
          "params": {groklab name: {"shape": [...], "data": [...]}},  # groklab's layout: w [in, out], b [out]
          "images": [[784 pixels] per training example], "labels": [...],
          "batches": [[training-example positions] per step],
          "lr", "beta1", "beta2", "eps", "weight_decay",
          "variants": {name: {"weight_decay"?: x, "init_scale"?: a}}}  # optional: the run, changed
A variant's init_scale a trains from groklab's initial parameters × a / init_scale.
OUT.json: {"losses": [loss of each step, before its update], "params": {groklab name: [...]} after the
           last step, in groklab's layout, "variants": {name: {"losses", "params"}} likewise,
           "torch_init_std": {groklab name: std of a fresh PyTorch init × α} for the weight matrices}
"""

import json
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)  # as Omnigrok's notebook


def omnigrok_mlp(in_dim, width, depth, classes):
    """Omnigrok's nn.Sequential: Flatten, then depth × (Linear, ReLU), then the output Linear."""
    layers = [nn.Flatten()]
    fan_in = in_dim
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    layers.append(nn.Linear(fan_in, classes))
    return nn.Sequential(*layers)


def linears(model):
    return [m for m in model if isinstance(m, nn.Linear)]


def tensor_map(model, depth):
    """groklab name -> (torch parameter, transposed?). torch's Linear stores [out, in]."""
    out = {}
    names = [f"layers.{l}" for l in range(depth)] + ["out"]
    for name, linear in zip(names, linears(model)):
        out[f"{name}.w"] = (linear.weight, True)
        out[f"{name}.b"] = (linear.bias, False)
    return out


def view(tensor, transposed):
    return tensor.t() if transposed else tensor


def build(cfg, scale):
    """The model with groklab's initial parameters, times `scale` (1: exactly groklab's)."""
    in_dim = len(cfg["images"][0])
    model = omnigrok_mlp(in_dim, cfg["width"], cfg["depth"], cfg["classes"])
    names = tensor_map(model, cfg["depth"])
    given = cfg["params"]
    if set(given) != set(names):
        sys.exit(f"parameter names differ: groklab only {sorted(set(given) - set(names))}, "
                 f"peer only {sorted(set(names) - set(given))}")
    # Every peer parameter is set, whole, from groklab's: nothing keeps torch's own init.
    with torch.no_grad():
        for name, (tensor, transposed) in names.items():
            target = view(tensor, transposed)
            value = torch.tensor(given[name]["data"], dtype=torch.float64).reshape(given[name]["shape"])
            if tuple(value.shape) != tuple(target.shape):
                sys.exit(f"{name}: groklab {list(value.shape)} does not fit the peer's {list(target.shape)}")
            target.copy_(value * scale)
    return model, names


def train(cfg, images, labels, weight_decay, scale):
    """Omnigrok's loop on groklab's batches: the loss of every step, and the trained parameters."""
    model, names = build(cfg, scale)
    one_hots = torch.eye(cfg["classes"])
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=cfg["lr"],
        betas=(cfg["beta1"], cfg["beta2"]),
        eps=cfg["eps"],
        weight_decay=weight_decay,
    )
    losses = []
    for batch in cfg["batches"]:
        index = torch.tensor(batch, dtype=torch.long)
        x, y = images[index], labels[index]
        optimizer.zero_grad()
        loss = loss_fn(model(x), one_hots[y])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, names


def final(names):
    """The parameters, flat, in groklab's layout."""
    return {
        name: view(tensor, transposed).detach().reshape(-1).tolist()
        for name, (tensor, transposed) in names.items()
    }


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    # groklab's float32 pixels are float32(k/255): k = round(v·255) exactly, then k/255 in float64.
    images = torch.round(torch.tensor(cfg["images"], dtype=torch.float64) * 255) / 255
    side = int(round(images.shape[1] ** 0.5))
    if side * side == images.shape[1]:
        images = images.reshape(-1, 1, side, side)  # [B, 1, 28, 28], as torchvision's MNIST gives them
    labels = torch.tensor(cfg["labels"], dtype=torch.long)

    losses, names = train(cfg, images, labels, cfg["weight_decay"], 1.0)
    variants = {}
    for name, change in cfg.get("variants", {}).items():
        wd = change.get("weight_decay", cfg["weight_decay"])
        # Omnigrok's α multiplies PyTorch's init; groklab's parameters already carry init_scale.
        scale = change.get("init_scale", cfg["init_scale"]) / cfg["init_scale"]
        v_losses, v_names = train(cfg, images, labels, wd, scale)
        variants[name] = {"losses": v_losses, "params": final(v_names)}

    # Omnigrok's init: PyTorch's own, then every parameter × α.
    torch.manual_seed(0)
    fresh = omnigrok_mlp(images[0].numel(), cfg["width"], cfg["depth"], cfg["classes"])
    init_std = {
        name: (tensor * cfg["init_scale"]).std().item()
        for name, (tensor, transposed) in tensor_map(fresh, cfg["depth"]).items()
        if transposed
    }

    with open(sys.argv[2], "w") as f:
        json.dump({"losses": losses, "params": final(names), "variants": variants, "torch_init_std": init_std}, f)


if __name__ == "__main__":
    main()
