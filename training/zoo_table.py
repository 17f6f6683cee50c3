"""Prints the zoo's results table (markdown) from models/*/meta.json, for training/README.md."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO  # noqa: E402

zoo = os.environ.get('ZOO_OUT_DIR', os.path.join(REPO, 'models'))
names = json.load(open(os.path.join(zoo, 'index.json')))['models']
metas = {n: json.load(open(os.path.join(zoo, n, 'meta.json'))) for n in names}
teacher = metas['teacher']['pytorchTop1']
print('| model | β | latent | est. bytes/image | before refit | top-1 PyTorch (10k) | Δ vs teacher (points) | MACs | params |')
print('|---|---|---|---|---|---|---|---|---|')
for n, m in metas.items():
    b = m.get('bottleneck', {})
    latent = 'x'.join(str(v) for v in b['latentShape']) if b else '-'
    if m['kind'] == 'student':
        rate = f"{b['estimatedBytesPerImage']:.2f}"
    elif m['kind'] == 'channel-reduction':
        rate = f"{b['bytesPerImage8bit']} (8-bit, raw)"
    else:
        rate = '-'
    before = f"{b['estimatedBytesBeforeRefit']:.2f}" if 'estimatedBytesBeforeRefit' in b else '-'
    top1 = f"{100 * m['pytorchTop1']:.2f}%"
    if 'pytorchTop1Quant8' in m:
        top1 = f"{100 * m['pytorchTop1Quant8']:.2f}% (8-bit latent; float {100 * m['pytorchTop1']:.2f}%)"
    acc = m.get('pytorchTop1Quant8', m['pytorchTop1'])
    delta = '-' if n == 'teacher' else f"{100 * (acc - teacher):+.2f}"
    print(f"| {n} | {m.get('beta', '-')} | {latent} | {rate} | {before} | {top1} | {delta} | {m['macs'] / 1e6:.2f} M | {m['params']} |")
