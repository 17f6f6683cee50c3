"""Exports a PyTorch image classifier to ONNX for splitsim (bring your own model).

    python3 training/byo_onnx.py --arch resnet18 --out net.onnx                 # torchvision, random weights
    python3 training/byo_onnx.py --arch mobilenet_v2 --weights ckpt.pth --out net.onnx
    python3 training/byo_onnx.py --module mypkg.models:Net --input 1,28,28 --out net.onnx

then

    splitsim pipelines --model net.onnx                                       # its split points
    splitsim profile --model net.onnx --device raspberry-pi-4                 # per-layer cost
    splitsim measure --model net.onnx --data DIR --labels labels.txt \\
        --resize 256 --crop 224 --channels rgb --scale 'mean=0.485,0.456,0.406;std=0.229,0.224,0.225'

What splitsim needs from the file, and what this script makes sure of:
- one float32 image input, NCHW [batch, C, H, W] with C, H, W fixed (the batch may be dynamic:
  `dynamic_axes` below), and one output of class scores [batch, classes];
- a standard ONNX opset ONNX Runtime runs (17 here); BatchNorm left in eval mode, which the
  exporter folds into the convolutions;
- the exported graph gives the PyTorch logits on a random batch (checked below, max |dlogit|
  printed), so what splitsim measures is the network that was trained.
Split points are found by splitsim in the graph (tensors every input-to-output path crosses);
no annotation is needed. Preprocessing (resize, crop, mean, std) is declared to splitsim, as
the network was trained, not stored in the file.

Needs python3-torch (and python3-torchvision for --arch); no network access.
"""
import argparse
import importlib
import os
import sys

import numpy as np
import torch


def build(args):
    if args.module:
        sys.path.insert(0, os.getcwd())  # a module of the current folder
        mod, _, cls = args.module.partition(':')
        net = getattr(importlib.import_module(mod), cls)()
    else:
        import torchvision
        if not hasattr(torchvision.models, args.arch):
            sys.exit(f'byo_onnx.py: torchvision has no model {args.arch!r}')
        net = getattr(torchvision.models, args.arch)(weights=None, num_classes=args.classes)
    if args.weights:
        state = torch.load(args.weights, map_location='cpu')
        net.load_state_dict(state.get('state_dict', state) if isinstance(state, dict) else state)
    else:
        torch.manual_seed(args.seed)  # random weights: for split-point and cost analysis only
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, as a trained net has
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='resnet18', help='a torchvision.models constructor (default resnet18)')
    p.add_argument('--module', help='MODULE:CLASS of your own nn.Module (constructed without arguments)')
    p.add_argument('--weights', help='a state_dict (.pth); without it the weights are random')
    p.add_argument('--input', default='3,224,224', help='C,H,W of one image (default 3,224,224)')
    p.add_argument('--classes', type=int, default=1000)
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    args = p.parse_args()
    c, h, w = (int(v) for v in args.input.split(','))
    net = build(args)
    x = torch.randn(4, c, h, w, generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        ref = net(x)
        torch.onnx.export(net, x, args.out, opset_version=args.opset, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True)
    check = ''
    try:
        import onnxruntime  # optional: the check also runs in splitsim's own tests
        s = onnxruntime.InferenceSession(args.out, providers=['CPUExecutionProvider'])
        got = s.run(None, {'input': x.numpy()})[0]
        check = f'; ONNX Runtime vs PyTorch max |dlogit| {np.abs(got - ref.numpy()).max():.2e}'
    except ImportError:
        pass
    params = sum(t.numel() for t in net.state_dict().values())
    print(f'wrote {args.out}: {args.module or args.arch}, input 1x{c}x{h}x{w}, {ref.shape[1]} classes, '
          f'{params} parameter values, opset {args.opset}{check}')


if __name__ == '__main__':
    main()
