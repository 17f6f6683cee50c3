"""The SC2 benchmark's other methods (issue 18): neural input codecs, End-to-End, hyperprior
students. Model definitions shared by train_methods.py and export_methods.py.

- `ImageCodec`: a learned image codec on the 28x28 input (Balle et al. 2017 factorized prior,
  or Balle et al. 2018 scale hyperprior): analysis g_a = conv5x5/2(N) GDN conv5x5/2(N) GDN
  conv3x3(M) = 7x7xM latent; synthesis g_s = conv3x3(N) IGDN up2 conv3x3(N) IGDN up2 conv3x3(1)
  (nearest upsampling + conv instead of transposed convs, as the students' decoder). Trained on
  lambda * 255^2 * MSE (pixels in [0, 1]) + bits per pixel. The server runs the frozen teacher
  on the decoded image, clamped to [0, 1].
- `Hyperprior`: h_a = [|y|] conv3x3(Nh) ReLU conv3x3/2(Nz) (7x7 -> 4x4); z has its own
  factorized prior; h_s = convT3x3/2(Nh) ReLU conv3x3(Nh) ReLU conv3x3(C or 2C) -> (means),
  scales = max(softplus(.), SCALE_BOUND). y is coded under a discretised Gaussian of that
  scale (and mean); at inference y_hat = round(y - mu) + mu. Scale-only for the image codec
  (Balle 2018), mean-scale for the hyperprior student (Minnen et al. 2018, as SC2 reports it).
- End-to-End (Singh et al. 2020) is the students' network (common.Student) trained from
  scratch with cross-entropy + beta * bits and no teacher.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import GDN, REPO, EntropyBottleneck, Teacher

SCALE_BOUND = 0.11
# CompressAI's default scale table: 64 scales log-spaced from the scale bound to 256.
SCALE_TABLE = [float(v) for v in np.exp(np.linspace(math.log(SCALE_BOUND), math.log(256.0), 64))]
LIKELIHOOD_BOUND = 1e-9
TEACHER_DIR = os.path.join(REPO, 'models', 'teacher')


def std_cdf(x):
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def gaussian_likelihood(y, scales, means):
    """Probability of the unit bin around y under N(means, scales), floored at 1e-9."""
    v = (y - means).abs()
    lik = std_cdf((0.5 - v) / scales) - std_cdf((-0.5 - v) / scales)
    return lik.clamp_min(LIKELIHOOD_BOUND)


class Hyperprior(nn.Module):
    """Side information z = h_a(y) under a factorized prior; h_s(z_hat) gives the (mean and)
    scale of each latent element."""

    def __init__(self, ch, hidden=32, z_ch=4, means=False):
        super().__init__()
        self.ch, self.means = ch, means
        self.ha1 = nn.Conv2d(ch, hidden, 3, 1, 1)
        self.ha2 = nn.Conv2d(hidden, z_ch, 3, 2, 1)
        self.hs1 = nn.ConvTranspose2d(z_ch, hidden, 3, 2, 1)
        self.hs2 = nn.Conv2d(hidden, hidden, 3, 1, 1)
        self.hs3 = nn.Conv2d(hidden, ch * (2 if means else 1), 3, 1, 1)
        self.z_bottleneck = EntropyBottleneck(z_ch)

    def analysis(self, y):
        return self.ha2(F.relu(self.ha1(y if self.means else y.abs())))

    def synthesis(self, z_hat):
        o = self.hs3(F.relu(self.hs2(F.relu(self.hs1(z_hat)))))
        if self.means:
            mu, raw = o[:, :self.ch], o[:, self.ch:]
        else:
            mu, raw = torch.zeros_like(o), o
        return mu, F.softplus(raw).clamp_min(SCALE_BOUND)

    def forward(self, y, training):
        """(y as the decoder sees it, likelihoods of y, likelihoods of z, scales)."""
        z = self.analysis(y)
        z_t, lik_z = self.z_bottleneck(z, training)
        mu, sigma = self.synthesis(z_t)
        y_t = y + torch.empty_like(y).uniform_(-0.5, 0.5) if training else torch.round(y - mu) + mu
        return y_t, gaussian_likelihood(y_t, sigma, mu), lik_z, sigma


class ImageCodec(nn.Module):
    """Learned image codec: 28x28x1 (normalised input) -> 7x7xM latent -> 28x28x1 pixels in [0,1]."""

    def __init__(self, prior, hidden=32, latent=16, mean=0.0, std=1.0):
        super().__init__()
        self.prior, self.latent, self.mean, self.std = prior, latent, mean, std
        self.enc1 = nn.Conv2d(1, hidden, 5, 2, 2)
        self.gdn1 = GDN(hidden)
        self.enc2 = nn.Conv2d(hidden, hidden, 5, 2, 2)
        self.gdn2 = GDN(hidden)
        self.enc3 = nn.Conv2d(hidden, latent, 3, 1, 1)
        self.dec1 = nn.Conv2d(latent, hidden, 3, 1, 1)
        self.igdn1 = GDN(hidden, inverse=True)
        self.dec2 = nn.Conv2d(hidden, hidden, 3, 1, 1)
        self.igdn2 = GDN(hidden, inverse=True)
        self.dec3 = nn.Conv2d(hidden, 1, 3, 1, 1)
        if prior == 'factorized':
            self.entropy_bottleneck = EntropyBottleneck(latent)
            self.hyper = None
        else:
            self.entropy_bottleneck = None
            self.hyper = Hyperprior(latent, means=False)

    def encode(self, x):
        return self.enc3(self.gdn2(self.enc2(self.gdn1(self.enc1(x)))))

    def decode(self, y_hat):
        h = self.igdn1(self.dec1(y_hat))
        h = self.igdn2(self.dec2(F.interpolate(h, scale_factor=2, mode='nearest')))
        return self.dec3(F.interpolate(h, scale_factor=2, mode='nearest'))

    def forward(self, x, training):
        """(reconstruction in pixel units, bits per image, latent as decoded)."""
        y = self.encode(x)
        if self.entropy_bottleneck is not None:
            y_t, lik = self.entropy_bottleneck(y, training)
            b = -torch.log2(lik).flatten(1).sum(1)
        else:
            y_t, lik_y, lik_z, _ = self.hyper(y, training)
            b = -torch.log2(lik_y).flatten(1).sum(1) - torch.log2(lik_z).flatten(1).sum(1)
        return self.decode(y_t), b, y_t


class HyperStudent(nn.Module):
    """The students' encoder and decoder (common.Student without its factorized bottleneck)
    with a mean-scale hyperprior on the latent."""

    def __init__(self, student):
        super().__init__()
        self.s = student
        self.hyper = Hyperprior(student.encoder.out.out_channels, means=True)

    def forward_latent(self, x, training):
        y = self.s.encoder(x)
        y_t, lik_y, lik_z, _ = self.hyper(y, training)
        return y_t, -torch.log2(lik_y).flatten(1).sum(1) - torch.log2(lik_z).flatten(1).sum(1)


def load_zoo_teacher():
    """The committed teacher as a PyTorch module, from its tfjs export (BatchNorm is folded
    into the convolutions there: each BN becomes the identity plus the folded bias, eps 0).
    Returns (teacher, mean, std). Its logits equal the tfjs model's to float32 rounding."""
    meta = json.load(open(os.path.join(TEACHER_DIR, 'meta.json')))
    mj = json.load(open(os.path.join(TEACHER_DIR, 'model.json')))
    blob = open(os.path.join(TEACHER_DIR, mj['weightsManifest'][0]['paths'][0]), 'rb').read()
    weights, off = {}, 0
    for w in mj['weightsManifest'][0]['weights']:
        n = int(np.prod(w['shape']))
        weights[w['name']] = np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(w['shape']).copy()
        off += 4 * n
    tw = meta['trainedWith']
    t = Teacher(tw['widths'], tw['blocks'])

    def set_conv(conv, bn, name):
        k = weights[f'{name}/kernel']  # [kh, kw, in, out]
        conv.weight.data.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1)))
        bn.weight.data.fill_(1.0)
        bn.bias.data.copy_(torch.from_numpy(weights[f'{name}/bias']))
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
        bn.eps = 0.0

    set_conv(t.stem_conv, t.stem_bn, 'stem_conv')
    for sname in ('stage1', 'stage2', 'stage3'):
        for j, blk in enumerate(getattr(t, sname)):
            p = f'{sname}_block{j + 1}'
            set_conv(blk.conv1, blk.bn1, f'{p}_conv1')
            set_conv(blk.conv2, blk.bn2, f'{p}_conv2')
            if blk.short is not None:
                set_conv(blk.short[0], blk.short[1], f'{p}_short')
    t.fc.weight.data.copy_(torch.from_numpy(weights['fc/kernel'].T))
    t.fc.bias.data.copy_(torch.from_numpy(weights['fc/bias']))
    t.eval()
    for p in t.parameters():
        p.requires_grad_(False)
    return t, float(meta['input']['mean']), float(meta['input']['std'])
