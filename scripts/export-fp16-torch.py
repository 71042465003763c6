"""
Exports a small PyTorch network (Conv + BatchNorm + SiLU, strided Conv + ReLU, then a transformer-style block:
Linear + GELU (Erf form) + Linear, residual, LayerNorm written out, mean over tokens, Linear + Softmax) to ONNX
(opset 13, so GELU and LayerNorm appear as their decomposed patterns), and a float16 version of it made the way
onnxconverter-common's convert_float_to_float16 does with keep_io_types=False: float16 initializers and Constant
values, float16 graph inputs/outputs and value_info, Cast(to=float) retargeted to float16. The float16 model is
what test/fp16-torch.test.ts runs in tinfer and onnxruntime-node and compares.

Needs torch and onnx (Debian: apt-get install python3-torch python3-onnx; run with /usr/bin/python3):

  /usr/bin/python3 scripts/export-fp16-torch.py [OUT_DIR]    # default test/fixtures/fp16-torch

Writes OUT_DIR/model_fp32.onnx and OUT_DIR/model_fp16.onnx (seeded random weights).
"""
import os, sys
import numpy as np
import torch
import onnx
from onnx import TensorProto, numpy_helper

torch.manual_seed(0)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'fp16-torch')
os.makedirs(out, exist_ok=True)


class Block(torch.nn.Module):
    def __init__(self, d=16, hidden=32):
        super().__init__()
        self.fc1 = torch.nn.Linear(d, hidden)
        self.fc2 = torch.nn.Linear(hidden, d)
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, x):
        h = self.fc2(torch.nn.functional.gelu(self.fc1(x)))
        return self.norm(x + h)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.block = Block()
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        y = torch.nn.functional.silu(self.bn(self.conv1(x)))
        y = torch.relu(self.conv2(y))                  # [1, 16, 8, 8]
        tokens = y.flatten(2).transpose(1, 2)          # [1, 64, 16]
        z = self.block(tokens).mean(dim=1)             # [1, 16]
        return torch.softmax(self.head(z), dim=-1)


net = Net()
with torch.no_grad():  # BatchNorm statistics from a random batch, as a trained net would have
    net.train()
    net(torch.randn(8, 3, 16, 16))
net.eval()
fp32_path = os.path.join(out, 'model_fp32.onnx')
torch.onnx.export(net, torch.randn(1, 3, 16, 16), fp32_path, opset_version=13, input_names=['x'], output_names=['probs'])

FLOAT16_MAX = 65504.0


def to_float16(t):
    a = numpy_helper.to_array(t).astype(np.float32)
    a = np.clip(a, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)
    return numpy_helper.from_array(a, t.name)


def relabel(vi):
    tt = vi.type.tensor_type
    if tt.elem_type == TensorProto.FLOAT:
        tt.elem_type = TensorProto.FLOAT16


model = onnx.load(fp32_path)
g = model.graph
for i, t in enumerate(g.initializer):
    if t.data_type == TensorProto.FLOAT:
        g.initializer[i].CopyFrom(to_float16(t))
for vi in list(g.input) + list(g.output) + list(g.value_info):
    relabel(vi)
for node in g.node:
    for a in node.attribute:
        if node.op_type in ('Constant', 'ConstantOfShape') and a.name == 'value' and a.t.data_type == TensorProto.FLOAT:
            a.t.CopyFrom(to_float16(a.t))
        if node.op_type == 'Cast' and a.name == 'to' and a.i == TensorProto.FLOAT:
            a.i = TensorProto.FLOAT16
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, 'model_fp16.onnx'))
print('wrote', fp32_path, 'and', os.path.join(out, 'model_fp16.onnx'))
print('ops:', sorted({n.op_type for n in g.node}))
