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
    # momentum=None: cumulative averages, so the statistics are the batch's own (with the default 0.1 two
    # passes leave running_var near 1, and deep nets like inception_v3 then blow up to 1e5-sized logits).
    for b in m.modules():
        if isinstance(b, torch.nn.modules.batchnorm._BatchNorm): b.momentum = None
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

# ---- second set (models2): more torchvision families and operator patterns ----
def tv(name, batch=2, size=224, shrink=None, **kw):
    if not want(name): return
    m = getattr(tvm, name)(**kw)
    if shrink: shrink(m)
    save(name, calibrate(m, torch.randn(batch, 3, size, size)), torch.randn(1, 3, size, size))

tv('resnet50'); tv('resnext50_32x4d')  # wide_resnet50_2: 264 MB, same operators as resnet50
tv('inception_v3', size=299, aux_logits=False, init_weights=True)
tv('mobilenet_v3_large', batch=4); tv('efficientnet_b3', batch=4, size=300); tv('efficientnet_v2_s', batch=4)
tv('shufflenet_v2_x0_5', batch=4); tv('squeezenet1_0')
def small_head(m, features):
    # AlexNet / VGG's 4096-wide classifiers are 95% of their weights (240 / 530 MB): keep the conv stack, a small head.
    m.classifier = torch.nn.Sequential(torch.nn.Dropout(), torch.nn.Linear(features, 256), torch.nn.ReLU(True), torch.nn.Linear(256, 1000))
tv('alexnet', shrink=lambda m: small_head(m, 256 * 6 * 6)); tv('vgg11_bn', shrink=lambda m: small_head(m, 512 * 7 * 7))
tv('regnet_y_400mf', batch=4); tv('mnasnet1_0', batch=4); tv('swin_t')
if want('vit_small'):
    # ViT-B/16 is 330 MB; the same architecture at ViT-S width (384, 6 heads) and 6 layers.
    from torchvision.models.vision_transformer import VisionTransformer
    vit = VisionTransformer(224, 16, 6, 6, 384, 1536)
    torch.nn.init.normal_(vit.heads.head.weight, std=0.05)  # torchvision zero-initialises the head: the output would be all 0
    save('vit_small', vit, img)

class SegOut(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, x): return s.m(x)['out']
if want('deeplabv3_mobilenet_v3'):
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large
    save('deeplabv3_mobilenet_v3', calibrate(SegOut(deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=False)), torch.randn(2,3,224,224)), torch.randn(1,3,224,224))
if want('fcn_resnet50'):
    from torchvision.models.segmentation import fcn_resnet50
    save('fcn_resnet50', calibrate(SegOut(fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)), torch.randn(2,3,160,160)), torch.randn(1,3,160,160))

class Dec(torch.nn.Module):
    # Causal TransformerDecoder: the mask is built in the graph from the sequence length.
    def __init__(s):
        super().__init__()
        s.emb = torch.nn.Embedding(500, 96)
        s.dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(96, 4, 192, batch_first=True), 2)
        s.head = torch.nn.Linear(96, 500)
    def forward(s, ids, memory):
        t = ids.shape[1]
        causal = torch.triu(torch.full((t, t), float('-inf')), diagonal=1)
        return s.head(s.dec(s.emb(ids), memory, tgt_mask=causal))
if want('decoder_causal'):
    save('decoder_causal', Dec(), (torch.randint(0, 500, (2, 12)), torch.randn(2, 7, 96)), input_names=['ids', 'memory'])

class AudioTC(torch.nn.Module):
    # 1-D encoder/decoder with ConvTranspose1d (strided, output_padding) and GroupNorm.
    def __init__(s):
        super().__init__()
        s.e1 = torch.nn.Conv1d(1, 16, 8, stride=4, padding=2); s.g1 = torch.nn.GroupNorm(4, 16)
        s.e2 = torch.nn.Conv1d(16, 32, 4, stride=2, padding=1, dilation=1)
        s.d2 = torch.nn.ConvTranspose1d(32, 16, 4, stride=2, padding=1)
        s.d1 = torch.nn.ConvTranspose1d(16, 1, 8, stride=4, padding=2, output_padding=0)
    def forward(s, x):
        y = torch.nn.functional.gelu(s.g1(s.e1(x)))
        y = torch.tanh(s.d2(torch.relu(s.e2(y))))
        return s.d1(y)
if want('audio_convtranspose1d'): save('audio_convtranspose1d', AudioTC(), torch.randn(1, 1, 1600))

class NormNet(torch.nn.Module):
    # InstanceNorm (affine and not), GroupNorm, PixelShuffle (DepthToSpace) and reflection padding.
    def __init__(s):
        super().__init__()
        s.c1 = torch.nn.Conv2d(3, 32, 3, padding=1, padding_mode='reflect'); s.n1 = torch.nn.InstanceNorm2d(32, affine=True)
        s.c2 = torch.nn.Conv2d(32, 32, 3, padding=1); s.n2 = torch.nn.GroupNorm(8, 32)
        s.c3 = torch.nn.Conv2d(32, 12, 3, padding=1); s.n3 = torch.nn.InstanceNorm2d(12)
        s.ps = torch.nn.PixelShuffle(2); s.pu = torch.nn.PixelUnshuffle(2)
    def forward(s, x):
        y = torch.relu(s.n1(s.c1(x)))
        y = torch.nn.functional.silu(s.n2(s.c2(y)))
        y = s.ps(s.n3(s.c3(y)))
        return y, s.pu(y)
if want('norm_pixelshuffle'): save('norm_pixelshuffle', NormNet(), torch.randn(1, 3, 48, 40))

class Lstm(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.l = torch.nn.LSTM(20, 32, num_layers=2, batch_first=True, bidirectional=True)
        s.o = torch.nn.Linear(64, 4)
    def forward(s, x):
        y, (h, c) = s.l(x)
        return s.o(y), h, c
if want('lstm_bidir'): save('lstm_bidir', Lstm(), torch.randn(3, 15, 20))

class Ein(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.w = torch.nn.Parameter(torch.randn(8, 16, 12))
    def forward(s, a, b):
        x = torch.einsum('bij,bjk->bik', a, b)
        y = torch.einsum('bik,hkd->bhid', x, s.w)
        return torch.einsum('bhid->bdi', y), torch.einsum('bii->bi', a[:, :, :6]), torch.einsum('bij,bij->b', a, a)
if want('einsum'): save('einsum', Ein(), (torch.randn(2, 6, 10), torch.randn(2, 10, 16)))

if want('resnet18_dynbatch'):
    m = calibrate(tvm.resnet18(), torch.randn(4, 3, 224, 224))
    save('resnet18_dynbatch_b1', m, torch.randn(1, 3, 224, 224), dynamic_axes={'input_0': {0: 'N'}, 'output_0': {0: 'N'}})
    save('resnet18_dynbatch_b3', m, torch.randn(3, 3, 224, 224), dynamic_axes={'input_0': {0: 'N'}, 'output_0': {0: 'N'}})

if want('mobilenet_v2_opsets'):
    m = calibrate(tvm.mobilenet_v2(), torch.randn(4, 3, 224, 224))
    for op in (11, 13, 17): save(f'mobilenet_v2_opset{op}', m, img, opset=op)

# ---- small models exercising operator variants that exporters emit ----
F = torch.nn.functional
class Lambda(torch.nn.Module):
    def __init__(s, f, *mods): super().__init__(); s.f = f; s.mods = torch.nn.ModuleList(mods)
    def forward(s, *x): return s.f(s.mods, *x)
def small(name, f, inputs, mods=(), opset=17, **kw):
    if not want(name): return
    try:
        save(name, Lambda(f, *mods), inputs, opset=opset, **kw)
    except Exception as e:  # torch 1.13's exporter refuses some patterns: report and go on
        import shutil; shutil.rmtree(os.path.join(out, name), ignore_errors=True)
        print('export failed', name, str(e).splitlines()[0][:200], flush=True)

x4 = torch.randn(1, 8, 19, 23)
small('resize_variants', lambda m, x: (F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True),
      F.interpolate(x, size=(30, 17), mode='bicubic', align_corners=False), F.interpolate(x, scale_factor=1.5, mode='nearest')), x4)
small('resize_opset11', lambda m, x: (F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True),
      F.interpolate(x, size=(40, 50), mode='nearest')), x4, opset=11)
small('pool_variants', lambda m, x: (F.max_pool2d(x, 3, 2, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
      F.avg_pool2d(x, 2, ceil_mode=True), F.adaptive_avg_pool2d(x[..., :18, :21], (6, 7)), F.max_pool2d(x, 2, 2, dilation=2),
      F.lp_pool2d(x, 2, 3, 2)), x4)
small('pad_variants', lambda m, x: (F.pad(x, (1, 2, 3, 0), mode='reflect'), F.pad(x, (2, 2, 1, 1), mode='replicate'),
      F.pad(x, (1, -1, 2, 0), value=0.5)), x4)
small('activations', lambda m, x: (F.elu(x), F.selu(x), F.celu(x, 0.7), F.softplus(x), F.mish(x), F.hardsigmoid(x),
      F.gelu(x, approximate='tanh'), F.softsign(x), m[0](x), F.relu6(x), F.logsigmoid(x), F.hardtanh(x, -0.5, 0.7),
      F.glu(x, 1), F.softmin(x, 2)), x4, mods=(torch.nn.PReLU(8),))
small('conv_variants', lambda m, x: (m[0](x), m[1](x), m[2](x), m[3](x), m[4](x)), x4, mods=(
      torch.nn.ConvTranspose2d(8, 12, 3, stride=2, padding=1, output_padding=1, groups=4, dilation=2),
      torch.nn.Conv2d(8, 8, (3, 5), padding=(2, 2), dilation=(2, 1), groups=8), torch.nn.Conv2d(8, 6, 4, stride=3, padding=(0, 2)),
      torch.nn.ConvTranspose2d(8, 4, (2, 3), stride=(2, 1)), torch.nn.Conv2d(8, 16, 1, stride=2, bias=False)))
small('conv3d', lambda m, x: (F.max_pool3d(torch.relu(m[0](x)), 2), m[1](x)), torch.randn(1, 3, 6, 10, 12),
      mods=(torch.nn.Conv3d(3, 4, 3, padding=1), torch.nn.ConvTranspose3d(3, 2, 2, stride=2)))
small('index_ops', lambda m, x, i: (torch.gather(x, 1, i), x.topk(3, dim=-1)[0], x.topk(2, dim=1, largest=False)[1], x.argmax(-1),
      x.cumsum(1), torch.where(x > 0, x, x * 0.1), x.masked_fill(x < -1, -9.0), x[:, i[0, :, 0]], torch.flip(x, [2]),
      x.sort(dim=-1, descending=True)[0], x.clamp(min=-0.3), x[:, 1:7:2, ::3]), (torch.randn(2, 9, 11), torch.randint(0, 9, (2, 4, 11))))
small('reduce_ops', lambda m, x: (x.mean((1, 3), keepdim=True), x.var(-1, unbiased=False), x.std(1), x.amax(2), x.amin((0, 2)),
      x.norm(dim=1), x.logsumexp(-1), x.prod(2), x.sum(), x.abs().sqrt().mean(-1), F.normalize(x, dim=1), x.square().sum(-1)), torch.randn(2, 5, 6, 7))
small('layernorm_axes', lambda m, x: (m[1](x), m[0](x.transpose(1, 3)), F.instance_norm(x)),
      torch.randn(2, 5, 6, 7), mods=(torch.nn.LayerNorm(5), torch.nn.LayerNorm((6, 7))))
class Mha(torch.nn.Module):
    def __init__(s): super().__init__(); s.a = torch.nn.MultiheadAttention(32, 4, batch_first=True, kdim=24, vdim=16)
    def forward(s, q, k, v, m): return s.a(q, k, v, key_padding_mask=m)
if want('mha_kv'):
    kpm = torch.zeros(2, 9, dtype=torch.bool); kpm[0, 6:] = True
    save('mha_kv', Mha(), (torch.randn(2, 5, 32), torch.randn(2, 9, 24), torch.randn(2, 9, 16), kpm))
small('grid_sample', lambda m, x, g: (F.grid_sample(x, g, mode='bilinear', padding_mode='zeros', align_corners=False),
      F.grid_sample(x, g, mode='nearest', padding_mode='border', align_corners=True)), (x4, torch.rand(1, 6, 5, 2) * 2.4 - 1.2), opset=16)
small('unfold_fold', lambda m, x: (F.unfold(x, 3, padding=1, stride=2), F.pixel_shuffle(x, 2) if False else x.unfold(2, 4, 3)), x4)
small('shape_ops', lambda m, x: (x.reshape(x.shape[0], -1, 2).permute(2, 0, 1).contiguous(), torch.chunk(x, 3, 1)[2],
      torch.stack([x, -x], -1).flatten(3), x.expand(3, -1, -1, -1) * torch.arange(3.).view(3, 1, 1, 1), x.repeat(1, 2, 1, 3),
      torch.tril(x[0]), x.new_zeros(x.shape[2]) + x.shape[3], torch.einsum('nchw->nhwc', x)), x4)

small('scatter_ops', lambda m, x, i: (x.scatter(1, i, -1.0), x.scatter_add(1, i, x[:, :4] * 2),
      torch.zeros(2, 9, 11).index_add(1, i[0, :, 0], x[:, :4]), x.masked_scatter(x > 1, -x)), (torch.randn(2, 9, 11), torch.randint(0, 9, (2, 4, 11))), opset=16)
# torch 1.13 exports int `//` (floor) as ONNX Div, which truncates (onnxruntime agrees with tinfer): divide with 'trunc'
small('int_logic', lambda m, x, n: (torch.div(n, 3, rounding_mode='trunc') * 2 + n % 5, (n > 2) & (n < 7) | (n == 0), ~(x > 0),
      torch.floor(x * 3), torch.round(x * 2.5), x.sign(), torch.fmod(x * 5, 1.5), torch.remainder(x * 5, 1.5), n.float().mean(),
      torch.nonzero(n > 4), x[x > 0.5], torch.unique(n)), (torch.randn(3, 7), torch.randint(-9, 9, (3, 7))))
@torch.jit.script
def _decode_loop(x: torch.Tensor, n: int) -> torch.Tensor:
    y = x
    for i in range(n):
        y = torch.tanh(y @ x.transpose(0, 1)[:, :y.shape[1]] + float(i))
        if bool(y.sum() > 0):
            y = y * 0.5
    return y
class LoopNet(torch.nn.Module):
    def forward(s, x, n): return _decode_loop(x, int(n))
if want('script_loop'):
    try: save('script_loop', torch.jit.script(LoopNet()), (torch.randn(4, 4), torch.tensor(3)))
    except Exception as e: print('export failed script_loop', str(e).splitlines()[0][:200])
small('split_seq', lambda m, x: tuple(t.sum(1) for t in torch.split(x, [2, 3, 4], 1)) + (torch.cat(torch.unbind(x, 2)[1:4], 1),), torch.randn(2, 9, 5))
small('emb_bag', lambda m, i: (m[0](i), m[1](i[:, :3])), torch.randint(0, 30, (2, 6)), mods=(torch.nn.EmbeddingBag(30, 8, mode='mean'), torch.nn.Embedding(30, 5, padding_idx=0)))
small('cumsum_matmul', lambda m, x, y: (x.cumsum(-1, ).flip(-1), torch.matmul(x, y), torch.bmm(x, y), torch.baddbmm(x[:, :, :2], x, y, beta=0.5),
      x @ y[0], torch.outer(x[0, 0], y[0, 0]), torch.tensordot(x, y, dims=([2], [1]))), (torch.randn(3, 4, 5), torch.randn(3, 5, 2)))

# Odd, non-square resolutions and batch > 1: the edges and tails of every conv path (winograd tiles,
# depthwise borders, GEMM remainders, pooling with ceil) get exercised.
def odd(name, ctor, shape, batch_cal=2):
    if want(name): save(name, calibrate(ctor(), torch.randn(batch_cal, *shape[1:])), torch.randn(*shape))
odd('resnet18_97x131', tvm.resnet18, (1, 3, 97, 131))
odd('mobilenet_v3_small_b2_123x77', tvm.mobilenet_v3_small, (2, 3, 123, 77), 4)
odd('efficientnet_b0_150x211', tvm.efficientnet_b0, (1, 3, 150, 211), 4)
odd('regnet_x_400mf_b3_67x99', tvm.regnet_x_400mf, (3, 3, 67, 99), 4)
odd('shufflenet_v2_x1_0_45x161', tvm.shufflenet_v2_x1_0, (1, 3, 45, 161), 4)
odd('densenet121_b2_63x63', tvm.densenet121, (2, 3, 63, 63))
odd('squeezenet1_1_b2_111x95', tvm.squeezenet1_1, (2, 3, 111, 95))
odd('convnext_tiny_96x160', tvm.convnext_tiny, (1, 3, 96, 160))
odd('mnasnet1_0_b2_99x67', tvm.mnasnet1_0, (2, 3, 99, 67), 4)
odd('googlenet_83x117', lambda: tvm.googlenet(aux_logits=False, init_weights=True), (1, 3, 83, 117))

# Detection with the post-processing in the graph (TopK, NMS, RoiAlign, Gather on dynamic lengths): random
# weights, so the score threshold is lowered to keep detections (an empty output could not fail), and every
# parameter is jittered: the zero-initialised heads would give all boxes one score, and ties sort arbitrarily.
def jitter(m, std=0.05):
    with torch.no_grad():
        for p in m.parameters(): p.add_(torch.randn_like(p) * std)
    return m
if want('ssdlite320'):
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large
    m = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, score_thresh=0.0, detections_per_img=50)
    class Det(torch.nn.Module):
        def __init__(s, m): super().__init__(); s.m = m
        def forward(s, x):
            d = s.m([x[0]])[0]
            return d['boxes'], d['scores'], d['labels']
    jitter(m); jitter(m.head.classification_head, 0.25)  # scores ~1/91 apart by 1e-6 otherwise: near-ties reorder
    try: save('ssdlite320', Det(m), torch.rand(1, 3, 320, 320), opset=13)
    except Exception as e: print('export failed ssdlite320', str(e).splitlines()[0][:300])
if want('fasterrcnn_mobilenet_320'):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn
    m = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, box_score_thresh=0.0, box_detections_per_img=30)
    class Det2(torch.nn.Module):
        def __init__(s, m): super().__init__(); s.m = m
        def forward(s, x):
            d = s.m([x[0]])[0]
            return d['boxes'], d['scores'], d['labels']
    try: save('fasterrcnn_mobilenet_320', Det2(jitter(m)), torch.rand(1, 3, 320, 320), opset=13)
    except Exception as e: print('export failed fasterrcnn_mobilenet_320', str(e).splitlines()[0][:300])
