"""Shared pieces of the zoo training: data, the teacher, the students' encoder/decoder,
GDN/IGDN and the factorized-prior entropy bottleneck (Balle et al., ICLR 2018)."""
import gzip
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_DIR = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.environ.get('ZOO_LOG_DIR', os.path.join(REPO, 'training', 'logs'))


def logger(name, mode='w'):
    """say(line): prints 'name: line' and appends line to training/logs/<name>.log (ZOO_LOG_DIR)."""
    os.makedirs(LOGS, exist_ok=True)
    log = open(os.path.join(LOGS, f'{name}.log'), mode)

    def say(line):
        print(f'{name}: {line}', flush=True)
        log.write(line + '\n')
        log.flush()
    return say


def read_idx(path):
    """Reads an IDX file (optionally gzip) into a numpy uint8 array."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    """Returns (images uint8 [N,28,28], labels int64 [N]); the test set is read from data/."""
    if split == 'train':
        d, prefix = FASHION_DIR, 'train'
    else:
        d, prefix = os.path.join(REPO, 'data'), 't10k'
    x = read_idx(os.path.join(d, f'{prefix}-images-idx3-ubyte.gz'))
    y = read_idx(os.path.join(d, f'{prefix}-labels-idx1-ubyte.gz'))
    return x, y.astype(np.int64)


def to_input(images_u8, mean, std):
    """uint8 [N,28,28] -> normalised float32 [N,1,28,28] (the contract's input transform)."""
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - mean) / std


def augment(x, gen, pad=2):
    """Random crop with zero padding (in normalised space, pad with the background value) and
    horizontal flip, vectorised over the batch."""
    b = x.shape[0]
    bg = x.min().item()
    xp = F.pad(x, (pad, pad, pad, pad), value=bg)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar)[:, :, None]
    cols = (ox[:, None] + ar)[:, None, :]
    out = xp[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(b, generator=gen) < 0.5
    out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out


# ---------------------------------------------------------------- teacher

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        s = x if self.short is None else self.short(x)
        return F.relu(h + s)


class Teacher(nn.Module):
    """stem -> stage1 (28x28) -> stage2 (14x14) -> stage3 (7x7) -> global avg pool -> fc."""

    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), num_classes=10):
        super().__init__()
        self.widths, self.blocks = tuple(widths), tuple(blocks)
        self.stem_conv = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0])
        stages, cin = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layers = []
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.stage1, self.stage2, self.stage3 = stages
        self.fc = nn.Linear(widths[2], num_classes)

    def stem(self, x):
        return F.relu(self.stem_bn(self.stem_conv(x)))

    def tail_from_stage2(self, h2):
        h3 = self.stage3(h2)
        return h3, self.fc(h3.mean(dim=(2, 3)))

    def forward(self, x):
        h = self.stage2(self.stage1(self.stem(x)))
        return self.tail_from_stage2(h)[1]


# ---------------------------------------------------------------- GDN / entropy model

class GDN(nn.Module):
    """y_c = x_c / sqrt(beta_c + sum_j gamma_cj x_j^2) (inverse: multiply). beta and gamma are
    kept positive by reparameterising them as squares of unconstrained parameters with a floor."""

    def __init__(self, ch, inverse=False, beta_min=1e-6, gamma_init=0.1):
        super().__init__()
        self.inverse = inverse
        self.beta_min = beta_min
        self.pedestal = 2.0 ** -36
        self.beta_raw = nn.Parameter(torch.sqrt(torch.ones(ch) + self.pedestal))
        self.gamma_raw = nn.Parameter(torch.sqrt(gamma_init * torch.eye(ch) + self.pedestal))

    def _lower(self, v, bound):
        # squares of a value clamped from below; gradient passes when clamped to push it back up
        b = math.sqrt(bound + self.pedestal)
        return torch.maximum(v, torch.full_like(v, b))

    def beta(self):
        return self._lower(self.beta_raw, self.beta_min) ** 2 - self.pedestal

    def gamma(self):
        return self._lower(self.gamma_raw, 0.0) ** 2 - self.pedestal

    def forward(self, x):
        c = x.shape[1]
        norm = F.conv2d(x * x, self.gamma().view(c, c, 1, 1), self.beta())
        norm = torch.sqrt(norm)
        return x * norm if self.inverse else x / norm


class EntropyBottleneck(nn.Module):
    """Factorized prior: one learned non-parametric cumulative density per channel
    (filters (3,3,3) between the scalar input and the scalar logit), trained with additive
    uniform noise; quantisation at inference rounds around each channel's median."""

    def __init__(self, ch, filters=(3, 3, 3), init_scale=10.0, likelihood_bound=1e-9):
        super().__init__()
        self.ch = ch
        self.likelihood_bound = likelihood_bound
        f = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / f[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((ch, f[i + 1], f[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(ch, f[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(ch, f[i + 1], 1)))
        self.register_buffer('medians', torch.zeros(ch))

    def logits_cumulative(self, v):
        """v: [C, 1, M] -> logit of the cumulative density at v, [C, 1, M]."""
        logits = v
        for i in range(len(self.matrices)):
            logits = torch.matmul(F.softplus(self.matrices[i]), logits) + self.biases[i]
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i]) * torch.tanh(logits)
        return logits

    def likelihood(self, y):
        """y: [B,C,H,W] (noisy or quantised) -> per-element likelihood of the unit bin around y."""
        b, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        lik = torch.clamp(lik, min=self.likelihood_bound)
        return lik.reshape(c, b, h, w).permute(1, 0, 2, 3)

    def quantize(self, y):
        m = self.medians.view(1, -1, 1, 1)
        return torch.round(y - m) + m

    def forward(self, y, training):
        if training:
            yt = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            yt = self.quantize(y)
        return yt, self.likelihood(yt)

    @torch.no_grad()
    def cdf(self, v):
        """Cumulative density of each channel at v [C, M]."""
        return torch.sigmoid(self.logits_cumulative(v.unsqueeze(1))).squeeze(1)

    @torch.no_grad()
    def solve_quantile(self, target, lo=-1e4, hi=1e4, iters=80):
        """Per-channel x with cdf(x) = target, by bisection (the learned cdf is monotone)."""
        lo_t = torch.full((self.ch, 1), lo)
        hi_t = torch.full((self.ch, 1), hi)
        for _ in range(iters):
            mid = (lo_t + hi_t) / 2
            below = self.cdf(mid) < target
            lo_t = torch.where(below, mid, lo_t)
            hi_t = torch.where(below, hi_t, mid)
        return ((lo_t + hi_t) / 2).squeeze(1)

    @torch.no_grad()
    def update_medians(self):
        self.medians.copy_(self.solve_quantile(0.5))


def bits(likelihoods):
    """Sum of -log2 p per image."""
    return -torch.log2(likelihoods).flatten(1).sum(1)


# ---------------------------------------------------------------- students

# Student shape (the committed zoo): encoder 5x5/2 conv(32) GDN, 5x5/2 conv(48) GDN, 3x3 conv(C)
# = latent 7x7xC; decoder 3x3 conv(64) IGDN, 3x3 conv(64) IGDN, 1x1 conv(32), nearest x2,
# 3x3 conv(out) ReLU. Each entry: (out channels, kernel, stride).
ENCODER_LAYERS = ((32, 5, 2), (48, 5, 2))
DECODER_LAYERS = ((64, 3, 1), (64, 3, 1))
DECODER_NARROW = 32


class Encoder(nn.Module):
    """28x28x1 -> [conv -> GDN]* -> conv = 7x7xC latent (the last conv is the bottleneck)."""

    def __init__(self, latent_ch, layers=ENCODER_LAYERS):
        super().__init__()
        self.convs, self.gdns = nn.ModuleList(), nn.ModuleList()
        cin = 1
        for cout, k, stride in layers:
            self.convs.append(nn.Conv2d(cin, cout, k, stride, k // 2))
            self.gdns.append(GDN(cout))
            cin = cout
        self.out = nn.Conv2d(cin, latent_ch, 3, 1, 1)

    def forward(self, x):
        for conv, gdn in zip(self.convs, self.gdns):
            x = gdn(conv(x))
        return self.out(x)


class Decoder(nn.Module):
    """7x7xC latent -> [conv -> IGDN]* -> 1x1 conv -> nearest x2 -> 3x3 conv -> ReLU = 14x14xout
    (the teacher's stage2 activation shape). Upsampling is nearest x2 followed by a conv rather
    than a transposed conv: this CPU build of torch has no fast transposed-conv kernel. The 1x1
    conv narrows the channels so the one 14x14 conv stays cheap."""

    def __init__(self, latent_ch, out_ch, layers=DECODER_LAYERS, narrow=DECODER_NARROW):
        super().__init__()
        self.convs, self.igdns = nn.ModuleList(), nn.ModuleList()
        cin = latent_ch
        for cout, k, stride in layers:
            self.convs.append(nn.Conv2d(cin, cout, k, stride, k // 2))
            self.igdns.append(GDN(cout, inverse=True))
            cin = cout
        self.narrow = nn.Conv2d(cin, narrow, 1, 1, 0)
        self.out = nn.Conv2d(narrow, out_ch, 3, 1, 1)

    def forward(self, z):
        for conv, igdn in zip(self.convs, self.igdns):
            z = igdn(conv(z))
        h = self.narrow(z)
        return F.relu(self.out(F.interpolate(h, scale_factor=2, mode='nearest')))


class Student(nn.Module):
    """Encoder -> (entropy bottleneck | nothing) -> decoder -> teacher's stage3 + fc."""

    def __init__(self, teacher_widths, teacher_blocks, latent_ch, entropy=True):
        super().__init__()
        self.encoder = Encoder(latent_ch)
        self.entropy_bottleneck = EntropyBottleneck(latent_ch) if entropy else None
        self.decoder = Decoder(latent_ch, teacher_widths[1])
        t = Teacher(teacher_widths, teacher_blocks)
        self.stage3, self.fc = t.stage3, t.fc

    def tail(self, h2):
        h3 = self.stage3(h2)
        return h3, self.fc(h3.mean(dim=(2, 3)))


def stage2_targets(teacher, x):
    """The teacher's stage2 activations (float16) and logits of every image of x, 1,000 at a
    time, and the activations' variance over the first half (the unmirrored images)."""
    feats, logits = [], []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            h2 = teacher.stage2(teacher.stage1(teacher.stem(x[i:i + 1000])))
            feats.append(h2.half())
            logits.append(teacher.tail_from_stage2(h2)[1])
    feats = torch.cat(feats)
    return feats, torch.cat(logits), feats[:len(feats) // 2].float().var().item()
