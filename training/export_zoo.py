"""Exports the trained zoo to tfjs LayersModel files (Keras topology JSON + float32 weight
shard), with meta.json (split points, MACs, bottleneck, entropy tables) and golden.json
(PyTorch logits for the first 32 test images; students also their integer latent symbols).

Layout conversions: PyTorch NCHW conv kernels [out,in,kh,kw] -> tfjs [kh,kw,in,out];
transposed conv [in,out,kh,kw] -> tfjs [kh,kw,out,in]; Linear [out,in] -> Dense [in,out].
BatchNorm is folded into the preceding convolution. Strided convolutions get an explicit
ZeroPadding2D and 'valid' padding because TF's 'same' pads asymmetrically (0 before, 1 after)
for even inputs while PyTorch pads symmetrically."""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GDN, REPO, Student, Teacher, bits, load_split, to_input  # noqa: E402

CKPT = os.environ.get('ZOO_CKPT_DIR', os.path.join(REPO, 'training', 'checkpoints'))
OUT = os.environ.get('ZOO_OUT_DIR', os.path.join(REPO, 'models'))
GOLDEN_N = 32
PRECISION = 16
TAIL_MASS = 1e-9


class Graph:
    """Collects Keras-style layer configs and the weights they own, in network order."""

    def __init__(self, name):
        self.name = name
        self.layers = []
        self.weights = []  # (name, np.float32 array)
        self.add('InputLayer', 'input', [], batch_input_shape=[None, 28, 28, 1], dtype='float32', sparse=False)

    def add(self, cls, name, inputs, weights=(), **config):
        cfg = dict(name=name, trainable=True, dtype='float32')
        cfg.update(config)
        self.layers.append({'class_name': cls, 'config': cfg, 'name': name,
                            'inbound_nodes': [[[i, 0, 0, {}] for i in inputs]] if inputs else []})
        for wname, arr in weights:
            self.weights.append((f'{name}/{wname}', np.ascontiguousarray(arr, dtype=np.float32)))
        return name

    def conv(self, name, x, weight, bias, stride, pad, activation='linear'):
        """PyTorch-equivalent Conv2D: symmetric padding `pad` as a ZeroPadding2D layer when stride > 1."""
        k = weight.shape[2]
        if stride > 1 and pad > 0:
            x = self.add('ZeroPadding2D', f'{name}_pad', [x], padding=[[pad, pad], [pad, pad]],
                         data_format='channels_last')
            padding = 'valid'
        else:
            assert pad in (0, (k - 1) // 2)
            padding = 'same' if pad else 'valid'
        return self.add('Conv2D', name, [x], [('kernel', weight.transpose(2, 3, 1, 0)), ('bias', bias)],
                        filters=int(weight.shape[0]), kernel_size=[k, k], strides=[stride, stride],
                        padding=padding, data_format='channels_last', dilation_rate=[1, 1],
                        activation=activation, use_bias=True)

    def topology(self, output):
        return {'class_name': 'Model',
                'config': {'name': self.name, 'layers': self.layers, 'input_layers': [['input', 0, 0]],
                           'output_layers': [[output, 0, 0]]},
                'keras_version': 'tfjs-layers 4.22 compatible (written by splitsim training/export_zoo.py)',
                'backend': 'tensor_flow.js'}


def fold(conv, bn):
    """Conv (no bias) + eval-mode BatchNorm -> kernel, bias as numpy."""
    w = conv.weight.detach().double()
    s = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    wf = w * s.view(-1, 1, 1, 1)
    bf = bn.bias.detach().double() - bn.running_mean.double() * s
    return wf.numpy().astype(np.float32), bf.numpy().astype(np.float32)


def np32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def add_block(g, x, blk, name):
    w1, b1 = fold(blk.conv1, blk.bn1)
    h = g.conv(f'{name}_conv1', x, w1, b1, blk.conv1.stride[0], blk.conv1.padding[0])
    h = g.add('Activation', f'{name}_relu1', [h], activation='relu')
    w2, b2 = fold(blk.conv2, blk.bn2)
    h = g.conv(f'{name}_conv2', h, w2, b2, 1, 1)
    s = x
    if blk.short is not None:
        ws, bs = fold(blk.short[0], blk.short[1])
        s = g.conv(f'{name}_short', x, ws, bs, blk.short[0].stride[0], 0)
    a = g.add('Add', f'{name}_add', [h, s])
    return a


def add_stage(g, x, stage, stage_name):
    n = len(stage)
    for j, blk in enumerate(stage):
        a = add_block(g, x, blk, f'{stage_name}_block{j + 1}')
        # the stage's last ReLU carries the stage name: it is the only tensor leaving the stage
        x = g.add('Activation', stage_name if j == n - 1 else f'{stage_name}_block{j + 1}_out', [a], activation='relu')
    return x


def add_head_tail(g, x, stage3, fc):
    x = add_stage(g, x, stage3, 'stage3')
    x = g.add('GlobalAveragePooling2D', 'pool', [x], data_format='channels_last')
    return g.add('Dense', 'fc', [x], [('kernel', np32(fc.weight).T), ('bias', np32(fc.bias))], units=int(fc.out_features),
                 activation='linear', use_bias=True)


def gdn_layer(g, name, x, gdn):
    return g.add('IGDN' if gdn.inverse else 'GDN', name, [x], [('beta', np32(gdn.beta())), ('gamma', np32(gdn.gamma()))],
                 channels=int(gdn.beta_raw.shape[0]))


def teacher_graph(t):
    g = Graph('teacher')
    w, b = fold(t.stem_conv, t.stem_bn)
    x = g.conv('stem_conv', 'input', w, b, 1, 1)
    x = g.add('Activation', 'stem', [x], activation='relu')
    x = add_stage(g, x, t.stage1, 'stage1')
    x = add_stage(g, x, t.stage2, 'stage2')
    return g, add_head_tail(g, x, t.stage3, t.fc)


def student_graph(name, s):
    g = Graph(name)
    e, d = s.encoder, s.decoder
    x = 'input'
    for i, (conv, gdn) in enumerate(zip(e.convs, e.gdns)):
        x = g.conv(f'enc_conv{i + 1}', x, np32(conv.weight), np32(conv.bias), conv.stride[0], conv.padding[0])
        x = gdn_layer(g, f'enc_gdn{i + 1}', x, gdn)
    out = e.out
    if s.entropy_bottleneck is not None:
        x = g.conv('enc_out', x, np32(out.weight), np32(out.bias), out.stride[0], out.padding[0])
        x = g.add('LatentQuantizer', 'bottleneck', [x], [('medians', np32(s.entropy_bottleneck.medians))],
                  channels=int(out.out_channels))
    else:
        x = g.conv('bottleneck', x, np32(out.weight), np32(out.bias), out.stride[0], out.padding[0])
    for i, (conv, igdn) in enumerate(zip(d.convs, d.igdns)):
        x = g.conv(f'dec_conv{i + 1}', x, np32(conv.weight), np32(conv.bias), conv.stride[0], conv.padding[0])
        x = gdn_layer(g, f'dec_igdn{i + 1}', x, igdn)
    x = g.conv('dec_narrow', x, np32(d.narrow.weight), np32(d.narrow.bias), 1, 0)
    # nearest: out[i,j] = in[i//2, j//2], as F.interpolate(scale_factor=2, mode='nearest')
    x = g.add('UpSampling2D', 'dec_up', [x], size=[2, 2], data_format='channels_last', interpolation='nearest')
    x = g.conv('dec_out', x, np32(d.out.weight), np32(d.out.bias), 1, 1)
    x = g.add('Activation', 'decoder', [x], activation='relu')
    return g, add_head_tail(g, x, s.stage3, s.fc)


def count_macs(model, x):
    """Multiply-accumulates per image of convs, transposed convs, linears and GDN (a 1x1 conv)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.ConvTranspose2d):
            total[0] += inp[0][0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Conv2d):
            total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features
        elif isinstance(m, GDN):
            total[0] += out[0].numel() * out.shape[1]
    hs = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x[:1])
    for h in hs:
        h.remove()
    return total[0]


def quantized_cdf(pmf, precision):
    """Integer frequencies (each >= 1) summing to 2^precision -> cdf of len(pmf)+1 entries."""
    total = 1 << precision
    freq = np.maximum(1, np.round(np.asarray(pmf, dtype=np.float64) * total)).astype(np.int64)
    diff = total - int(freq.sum())
    order = np.argsort(-freq, kind='stable')
    i = 0
    while diff != 0:
        k = order[i % len(order)]
        if diff > 0:
            freq[k] += diff
            diff = 0
        elif freq[k] > 1:
            take = min(freq[k] - 1, -diff)
            freq[k] -= take
            diff += take
        i += 1
    cdf = np.concatenate([[0], np.cumsum(freq)])
    assert cdf[-1] == total and np.all(np.diff(cdf) >= 1)
    return [int(v) for v in cdf]


def entropy_tables(eb):
    """Per-channel tables for the rANS coder (contract in notes/zoo-contract.md)."""
    med = eb.medians.detach()
    lo = eb.solve_quantile(TAIL_MASS / 2)
    hi = eb.solve_quantile(1 - TAIL_MASS / 2)
    minima = torch.clamp(torch.ceil(med - lo), min=0).long()
    maxima = torch.clamp(torch.ceil(hi - med), min=0).long()
    min_q, lengths, cdfs, pmfs = [], [], [], []
    for c in range(eb.ch):
        qs = torch.arange(-minima[c].item(), maxima[c].item() + 1, dtype=torch.float32)
        v = (qs + med[c]).view(1, 1, -1).expand(eb.ch, 1, -1)
        with torch.no_grad():
            lower = eb.logits_cumulative(v - 0.5)[c, 0]
            upper = eb.logits_cumulative(v + 0.5)[c, 0]
        sign = -torch.sign(lower + upper)
        pmf = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).double()
        tail = (torch.sigmoid(lower[0]) + torch.sigmoid(-upper[-1])).double()
        p = torch.cat([pmf, tail.view(1)]).numpy()
        min_q.append(-int(minima[c]))
        lengths.append(len(p))
        pmfs.append([float(x) for x in p])
        cdfs.append(quantized_cdf(p, PRECISION))
    return dict(precision=PRECISION, minQ=min_q, lengths=lengths, cdfs=cdfs, pmfs=pmfs, likelihoodBound=eb.likelihood_bound)


def write_model(name, graph, output, meta, golden, out_dir=None, generated_by='splitsim training/export_zoo.py'):
    """Writes out_dir/name/ (default: the zoo): model.json + weight shard, meta.json (with the files' hashes
    and the parameter count), golden.json."""
    d = os.path.join(out_dir or OUT, name)
    os.makedirs(d, exist_ok=True)
    blob = b''.join(a.astype('<f4').tobytes() for _, a in graph.weights)
    shard = 'group1-shard1of1.bin'
    model_json = {'format': 'layers-model', 'generatedBy': generated_by,
                  'convertedBy': None, 'modelTopology': graph.topology(output),
                  'weightsManifest': [{'paths': [shard], 'weights': [
                      {'name': n, 'shape': list(a.shape), 'dtype': 'float32'} for n, a in graph.weights]}]}
    files = {'model.json': json.dumps(model_json, indent=1).encode(), shard: blob}
    for fname, data in files.items():
        with open(os.path.join(d, fname), 'wb') as f:
            f.write(data)
    meta['files'] = {fname: hashlib.sha256(data).hexdigest() for fname, data in files.items()}
    meta['params'] = int(sum(a.size for _, a in graph.weights))
    with open(os.path.join(d, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(d, 'golden.json'), 'w') as f:
        json.dump(golden, f)
    print(f'exported {name}: {len(graph.layers)} layers, {meta["params"]} weights, {meta["macs"]} MACs', flush=True)


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    ck = torch.load(os.path.join(CKPT, 'teacher.pt'))
    tcfg, mean, std = ck['cfg'], ck['mean'], ck['std']
    xte_u8, yte = load_split('test')
    xte = to_input(xte_u8, mean, std)
    yte = torch.from_numpy(yte)
    inp = dict(shape=[28, 28, 1], mean=mean, std=std)
    names = []

    teacher = Teacher(tcfg['widths'], tcfg['blocks'])
    teacher.load_state_dict(ck['state'])
    teacher.eval()
    with torch.no_grad():
        logits = torch.cat([teacher(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
    top1 = (logits.argmax(1) == yte).sum().item() / len(yte)
    g, out = teacher_graph(teacher)
    meta = dict(name='teacher', kind='teacher', input=inp, splitPoints=['stem', 'stage1', 'stage2', 'stage3', 'pool'],
                macs=count_macs(teacher, xte), pytorchTop1=top1,
                pytorchTop1First1000=(logits[:1000].argmax(1) == yte[:1000]).sum().item() / 1000,
                trainedWith=dict(ck['cfg'], torch=torch.__version__, device='cpu', trainSeconds=round(ck['train_seconds'])))
    write_model('teacher', g, out, meta, dict(n=GOLDEN_N, indices=list(range(GOLDEN_N)),
                                              logits=logits[:GOLDEN_N].tolist(), labels=yte[:GOLDEN_N].tolist()))
    names.append('teacher')

    others = sorted([f[:-3] for f in os.listdir(CKPT) if f.startswith('student-b') and f.endswith('.pt') and not f.endswith('-stage1.pt')],
                    key=lambda n: float(n[len('student-b'):]))
    if os.path.exists(os.path.join(CKPT, 'channel-reduction.pt')):
        others.append('channel-reduction')
    for name in others:
        sk = torch.load(os.path.join(CKPT, f'{name}.pt'))
        entropy = name != 'channel-reduction'
        s = Student(tcfg['widths'], tcfg['blocks'], sk['cfg']['latent_ch'], entropy)
        s.load_state_dict(sk['state'])
        s.eval()
        with torch.no_grad():
            ys = torch.cat([s.encoder(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
            if entropy:
                eb = s.entropy_bottleneck
                yq, lik = eb(ys, training=False)
                est_bytes = bits(lik).mean().item() / 8
            else:
                yq = ys
            logits = torch.cat([s.tail(s.decoder(yq[i:i + 1000]))[1] for i in range(0, len(xte), 1000)])
        top1 = (logits.argmax(1) == yte).sum().item() / len(yte)
        g, out = student_graph(name, s)
        c = s.encoder.out.out_channels
        bott = dict(layer='bottleneck', latentShape=[int(ys.shape[2]), int(ys.shape[3]), int(c)])
        golden = dict(n=GOLDEN_N, indices=list(range(GOLDEN_N)), logits=logits[:GOLDEN_N].tolist(),
                      labels=yte[:GOLDEN_N].tolist())
        if entropy:
            bott['medians'] = np32(eb.medians).tolist()
            bott['entropy'] = entropy_tables(eb)
            bott['estimatedBytesPerImage'] = est_bytes
            if sk.get('bytes_before_refit') is not None:
                bott['estimatedBytesBeforeRefit'] = sk['bytes_before_refit']
            sym = torch.round(ys[:GOLDEN_N] - eb.medians.view(1, -1, 1, 1)).permute(0, 2, 3, 1)
            golden['symbols'] = dict(layout='NHWC', shape=list(sym.shape), data=[int(v) for v in sym.flatten().tolist()])
            # how close each golden latent value is to a rounding boundary (a flip risk in float32)
            frac = (ys[:GOLDEN_N] - eb.medians.view(1, -1, 1, 1)) - torch.floor(ys[:GOLDEN_N] - eb.medians.view(1, -1, 1, 1))
            golden['minDistanceToRoundingBoundary'] = float((frac - 0.5).abs().min())
            kind = 'student'
        else:
            scale, zp = [torch.tensor(v) for v in sk['qparams']]
            bott['quantBits'] = 8
            bott['scale'] = scale.tolist()
            bott['zeroPoint'] = [int(v) for v in zp.tolist()]
            bott['quantization'] = 'per channel: q = clamp(round(y/scale) + zeroPoint, 0, 255); y ~ (q - zeroPoint) * scale'
            bott['bytesPerImage8bit'] = int(np.prod(bott['latentShape']))
            kind = 'channel-reduction'
        meta = dict(name=name, kind=kind, input=inp, splitPoints=['bottleneck', 'decoder', 'stage3', 'pool'],
                    macs=count_macs(_Full(s), xte), pytorchTop1=top1, bottleneck=bott,
                    pytorchTop1First1000=(logits[:1000].argmax(1) == yte[:1000]).sum().item() / 1000,
                    trainedWith=dict(sk['cfg'], torch=torch.__version__, device='cpu',
                                     trainSeconds=round(sk['train_seconds'])))
        if entropy:
            meta['beta'] = sk['beta']
        else:
            meta['pytorchTop1Quant8'] = sk['eval']['top1']
        write_model(name, g, out, meta, golden)
        names.append(name)

    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump({'models': names}, f, indent=1)


class _Full(nn.Module):
    """Student forward with the latent as the float graph sees it (for MAC counting)."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        return self.s.tail(self.s.decoder(self.s.encoder(x)))[1]


if __name__ == '__main__':
    main()
