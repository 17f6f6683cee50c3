"""A small image classifier using the operators a BYO network commonly has beyond a ResNet
(depthwise convolution, ConvTranspose, Resize, Concat) and one splitsim does not analyse
(CumSum): the fixture of test/model/byo-pytorch.test.ts, exported with

    python3 training/byo_onnx.py --module byo_example_net:Net --input 3,32,32 --classes 10 --out net.onnx
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.up = nn.ConvTranspose2d(32, 8, 2, stride=2)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        y = torch.cat([F.relu(self.dw(x)), x], 1)
        y = y.cumsum(3) / 32.0
        y = F.relu(self.up(y))
        y = F.interpolate(y, scale_factor=0.5, mode='nearest')
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
