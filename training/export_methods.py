"""Exports the models of train_methods.py to tfjs LayersModel folders under models/, with
meta.json (split points, MACs, entropy tables, hyperprior networks and Gaussian tables) and
golden.json, and appends them to models/index.json (keeping every name already there).

Neural input codecs (kind `input-codec`): one graph = analysis (device) -> `bottleneck` ->
synthesis -> `decoded` (ReLU clamped to [0, 1], the image the server reconstructs) ->
`normalise` (Rescaling to the teacher's input) -> the committed teacher's layers and weights,
copied from models/teacher. End-to-End models (kind `end-to-end`) have the students' graph
with the factorized `LatentQuantizer` bottleneck. Hyperprior models (the scale-hyperprior input
codec, kind `input-codec`, and the mean-scale students, kind `hyperprior-student`) keep the
latent float in the graph (`bottleneck` is the encoder's last conv): what is quantised depends
on the side information, so the `hyperprior` codec quantises and codes it, and its networks
h_a and h_s are in meta.json (bottleneck.hyperprior), run by the codec on both sides.

Gaussian conditional tables (CompressAI's design): 64 scales log-spaced from 0.11 to 256; the
table of scale s covers symbols -c..c with c = ceil(s * -Phi^-1(tail/2)), tail = 1e-9, plus an
escape entry holding the tail mass; 16-bit frequencies, each >= 1. A latent element of scale
sigma uses the first table whose scale is >= sigma (the last one above 256).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GDN, REPO, Student, bits, load_split, to_input  # noqa: E402
from export_zoo import (GOLDEN_N, PRECISION, TAIL_MASS, Graph, count_macs, entropy_tables, gdn_layer, np32, write_model,  # noqa: E402
                        quantized_cdf, student_graph)
from methods import (LIKELIHOOD_BOUND, SCALE_BOUND, SCALE_TABLE, TEACHER_DIR, HyperStudent, ImageCodec,  # noqa: E402
                     load_zoo_teacher)
from train_methods import CKPT, model_names, parse  # noqa: E402

OUT = os.environ.get('ZOO_OUT_DIR', os.path.join(REPO, 'models'))


def std_quantile(p):
    """Phi^-1(p) by bisection on math.erfc (p in (0, 1))."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def std_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def gaussian_tables():
    """One 16-bit table per scale of SCALE_TABLE: symbols -c..c, then the escape (tail mass)."""
    mult = -std_quantile(TAIL_MASS / 2)
    centers, cdfs = [], []
    for s in SCALE_TABLE:
        c = int(math.ceil(s * mult))
        q = np.arange(-c, c + 1, dtype=np.float64)
        pmf = np.array([std_cdf((v + 0.5) / s) - std_cdf((v - 0.5) / s) for v in q])
        tail = 2 * std_cdf((-c - 0.5) / s)
        centers.append(c)
        cdfs.append(quantized_cdf(np.concatenate([pmf, [tail]]), PRECISION))
    return dict(precision=PRECISION, tailMass=TAIL_MASS, centers=centers, cdfs=cdfs)


def layer_list(mods):
    """Hyperprior network as data for the TypeScript codec (weights in PyTorch layouts)."""
    out = []
    for m in mods:
        if m == 'abs' or m == 'relu':
            out.append({'op': m})
        elif isinstance(m, nn.ConvTranspose2d):
            out.append({'op': 'convT', 'inChannels': m.in_channels, 'outChannels': m.out_channels, 'kernel': m.kernel_size[0],
                        'stride': m.stride[0], 'pad': m.padding[0], 'layout': '[in][out][kh][kw]',
                        'weight': [float(v) for v in np32(m.weight).flatten()], 'bias': [float(v) for v in np32(m.bias)]})
        elif isinstance(m, nn.Conv2d):
            out.append({'op': 'conv', 'inChannels': m.in_channels, 'outChannels': m.out_channels, 'kernel': m.kernel_size[0],
                        'stride': m.stride[0], 'pad': m.padding[0], 'layout': '[out][in][kh][kw]',
                        'weight': [float(v) for v in np32(m.weight).flatten()], 'bias': [float(v) for v in np32(m.bias)]})
        else:
            raise TypeError(m)
    return out


def hyper_meta(hyper, y_train):
    """meta.json's bottleneck.hyperprior of a Hyperprior module; y_train: training latents
    (for the scale range the scale table must cover)."""
    eb = hyper.z_bottleneck
    with torch.no_grad():
        z = hyper.analysis(y_train[:2000])
        sig = torch.cat([hyper.synthesis(eb.quantize(hyper.analysis(y_train[i:i + 2000])))[1]
                         for i in range(0, len(y_train), 2000)])
    macs = count_macs(_Hyper(hyper), y_train)
    return dict(
        means=bool(hyper.means), scaleBound=SCALE_BOUND, scaleTable=SCALE_TABLE,
        scaleRange=[float(sig.min()), float(sig.max())], likelihoodBound=LIKELIHOOD_BOUND,
        gaussian=gaussian_tables(),
        z=dict(latentShape=[int(z.shape[2]), int(z.shape[3]), int(z.shape[1])], medians=np32(eb.medians).tolist(),
               entropy=entropy_tables(eb)),
        analysis=layer_list(([] if hyper.means else ['abs']) + [hyper.ha1, 'relu', hyper.ha2]),
        synthesis=layer_list([hyper.hs1, 'relu', hyper.hs2, 'relu', hyper.hs3]),
        synthesisOutput='first C channels the means, then C raw scales' if hyper.means else 'C raw scales',
        scaleFunction=f'max(softplus(raw), {SCALE_BOUND})', macs=int(macs))


class _Hyper(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.h = h

    def forward(self, y):
        return self.h.synthesis(self.h.z_bottleneck.quantize(self.h.analysis(y)))[1]


class _Wrap(nn.Module):
    def __init__(self, fn, *mods):
        super().__init__()
        self.mods = nn.ModuleList(mods)
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def teacher_layers():
    """The committed teacher's layers (without its InputLayer) and weights, for appending."""
    mj = json.load(open(os.path.join(TEACHER_DIR, 'model.json')))
    blob = open(os.path.join(TEACHER_DIR, mj['weightsManifest'][0]['paths'][0]), 'rb').read()
    ws, off = [], 0
    for w in mj['weightsManifest'][0]['weights']:
        n = int(np.prod(w['shape']))
        ws.append((w['name'], np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(w['shape']).copy()))
        off += 4 * n
    layers = [l for l in mj['modelTopology']['config']['layers'] if l['class_name'] != 'InputLayer']
    return layers, ws, mj['modelTopology']['config']['output_layers'][0][0]


def nic_graph(name, m, mean, std):
    g = Graph(name)
    x = g.conv('enc_conv1', 'input', np32(m.enc1.weight), np32(m.enc1.bias), 2, 2)
    x = gdn_layer(g, 'enc_gdn1', x, m.gdn1)
    x = g.conv('enc_conv2', x, np32(m.enc2.weight), np32(m.enc2.bias), 2, 2)
    x = gdn_layer(g, 'enc_gdn2', x, m.gdn2)
    if m.entropy_bottleneck is not None:
        x = g.conv('enc_out', x, np32(m.enc3.weight), np32(m.enc3.bias), 1, 1)
        x = g.add('LatentQuantizer', 'bottleneck', [x], [('medians', np32(m.entropy_bottleneck.medians))], channels=m.latent)
    else:
        x = g.conv('bottleneck', x, np32(m.enc3.weight), np32(m.enc3.bias), 1, 1)
    x = g.conv('dec_conv1', x, np32(m.dec1.weight), np32(m.dec1.bias), 1, 1)
    x = gdn_layer(g, 'dec_igdn1', x, m.igdn1)
    x = g.add('UpSampling2D', 'dec_up1', [x], size=[2, 2], data_format='channels_last', interpolation='nearest')
    x = g.conv('dec_conv2', x, np32(m.dec2.weight), np32(m.dec2.bias), 1, 1)
    x = gdn_layer(g, 'dec_igdn2', x, m.igdn2)
    x = g.add('UpSampling2D', 'dec_up2', [x], size=[2, 2], data_format='channels_last', interpolation='nearest')
    x = g.conv('dec_out', x, np32(m.dec3.weight), np32(m.dec3.bias), 1, 1)
    x = g.add('ReLU', 'decoded', [x], max_value=1.0)
    x = g.add('Rescaling', 'normalise', [x], scale=1.0 / std, offset=-mean / std)
    layers, ws, out = teacher_layers()
    for l in layers:
        l = json.loads(json.dumps(l))
        for node in l['inbound_nodes']:
            for inb in node:
                if inb[0] == 'input':
                    inb[0] = 'normalise'
        g.layers.append(l)
    g.weights.extend(ws)
    return g, out


def write(name, graph, output, meta, golden):
    write_model(name, graph, output, meta, golden, out_dir=OUT, generated_by='splitsim training/export_methods.py')


def nhwc_int(t):
    p = t.permute(0, 2, 3, 1)
    return dict(layout='NHWC', shape=list(p.shape), data=[int(v) for v in p.flatten().tolist()])


def trained(ck):
    return dict(ck['cfg'], torch=torch.__version__, device='cpu', trainSeconds=round(ck['train_seconds']))


def export_nic(name, ck, teacher, mean, std, xtr, xte, yte, inp):
    prior = ck['prior']
    m = ImageCodec(prior, mean=mean, std=std)
    m.load_state_dict(ck['state'])
    m.eval()
    with torch.no_grad():
        logits, rec_f, tot_bits, se = [], [], 0.0, 0.0
        for i in range(0, len(xte), 1000):
            x = xte[i:i + 1000]
            rec, b, _ = m(x, False)
            rec = rec.clamp(0, 1)
            se += ((rec - (x * std + mean)) ** 2).mean(dim=(1, 2, 3)).sum().item()
            tot_bits += b.sum().item()
            logits.append(teacher((rec - mean) / std))
            rec_f.append(teacher((m.decode(m.encode(x)).clamp(0, 1) - mean) / std))
        logits, rec_f = torch.cat(logits), torch.cat(rec_f)
    top1 = (logits.argmax(1) == yte).float().mean().item()
    psnr = 10 * math.log10(1.0 / (se / len(xte)))
    g, out = nic_graph(name, m, mean, std)
    full = _Wrap(lambda x: teacher((m.decode(m.encode(x)).clamp(0, 1) - mean) / std), m, teacher)
    bott = dict(layer='bottleneck', latentShape=[7, 7, m.latent], estimatedBytesPerImage=tot_bits / len(xte) / 8)
    golden = dict(n=GOLDEN_N, indices=list(range(GOLDEN_N)), labels=yte[:GOLDEN_N].tolist())
    with torch.no_grad():
        ys = m.encode(xte[:GOLDEN_N])
    if prior == 'factorized':
        eb = m.entropy_bottleneck
        bott['medians'] = np32(eb.medians).tolist()
        bott['entropy'] = entropy_tables(eb)
        golden['logits'] = logits[:GOLDEN_N].tolist()
        golden['symbols'] = nhwc_int(torch.round(ys - eb.medians.view(1, -1, 1, 1)))
    else:
        with torch.no_grad():
            ytr = torch.cat([m.encode(xtr[i:i + 2000]) for i in range(0, len(xtr), 2000)])
        bott['hyperprior'] = hyper_meta(m.hyper, ytr)
        golden['logits'] = rec_f[:GOLDEN_N].tolist()  # the graph's float path
        golden['coded'] = coded_golden(m.hyper, ys, logits[:GOLDEN_N])
    meta = dict(name=name, kind='input-codec', input=inp, splitPoints=['bottleneck', 'decoded'], macs=count_macs(full, xte),
                pytorchTop1=top1, pytorchTop1First1000=(logits[:1000].argmax(1) == yte[:1000]).float().mean().item(),
                bottleneck=bott, codec=dict(prior=prior, lmbda=ck['lambda'], psnr=psnr,
                                                              loss='lambda * 255^2 * MSE + bits per pixel'),
                deviceLayers='analysis (enc_*) up to bottleneck', trainedWith=trained(ck))
    write(name, g, out, meta, golden)


def coded_golden(hyper, ys, logits):
    """The hyperprior codec's symbols and the logits of the coded path for the golden images."""
    with torch.no_grad():
        z = hyper.analysis(ys)
        zs = torch.round(z - hyper.z_bottleneck.medians.view(1, -1, 1, 1))
        mu, _ = hyper.synthesis(hyper.z_bottleneck.quantize(z))
        yq = torch.round(ys - mu)
    return dict(zSymbols=nhwc_int(zs), ySymbols=nhwc_int(yq), logits=logits.tolist())


def export_student_like(name, ck, kind, xtr, xte, yte, inp):
    tw = ck['teacher_cfg']
    entropy = kind == 'end-to-end'
    st = Student(tw['widths'], tw['blocks'], ck['cfg']['latent_ch'], entropy)
    hs = None
    if entropy:
        st.load_state_dict(ck['state'])
    else:
        for mm in st.stage3.modules():
            if isinstance(mm, nn.BatchNorm2d):
                mm.eps = 0.0
        hs = HyperStudent(st)
        hs.load_state_dict(ck['state'])
        hs.eval()
    st.eval()
    with torch.no_grad():
        ys = torch.cat([st.encoder(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
        if entropy:
            eb = st.entropy_bottleneck
            yq, lik = eb(ys, training=False)
            est = bits(lik).mean().item() / 8
        else:
            yq, lik_y, lik_z, _ = hs.hyper(ys, training=False)
            est = (bits(lik_y) + bits(lik_z)).mean().item() / 8
        logits = torch.cat([st.tail(st.decoder(yq[i:i + 1000]))[1] for i in range(0, len(xte), 1000)])
        float_logits = st.tail(st.decoder(ys[:GOLDEN_N]))[1]
    top1 = (logits.argmax(1) == yte).float().mean().item()
    g, out = student_graph(name, st)
    bott = dict(layer='bottleneck', latentShape=[int(ys.shape[2]), int(ys.shape[3]), int(ys.shape[1])], estimatedBytesPerImage=est)
    golden = dict(n=GOLDEN_N, indices=list(range(GOLDEN_N)), labels=yte[:GOLDEN_N].tolist())
    if entropy:
        bott['medians'] = np32(eb.medians).tolist()
        bott['entropy'] = entropy_tables(eb)
        golden['logits'] = logits[:GOLDEN_N].tolist()
        golden['symbols'] = nhwc_int(torch.round(ys[:GOLDEN_N] - eb.medians.view(1, -1, 1, 1)))
    else:
        with torch.no_grad():
            ytr = torch.cat([st.encoder(xtr[i:i + 2000]) for i in range(0, len(xtr), 2000)])
        bott['hyperprior'] = hyper_meta(hs.hyper, ytr)
        golden['logits'] = float_logits.tolist()
        golden['coded'] = coded_golden(hs.hyper, ys[:GOLDEN_N], logits[:GOLDEN_N])
    full = _Wrap(lambda x: st.tail(st.decoder(st.encoder(x)))[1], st)
    meta = dict(name=name, kind=kind, input=inp, splitPoints=['bottleneck', 'decoder', 'stage3', 'pool'],
                macs=count_macs(full, xte), pytorchTop1=top1, bottleneck=bott, beta=ck['beta'],
                pytorchTop1First1000=(logits[:1000].argmax(1) == yte[:1000]).float().mean().item(),
                trainedWith=trained(ck))
    write(name, g, out, meta, golden)


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    teacher, mean, std = load_zoo_teacher()
    xtr_u8, _ = load_split('train')
    xte_u8, yte = load_split('test')
    xtr, xte, yte = to_input(xtr_u8, mean, std), to_input(xte_u8, mean, std), torch.from_numpy(yte)
    inp = dict(shape=[28, 28, 1], mean=mean, std=std)
    only = sys.argv[1:]
    done = []
    for name in model_names():
        if only and name not in only:
            continue
        path = os.path.join(CKPT, f'{name}.pt')
        if not os.path.exists(path):
            print(f'{name}: no checkpoint, skipped', flush=True)
            continue
        ck = torch.load(path)
        fam = parse(name)[0]
        if fam == 'nic':
            export_nic(name, ck, teacher, mean, std, xtr, xte, yte, inp)
        else:
            export_student_like(name, ck, 'end-to-end' if fam == 'e2e' else 'hyperprior-student', xtr, xte, yte, inp)
        done.append(name)
    index = os.path.join(OUT, 'index.json')
    names = json.load(open(index))['models'] if os.path.exists(index) else []
    names += [n for n in done if n not in names]
    with open(index, 'w') as f:
        json.dump({'models': names}, f, indent=1)


if __name__ == '__main__':
    main()
