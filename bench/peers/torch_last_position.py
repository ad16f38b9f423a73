"""The PyTorch peer of `npm run bench` for issue 3's stretch target: the nanda-113 model and data
of ../../../shared/peers/torch_grok.py (x+y mod 113, 30% of pairs, one block d=128, 4 heads,
d_mlp 512, AdamW lr 1e-3, wd 1, betas (0.9, 0.98), full batch), but computing only what the loss
reads: keys and values at every position, the query, attention output, MLP and unembedding at the
last position only. For a one-layer model the gradients are those of the full-sequence model.

  OPENBLAS_NUM_THREADS=2 python3 torch_last_position.py --threads 1 --bench 20
prints {"median_ms_per_step": ...} like the full-sequence peer's --bench."""
import argparse, json, math, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--bench', type=int, default=20)
ap.add_argument('--seed', type=int, default=0)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

P, D, HEADS, D_MLP, FRAC = 113, 128, 4, 512, 0.3
pairs = torch.cartesian_prod(torch.arange(P), torch.arange(P))
tokens = torch.cat([pairs, torch.full((P * P, 1), P)], 1)
labels = (pairs[:, 0] + pairs[:, 1]) % P
train = torch.randperm(P * P)[: int(FRAC * P * P)]
x_train, y_train = tokens[train], labels[train]


class LastPositionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(P + 1, D)
        self.pos = nn.Parameter(torch.randn(3, D) / math.sqrt(D))
        self.qkv = nn.Linear(D, 3 * D, bias=False)
        self.out = nn.Linear(D, D, bias=False)
        self.fc1 = nn.Linear(D, D_MLP)
        self.fc2 = nn.Linear(D_MLP, D)
        self.unembed = nn.Linear(D, P, bias=False)

    def forward(self, x):
        h = self.embed(x) + self.pos  # [B, 3, D]
        batch, seq, _ = h.shape
        last = h[:, -1]  # [B, D]
        dh = D // HEADS
        q = F.linear(last, self.qkv.weight[:D]).view(batch, HEADS, 1, dh)
        k, v = F.linear(h, self.qkv.weight[D:]).split(D, -1)
        k = k.view(batch, seq, HEADS, dh).transpose(1, 2)
        v = v.view(batch, seq, HEADS, dh).transpose(1, 2)
        # The last query sees every position: no mask needed.
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(dh)).softmax(-1) @ v  # [B, H, 1, dh]
        last = last + self.out(att.reshape(batch, D))
        last = last + self.fc2(F.relu(self.fc1(last)))
        return self.unembed(last)


model = LastPositionModel()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))


def step():
    loss = F.cross_entropy(model(x_train), y_train)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
times = []
for _ in range(a.bench):
    t0 = time.perf_counter()
    step()
    times.append(1000 * (time.perf_counter() - t0))
print(json.dumps({'median_ms_per_step': round(statistics.median(times), 2)}))
