"""
Exports an IS-Net-style salient-object / background-removal network (the DIS architecture: a U-Net of RSU blocks,
each a small U-Net with dilated bottoms, 1024×1024 input, six sigmoid side outputs upsampled to the input) with
seeded random weights, to check tinfer's memory and speed on the 1024×1024 segmentation nets real background-removal
packages ship (issues "float16 and dynamic int8" and "cold start and footprint": ≤ 1 GB peak RSS).

  /usr/bin/python3 scripts/export-isnet-like.py OUT_DIR [--width 1.0]

Writes OUT_DIR/model.onnx (fp32, opset 11, as the published IS-Net exports are) and prints its size. Make the float16
and dynamic-uint8 forms with `tinfer convert --fp16` and `tinfer quantize --dynamic`.
"""
import os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
out_dir = sys.argv[1] if len(sys.argv) > 1 else '.tmp/isnet'
width = float(sys.argv[sys.argv.index('--width') + 1]) if '--width' in sys.argv else 1.0
os.makedirs(out_dir, exist_ok=True)
w = lambda c: max(4, int(c * width))


class REBNCONV(nn.Module):
    def __init__(self, i, o, d=1, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(i, o, 3, padding=d, dilation=d, stride=stride)
        self.bn = nn.BatchNorm2d(o)
    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def up_like(x, ref):
    return F.interpolate(x, size=ref.shape[2:], mode='bilinear', align_corners=False)


class RSU(nn.Module):
    """RSU-L: L levels of encoder (pooling between), a dilated bottom, and a decoder with skip concatenations."""
    def __init__(self, L, i, m, o):
        super().__init__()
        self.L = L
        self.cin = REBNCONV(i, o)
        self.enc = nn.ModuleList([REBNCONV(o, m)] + [REBNCONV(m, m) for _ in range(L - 2)])
        self.bottom = REBNCONV(m, m, d=2)
        self.dec = nn.ModuleList([REBNCONV(2 * m, m) for _ in range(L - 2)] + [REBNCONV(2 * m, o)])
    def forward(self, x):
        hx = self.cin(x)
        feats = []
        h = hx
        for k, e in enumerate(self.enc):
            h = e(h)
            feats.append(h)
            if k < len(self.enc) - 1:
                h = F.max_pool2d(h, 2, stride=2, ceil_mode=True)
        d = self.bottom(h)
        for k, dc in enumerate(self.dec):
            skip = feats[-1 - k]
            if d.shape[2:] != skip.shape[2:]:
                d = up_like(d, skip)
            d = dc(torch.cat([d, skip], 1))
        return d + hx


class RSUF(nn.Module):
    """RSU-4F: dilations instead of pooling (the deepest stages)."""
    def __init__(self, i, m, o):
        super().__init__()
        self.cin = REBNCONV(i, o)
        self.e1, self.e2, self.e3, self.e4 = REBNCONV(o, m, 1), REBNCONV(m, m, 2), REBNCONV(m, m, 4), REBNCONV(m, m, 8)
        self.d3, self.d2, self.d1 = REBNCONV(2 * m, m, 4), REBNCONV(2 * m, m, 2), REBNCONV(2 * m, o, 1)
    def forward(self, x):
        hx = self.cin(x)
        h1 = self.e1(hx); h2 = self.e2(h1); h3 = self.e3(h2); h4 = self.e4(h3)
        d3 = self.d3(torch.cat([h4, h3], 1)); d2 = self.d2(torch.cat([d3, h2], 1)); d1 = self.d1(torch.cat([d2, h1], 1))
        return d1 + hx


class ISNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(3, w(64), 3, stride=2, padding=1)
        self.s1 = RSU(7, w(64), w(32), w(64)); self.s2 = RSU(6, w(64), w(32), w(128)); self.s3 = RSU(5, w(128), w(64), w(256))
        self.s4 = RSU(4, w(256), w(128), w(512)); self.s5 = RSUF(w(512), w(256), w(512)); self.s6 = RSUF(w(512), w(256), w(512))
        self.d5 = RSUF(w(1024), w(256), w(512)); self.d4 = RSU(4, w(1024), w(128), w(256)); self.d3 = RSU(5, w(512), w(64), w(128))
        self.d2 = RSU(6, w(256), w(32), w(64)); self.d1 = RSU(7, w(128), w(16), w(64))
        self.sides = nn.ModuleList([nn.Conv2d(c, 1, 3, padding=1) for c in [w(64), w(64), w(128), w(256), w(512), w(512)]])
    def forward(self, x):
        hx = F.max_pool2d(self.conv_in(x), 2, stride=2, ceil_mode=True)
        h1 = self.s1(hx); h = F.max_pool2d(h1, 2, 2, ceil_mode=True)
        h2 = self.s2(h); h = F.max_pool2d(h2, 2, 2, ceil_mode=True)
        h3 = self.s3(h); h = F.max_pool2d(h3, 2, 2, ceil_mode=True)
        h4 = self.s4(h); h = F.max_pool2d(h4, 2, 2, ceil_mode=True)
        h5 = self.s5(h); h = F.max_pool2d(h5, 2, 2, ceil_mode=True)
        h6 = self.s6(h)
        d5 = self.d5(torch.cat([up_like(h6, h5), h5], 1))
        d4 = self.d4(torch.cat([up_like(d5, h4), h4], 1))
        d3 = self.d3(torch.cat([up_like(d4, h3), h3], 1))
        d2 = self.d2(torch.cat([up_like(d3, h2), h2], 1))
        d1 = self.d1(torch.cat([up_like(d2, h1), h1], 1))
        return tuple(torch.sigmoid(up_like(s(f), x)) for s, f in zip(self.sides, [d1, d2, d3, d4, d5, h6]))


model = ISNetLike().eval()
x = torch.randn(1, 3, 1024, 1024)
path = os.path.join(out_dir, 'model.onnx')
with torch.no_grad():
    torch.onnx.export(model, x, path, opset_version=11, input_names=['input'], output_names=[f'side{k}' for k in range(1, 7)])
params = sum(p.numel() for p in model.parameters())
print(f'saved {path}: {os.path.getsize(path) / 2**20:.1f} MiB, {params / 1e6:.1f} M parameters')
