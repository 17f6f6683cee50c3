"""Peer of `npm run bench -- pipeline`: the zoo teacher in PyTorch on the CPU.

The network is rebuilt from the exported tfjs files themselves (models/teacher/model.json and
its weight shard), layer by layer, so PyTorch runs exactly the weights tfjs runs. Prints one
JSON object: images/s with 1 thread and with all threads, torch version, and the predicted
classes (for an agreement check with tfjs).

usage: python3 bench/pipeline_peer.py MODEL_DIR DATA_DIR N BATCH
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_weights(model_dir, manifest):
    weights = {}
    for group in manifest:
        blob = b''.join(open(os.path.join(model_dir, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            n = int(np.prod(w['shape'])) if w['shape'] else 1
            arr = np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(w['shape'])
            weights[w['name']] = torch.from_numpy(arr.copy())
            off += 4 * n
    return weights


def build(model_dir):
    """Returns forward(x NCHW) -> logits for a tfjs layers model of the teacher's layer types."""
    mj = json.load(open(os.path.join(model_dir, 'model.json')))
    w = load_weights(model_dir, mj['weightsManifest'])
    cfg = mj['modelTopology']['config']
    out_name = cfg['output_layers'][0][0]
    steps = []
    for layer in cfg['layers']:
        cls, c, name = layer['class_name'], layer['config'], layer['name']
        ins = [n[0] for n in layer['inbound_nodes'][0]] if layer['inbound_nodes'] else []
        if cls == 'InputLayer':
            continue
        if cls == 'Conv2D':
            k = w[f'{name}/kernel'].permute(3, 2, 0, 1).contiguous()
            b = w.get(f'{name}/bias')
            pad = (c['kernel_size'][0] - 1) // 2 if c['padding'] == 'same' else 0
            if c['padding'] == 'same' and c['strides'][0] != 1:
                raise ValueError(f'{name}: strided "same" convolution is not symmetric in PyTorch')
            act = c.get('activation', 'linear')
            steps.append((name, ins, lambda x, k=k, b=b, s=c['strides'][0], p=pad, a=act:
                          (F.relu if a == 'relu' else (lambda t: t))(F.conv2d(x, k, b, s, p))))
        elif cls == 'ZeroPadding2D':
            (t, bo), (l, r) = c['padding']
            steps.append((name, ins, lambda x, pad=(l, r, t, bo): F.pad(x, pad)))
        elif cls == 'Activation':
            if c['activation'] != 'relu':
                raise ValueError(f'{name}: activation {c["activation"]} not supported')
            steps.append((name, ins, F.relu))
        elif cls == 'Add':
            steps.append((name, ins, None))
        elif cls == 'GlobalAveragePooling2D':
            steps.append((name, ins, lambda x: x.mean(dim=(2, 3))))
        elif cls == 'Dense':
            kw, kb = w[f'{name}/kernel'].t().contiguous(), w.get(f'{name}/bias')
            steps.append((name, ins, lambda x, kw=kw, kb=kb: F.linear(x, kw, kb)))
        else:
            raise ValueError(f'layer class {cls} not supported by this peer')

    def forward(x):
        env = {'input': x}
        for name, ins, fn in steps:
            env[name] = env[ins[0]] + env[ins[1]] if fn is None else fn(env[ins[0]])
        return env[out_name]
    return forward


def main():
    model_dir, data_dir, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    meta = json.load(open(os.path.join(model_dir, 'meta.json')))
    mean, std = meta['input']['mean'], meta['input']['std']
    images = read_idx(os.path.join(data_dir, 't10k-images-idx3-ubyte.gz'))[:n]
    x = (torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1) - mean) / std
    forward = build(model_dir)
    result = {'torch': torch.__version__, 'n': n, 'batch': batch}
    preds = None
    for label, threads in (('one_thread', 1), ('all_threads', os.cpu_count() or 1)):
        torch.set_num_threads(threads)
        with torch.no_grad():
            forward(x[:batch])  # warm-up
            t0 = time.perf_counter()
            out = [forward(x[i:i + batch]).argmax(1) for i in range(0, n, batch)]
            dt = time.perf_counter() - t0
        preds = torch.cat(out).tolist()
        result[f'images_per_s_{label}'] = n / dt
        result[f'threads_{label}'] = threads
    result['preds'] = preds
    print(json.dumps(result))


if __name__ == '__main__':
    main()
