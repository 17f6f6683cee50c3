"""Exports every zoo model (models/index.json) to ONNX, next to its tfjs files: models/<name>/model.onnx.

Each model is rebuilt in PyTorch from the exported tfjs LayersModel (model.json + weight shard: the
weights the zoo ships, BatchNorm already folded), checked against the training run's PyTorch logits
in golden.json, and written with torch.onnx.export. The network is the PyTorch one (NCHW, input
[batch, 1, 28, 28], dynamic batch); GDN and IGDN become standard operators (Mul, 1x1 Conv, Sqrt,
Div/Mul), the students' LatentQuantizer Sub, Round, Add. Every split point of meta.json is the name
of the ONNX tensor the layer outputs (its NCHW form; splitsim codes it channel-last, as tfjs does),
so pipelines are named alike on both runtimes.

Needs Debian's python3-torch and python3-onnx (no network). Run from anywhere:
    python3 training/export_onnx.py [NAME ...]      # default: every model of models/index.json
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, load_split, to_input  # noqa: E402

ZOO = os.environ.get('ZOO_OUT_DIR', os.path.join(REPO, 'models'))
OPSET = 17
GOLDEN_TOL = 1e-4


class KerasGraph(nn.Module):
    """The layers of a tfjs/Keras topology run in PyTorch (NCHW), returning the output and named tensors."""

    def __init__(self, model_json, blob, where):
        super().__init__()
        top = model_json['modelTopology']
        top = top.get('model_config', top)
        cfg = top['config']
        self.where = where
        self.layers = cfg['layers']
        self.output = cfg['output_layers'][0][0]
        self.input = cfg['input_layers'][0][0]
        specs = [w for g in model_json['weightsManifest'] for w in g['weights']]
        off = 0
        self.w = {}
        for s in specs:
            if s.get('dtype', 'float32') != 'float32':
                raise SystemExit(f'{where}: weight {s["name"]} is {s["dtype"]}; only float32 weights are converted')
            n = int(np.prod(s['shape'])) if s['shape'] else 1
            self.w[s['name']] = np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(s['shape']).copy()
            off += 4 * n
        if off != len(blob):
            raise SystemExit(f'{where}: the weight shards hold {len(blob)} bytes, the manifest describes {off}')
        self.params = nn.ParameterDict()
        for name, arr in self.w.items():
            self.params[name.replace('/', '__')] = nn.Parameter(torch.from_numpy(arr), requires_grad=False)

        # A symmetric ZeroPadding2D whose only consumer is a 'valid' Conv2D is that conv's own
        # padding (how PyTorch wrote it, and one Conv node in ONNX).
        consumers = {}
        for layer in self.layers:
            for i in (layer['inbound_nodes'][0] if layer['inbound_nodes'] else []):
                consumers.setdefault(i[0], []).append(layer)
        self.conv_pad = {}
        self.folded = set()
        for layer in self.layers:
            c = layer['config']
            if layer['class_name'] != 'ZeroPadding2D':
                continue
            (t, b), (l, r) = c['padding']
            users = consumers.get(c['name'], [])
            if t == b == l == r and len(users) == 1 and users[0]['class_name'] == 'Conv2D' and users[0]['config']['padding'] == 'valid':
                self.conv_pad[users[0]['config']['name']] = t
                self.folded.add(c['name'])

    def weight(self, layer, name):
        return self.params[f'{layer}__{name}']

    def forward(self, x, names=()):
        t = {self.input: x}
        for layer in self.layers:
            cls, c, name = layer['class_name'], layer['config'], layer['config']['name']
            if cls == 'InputLayer':
                continue
            ins = [t[i[0]] for i in layer['inbound_nodes'][0]]
            t[name] = self.apply(cls, c, name, ins)
        return (t[self.output], *[t[n] for n in names])

    def apply(self, cls, c, name, ins):
        x = ins[0]
        if cls == 'Conv2D':
            if c.get('dilation_rate', [1, 1]) != [1, 1] or c.get('groups', 1) != 1:
                raise SystemExit(f'{self.where}: layer {name}: dilated or grouped Conv2D is not converted')
            k = self.weight(name, 'kernel').permute(3, 2, 0, 1)  # [kh,kw,in,out] -> [out,in,kh,kw]
            kh = int(self.w[f'{name}/kernel'].shape[0])
            stride = c['strides'][0]
            if c['padding'] == 'same':
                if stride != 1 or kh % 2 == 0:
                    raise SystemExit(f'{self.where}: layer {name}: "same" padding with stride {stride} / even kernel is not converted')
                pad = kh // 2
            else:
                pad = self.conv_pad.get(name, 0)
            b = self.weight(name, 'bias') if c.get('use_bias', True) else None
            return self.activation(F.conv2d(x, k, b, stride=stride, padding=pad), c.get('activation', 'linear'), name)
        if cls == 'ZeroPadding2D':
            if name in self.folded:
                return x
            (t, bt), (l, r) = c['padding']
            return F.pad(x, (l, r, t, bt))
        if cls == 'Activation':
            return self.activation(x, c['activation'], name)
        if cls == 'Add':
            out = ins[0]
            for y in ins[1:]:
                out = out + y
            return out
        if cls == 'GlobalAveragePooling2D':
            return x.mean(dim=(2, 3))
        if cls == 'Dense':
            if x.dim() != 2:
                raise SystemExit(f'{self.where}: layer {name}: Dense on a {x.dim()}-D tensor is not converted')
            b = self.weight(name, 'bias') if c.get('use_bias', True) else None
            y = F.linear(x, self.weight(name, 'kernel').t(), b)
            return self.activation(y, c.get('activation', 'linear'), name)
        if cls in ('GDN', 'IGDN'):
            ch = int(c['channels'])
            gamma = self.weight(name, 'gamma').reshape(ch, ch, 1, 1)  # gamma[c][j]: input j -> output c
            norm = torch.sqrt(F.conv2d(x * x, gamma, self.weight(name, 'beta')))
            return x * norm if cls == 'IGDN' else x / norm
        if cls == 'LatentQuantizer':
            m = self.weight(name, 'medians').view(1, -1, 1, 1)
            return torch.round(x - m) + m
        if cls == 'UpSampling2D':
            if c.get('interpolation', 'nearest') != 'nearest':
                raise SystemExit(f'{self.where}: layer {name}: only nearest UpSampling2D is converted')
            sh, sw = c['size']
            return F.interpolate(x, scale_factor=(float(sh), float(sw)), mode='nearest')
        if cls == 'ReLU':  # the neural input codecs' decoded image, clamped to [0, max_value]
            return torch.clamp(x, min=0.0, max=float(c['max_value'])) if c.get('max_value') is not None else F.relu(x)
        if cls == 'Rescaling':  # ... normalised to the teacher's input
            return x * float(c['scale']) + float(c.get('offset', 0.0))
        raise SystemExit(f'{self.where}: layer {name} (class {cls}) has no ONNX conversion here')

    def activation(self, x, act, name):
        if act == 'linear':
            return x
        if act == 'relu':
            return F.relu(x)
        raise SystemExit(f'{self.where}: layer {name}: activation {act} is not converted')


def export(name, xte):
    d = os.path.join(ZOO, name)
    mj_path = os.path.join(d, 'model.json')
    with open(mj_path) as f:
        model_json = json.load(f)
    with open(os.path.join(d, 'meta.json')) as f:
        meta = json.load(f)
    with open(os.path.join(d, 'golden.json')) as f:
        golden = json.load(f)
    blob = b''.join(open(os.path.join(d, p), 'rb').read() for g in model_json['weightsManifest'] for p in g['paths'])
    net = KerasGraph(model_json, blob, mj_path).eval()
    splits = list(meta['splitPoints'])
    x = xte[golden['indices']]
    with torch.no_grad():
        logits = net(x)[0]
    diff = float((logits - torch.tensor(golden['logits'])).abs().max())
    if diff > GOLDEN_TOL:
        raise SystemExit(f'{d}: the rebuilt network differs from golden.json by {diff:.2e} (limit {GOLDEN_TOL:.0e})')

    class Export(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, inp):
            return self.net(inp, splits)

    out = os.path.join(d, 'model.onnx')
    tmp = out + '.tmp'
    dyn = {n: {0: 'batch'} for n in ['input', 'logits', *splits]}
    torch.onnx.export(Export().eval(), x[:2], tmp, opset_version=OPSET, input_names=['input'],
                      output_names=['logits', *splits], dynamic_axes=dyn, do_constant_folding=True)
    m = onnx.load(tmp)
    # The split tensors were outputs only so that they carry the layer names; the model has one output.
    keep = [o for o in m.graph.output if o.name == 'logits']
    del m.graph.output[:]
    m.graph.output.extend(keep)
    m = onnx.shape_inference.infer_shapes(m)
    sources = {f: hashlib.sha256(open(os.path.join(d, f), 'rb').read()).hexdigest() for f in ['model.json', *[p for g in model_json['weightsManifest'] for p in g['paths']]]}
    m.producer_name = 'splitsim training/export_onnx.py'
    m.producer_version = f'torch {torch.__version__}'
    m.doc_string = f'{name}: rebuilt in PyTorch from the tfjs export and written by torch.onnx.export (opset {OPSET})'
    for k, v in {'splitsim.model': name, 'splitsim.splitPoints': ','.join(splits),
                 'splitsim.goldenMaxAbsDiff': f'{diff:.3e}', **{f'splitsim.sha256.{f}': h for f, h in sources.items()}}.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    names = {o for n in m.graph.node for o in n.output}
    missing = [s for s in splits if s not in names]
    if missing:
        raise SystemExit(f'{out}: split point tensor(s) {", ".join(missing)} lost in export')
    onnx.save(m, tmp)
    os.replace(tmp, out)
    print(f'exported {out}: {len(m.graph.node)} nodes, opset {OPSET}, golden max |dlogit| {diff:.2e}', flush=True)


def main():
    torch.set_num_threads(1)
    with open(os.path.join(ZOO, 'index.json')) as f:
        names = json.load(f)['models']
    wanted = sys.argv[1:] or names
    for n in wanted:
        if n not in names:
            raise SystemExit(f'{n}: not in {os.path.join(ZOO, "index.json")} ({", ".join(names)})')
    xu8, _ = load_split('test')
    for n in wanted:
        with open(os.path.join(ZOO, n, 'meta.json')) as f:
            inp = json.load(f)['input']
        export(n, to_input(xu8[:64], inp['mean'], inp['std']))

if __name__ == '__main__':
    main()
