"""PyTorch peer for the grokfast-97 preset: Lee et al. 2024's own setting, written the way their code is
(github.com/ironjr/grokfast, main.py and grokfast.py), for side-by-side speed and step counts.

  python3 torch_grokfast.py --filter ma --threads 1            # a whole run to 95% test accuracy
  python3 torch_grokfast.py --filter none --threads 1 --bench 20   # median ms per training step

x·y mod p for 0 <= x < p, 0 < y < p as [x, op, y, =]; half the pairs train; a 2-layer causal decoder
(d 128, 4 heads, LayerNorm whose output replaces the stream, GELU MLP 4·d, final LayerNorm, head over
p + 2 tokens without bias); Adam lr 1e-3, betas 0.9/0.98, L2 weight decay, LambdaLR warmup
(factor update/10 for the first 10 updates, starting at 0); batch 512; one test evaluation per epoch.
Run with OPENBLAS_NUM_THREADS=2 on a 2-core machine. Prints a JSON line at the end."""
import argparse, json, math, time
from collections import deque
import torch, torch.nn as nn, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--p', type=int, default=97)
ap.add_argument('--filter', choices=['none', 'ma', 'ema'], default='ma')
ap.add_argument('--window', type=int, default=100)
ap.add_argument('--lamb', type=float, default=None)
ap.add_argument('--alpha', type=float, default=0.98)
ap.add_argument('--wd', type=float, default=None)
ap.add_argument('--steps', type=int, default=3000)
ap.add_argument('--target', type=float, default=0.95)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--bench', type=int, default=0)
a = ap.parse_args()
# The paper's settings per filter when not given.
lamb = a.lamb if a.lamb is not None else {'none': 0.0, 'ma': 5.0, 'ema': 2.0}[a.filter]
wd = a.wd if a.wd is not None else {'none': 0.0, 'ma': 0.01, 'ema': 0.005}[a.filter]
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
p = a.p


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):  # x: [T, B, D]
        t = x.shape[0]
        mask = torch.triu(torch.full((t, t), float('-inf')), diagonal=1)
        x = self.ln_1(x)  # the normalized stream replaces the residual, as in the reference
        x = x + self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Decoder(nn.Module):
    def __init__(self, d=128, layers=2, heads=4, tokens=p + 2, seq=5):
        super().__init__()
        self.tok, self.pos = nn.Embedding(tokens, d), nn.Embedding(seq, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, tokens, bias=False)

    def forward(self, x):  # x: [T, B]
        h = self.tok(x) + self.pos(torch.arange(x.shape[0]).unsqueeze(-1))
        for b in self.blocks:
            h = b(h)
        return self.head(self.ln_f(h))


xs, ys = torch.cartesian_prod(torch.arange(p), torch.arange(1, p)).T
data = torch.stack([xs, torch.full_like(xs, p + 1), ys, torch.full_like(xs, p), xs * ys % p])
train_idx, test_idx = torch.randperm(data.shape[1]).split(data.shape[1] // 2)
train, test = data[:, train_idx], data[:, test_idx]

model = Decoder()
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=wd, betas=(0.9, 0.98))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda u: 1 if u > 10 else u / 10)
state = None


def apply_filter():
    global state
    params = [(n, q) for n, q in model.named_parameters() if q.grad is not None]
    if a.filter == 'ema':
        if state is None:
            state = {n: q.grad.detach().clone() for n, q in params}
        for n, q in params:
            state[n] = state[n] * a.alpha + q.grad.detach() * (1 - a.alpha)
            q.grad = q.grad + state[n] * lamb
    elif a.filter == 'ma':
        if state is None:
            state = {n: deque(maxlen=a.window) for n, _ in params}
        for n, q in params:
            state[n].append(q.grad.detach().clone())
            if len(state[n]) == a.window:
                q.grad = q.grad + sum(state[n]) / len(state[n]) * lamb


def train_step(batch):
    logits = model(batch[:-1])
    loss = F.cross_entropy(logits[-1], batch[-1])
    model.zero_grad()
    loss.backward()
    apply_filter()
    opt.step()
    sched.step()


if a.bench:
    batches = torch.split(train, 512, dim=1)[:9]  # full batches only
    times = []
    for i in range(a.bench + 3):
        t0 = time.perf_counter()
        train_step(batches[i % len(batches)])
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({'ms_per_step': times[len(times) // 2], 'filter': a.filter}))
    raise SystemExit(0)

start = time.perf_counter()
step, reached = 0, None
while step < a.steps and reached is None:
    train = train[:, torch.randperm(train.shape[1])]
    model.train()
    for batch in torch.split(train, 512, dim=1):
        train_step(batch)
        step += 1
    model.eval()
    with torch.no_grad():
        correct = sum((model(b[:-1])[-1].argmax(-1) == b[-1]).sum().item() for b in torch.split(test, 4096, dim=1))
    acc = correct / test.shape[1]
    if acc >= a.target:
        reached = step
print(json.dumps({'filter': a.filter, 'lamb': lamb, 'weight_decay': wd, 'steps_to_target': reached,
                  'target': a.target, 'steps': step, 'wall_s': round(time.perf_counter() - start, 1)}))
