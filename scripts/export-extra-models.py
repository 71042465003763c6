"""
Exports more real architectures than ../shared/models holds, in the same layout (model.onnx +
test_data_set_0/input_N.pb, output_N.pb with PyTorch's outputs), to check tinfer on models it was not built
against. Seeded random weights; BatchNorm statistics from a random batch. Needs torch + torchvision + onnx
(Debian: apt-get install python3-torch python3-torchvision python3-onnx; run with /usr/bin/python3):

  /usr/bin/python3 scripts/export-extra-models.py OUT_DIR [name ...]
  node dist/cli/main.js test OUT_DIR --atol 1e-4
  node bench/peers.mjs --zoo OUT_DIR --models efficientnet_b0,mobilenet_v3_small --peers node,web
"""
import os, sys, torch, onnx
from onnx import numpy_helper
import torchvision.models as tvm
torch.manual_seed(0)
if len(sys.argv) < 2:
    sys.exit(__doc__)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def save(name, model, inputs, opset=17, input_names=None, dynamic_axes=None):
    d = os.path.join(out, name)
    if os.path.exists(os.path.join(d, 'model.onnx')):
        print('skip', name); return
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    model.eval()
    if not isinstance(inputs, tuple): inputs = (inputs,)
    names = input_names or [f'input_{i}' for i in range(len(inputs))]
    with torch.no_grad():
        ref = model(*inputs)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    onames = [f'output_{i}' for i in range(len(refs))]
    torch.onnx.export(model, inputs, os.path.join(d, 'model.onnx'), opset_version=opset, input_names=names, output_names=onames, dynamic_axes=dynamic_axes, do_constant_folding=True)
    for i, (n, t) in enumerate(zip(names, inputs)):
        tp = numpy_helper.from_array(t.numpy(), n)
        open(os.path.join(d, 'test_data_set_0', f'input_{i}.pb'), 'wb').write(tp.SerializeToString())
    for i, (n, t) in enumerate(zip(onames, refs)):
        tp = numpy_helper.from_array(t.detach().numpy(), n)
        open(os.path.join(d, 'test_data_set_0', f'output_{i}.pb'), 'wb').write(tp.SerializeToString())
    print('saved', name, flush=True)

img = torch.randn(1, 3, 224, 224)
which = sys.argv[2:] or ['all']
def want(n): return 'all' in which or n in which

def calibrate(m, x):
    # Give BatchNorm realistic running stats from a random batch (as the shared zoo does).
    m.train()
    with torch.no_grad():
        for _ in range(2): m(x)
    m.eval()
    return m

if want('efficientnet_b0'): save('efficientnet_b0', calibrate(tvm.efficientnet_b0(), torch.randn(4,3,224,224)), img)
if want('mobilenet_v3_small'): save('mobilenet_v3_small', calibrate(tvm.mobilenet_v3_small(), torch.randn(4,3,224,224)), img)
if want('regnet_x_400mf'): save('regnet_x_400mf', calibrate(tvm.regnet_x_400mf(), torch.randn(4,3,224,224)), img)
if want('densenet121'): save('densenet121', calibrate(tvm.densenet121(), torch.randn(2,3,224,224)), img)
if want('googlenet'): save('googlenet', calibrate(tvm.googlenet(aux_logits=False, init_weights=True), torch.randn(2,3,224,224)), img)
if want('convnext_tiny'): save('convnext_tiny', calibrate(tvm.convnext_tiny(), torch.randn(2,3,224,224)), img)
if want('mnasnet0_5'): save('mnasnet0_5', calibrate(tvm.mnasnet0_5(), torch.randn(4,3,224,224)), img)
if want('lraspp'):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large
    class Seg(torch.nn.Module):
        def __init__(s): super().__init__(); s.m = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)
        def forward(s, x): return s.m(x)['out']
    save('lraspp_mobilenet_v3', calibrate(Seg(), torch.randn(2,3,224,224)), torch.randn(1,3,224,224))

class Enc(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = torch.nn.Embedding(1000, 128)
        layer = torch.nn.TransformerEncoderLayer(128, 4, 256, batch_first=True, activation='gelu', norm_first=True)
        s.enc = torch.nn.TransformerEncoder(layer, 2)
        s.head = torch.nn.Linear(128, 5)
    def forward(s, ids, mask):
        return s.head(s.enc(s.emb(ids), src_key_padding_mask=mask)[:, 0])
if want('encoder_mask'):
    ids = torch.randint(0, 1000, (2, 24)); mask = torch.zeros(2, 24, dtype=torch.bool); mask[1, 17:] = True
    save('encoder_mask', Enc(), (ids, mask), input_names=['ids', 'mask'])

class Audio(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = torch.nn.Conv1d(40, 64, 5, padding=2); s.c2 = torch.nn.Conv1d(64, 64, 3, stride=2, padding=1, groups=4)
        s.gru = torch.nn.GRU(64, 48, num_layers=2, batch_first=True, bidirectional=True)
        s.out = torch.nn.Linear(96, 12)
    def forward(s, x):
        y = torch.relu(s.c2(torch.relu(s.c1(x))))
        y, _ = s.gru(y.transpose(1, 2))
        return torch.log_softmax(s.out(y), -1)
if want('audio_bigru'): save('audio_bigru', Audio(), torch.randn(1, 40, 101), dynamic_axes={'input_0': {2: 'T'}, 'output_0': {1: 'T2'}})

class UNetish(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.d = torch.nn.Conv2d(3, 16, 3, 2, 1); s.b = torch.nn.BatchNorm2d(16)
        s.u = torch.nn.ConvTranspose2d(16, 8, 4, 2, 1); s.o = torch.nn.Conv2d(11, 2, 1)
    def forward(s, x):
        y = torch.nn.functional.leaky_relu(s.b(s.d(x)), 0.1)
        z = torch.nn.functional.interpolate(s.u(y), size=x.shape[-2:], mode='bilinear', align_corners=False)
        return torch.sigmoid(s.o(torch.cat([z, x], 1)))
if want('unetish'): save('unetish', UNetish(), torch.randn(1, 3, 64, 80))

class Sppf(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.c = torch.nn.Conv2d(3, 32, 3, 1, 1); s.m = torch.nn.MaxPool2d(5, 1, 2); s.o = torch.nn.Conv2d(128, 16, 1)
        s.up = torch.nn.Upsample(scale_factor=2, mode='nearest')
    def forward(s, x):
        x = torch.nn.functional.silu(s.c(x)); a = s.m(x); b = s.m(a); c = s.m(b)
        return s.up(torch.nn.functional.hardswish(s.o(torch.cat([x, a, b, c], 1))))
if want('sppf'): save('sppf', Sppf(), torch.randn(1, 3, 40, 40))
