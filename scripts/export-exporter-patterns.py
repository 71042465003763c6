"""
Exports stand-ins for models that real exporters ship (paddle2onnx, tf2onnx, torch with non-default settings),
in the zoo layout (model.onnx + test_data_set_0/input_N.pb, output_N.pb with PyTorch's outputs). Each model
imitates one exporter's graph patterns at a realistic size: see docs/exporter-patterns.md. Seeded random
weights, eval mode, BatchNorm statistics from a random calibration batch and random affine parameters. Where
torch cannot write the pattern itself, the exported graph is rewritten with the onnx Python API (Pad folded
into Conv pads, initializers turned into Constant nodes, Flatten/Reshape around a Softmax removed...).
Needs Debian's python3-torch, python3-torchvision and python3-onnx (run with /usr/bin/python3):

  /usr/bin/python3 scripts/export-exporter-patterns.py OUT_DIR [name ...]
  node dist/cli/main.js test OUT_DIR/ocr_det_paddle --atol 1e-4
  node bench/exporter-patterns.mjs --dir OUT_DIR --runs 10

Models: ocr_det_paddle ocr_rec_paddle wakeword_tf2onnx linedet_tf2onnx conv1d_audio decomposed_ops
        ocr_det_paddle_fp16 ocr_rec_paddle_fp16 (fp16 weights + Cast nodes, fp32 compute)
An existing OUT_DIR/<name>/model.onnx is kept (delete the folder to re-export).
"""
import collections, math, os, sys, zlib
import numpy as np
import torch, onnx
from onnx import helper, numpy_helper, TensorProto

F = torch.nn.functional
nn = torch.nn
if len(sys.argv) < 2:
    sys.exit(__doc__)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
which = sys.argv[2:] or ['all']
def want(n): return 'all' in which or n in which

# ------------------------------------------------------------------------------------------------ helpers
def seed(name): torch.manual_seed(zlib.crc32(name.encode()))

def calibrate(m, x):
    """BatchNorm statistics from a random batch (cumulative, so they are the batch's own) and random gamma/beta."""
    for b in m.modules():
        if isinstance(b, nn.modules.batchnorm._BatchNorm):
            b.momentum = None
            with torch.no_grad():
                b.weight.uniform_(0.5, 1.5); b.bias.normal_(0, 0.1)
    m.train()
    with torch.no_grad():
        for _ in range(2): m(x)
    return m.eval()

def op_histogram(model):
    c = collections.Counter(n.op_type for n in model.graph.node)
    return ', '.join(f'{k} {v}' for k, v in c.most_common())

def save(name, model, inputs, opset, post=None, preserve_bn=False, round_fp16=False, dynamic_axes=None):
    d = os.path.join(out, name)
    if os.path.exists(os.path.join(d, 'model.onnx')):
        print('skip', name, '(exists)'); return
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    model.eval()
    if round_fp16:  # weights exactly representable in fp16: the fp16 twin then computes what torch does
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                if t.dtype == torch.float32: t.copy_(t.half().float())
    if not isinstance(inputs, tuple): inputs = (inputs,)
    names = [f'input_{i}' for i in range(len(inputs))]
    with torch.no_grad():
        ref = model(*inputs)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    onames = [f'output_{i}' for i in range(len(refs))]
    path = os.path.join(d, 'model.onnx')
    # TrainingMode.PRESERVE on an eval model keeps BatchNormalization nodes (paddle2onnx writes them unfused);
    # EVAL (torch's default) folds them into the convolutions, as tf2onnx does.
    training = torch.onnx.TrainingMode.PRESERVE if preserve_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, inputs, path, opset_version=opset, input_names=names, output_names=onames,
                      do_constant_folding=True, training=training, dynamic_axes=dynamic_axes)
    m = onnx.load(path)
    if post:
        for p in post if isinstance(post, (list, tuple)) else (post,): m = p(m) or m
    onnx.checker.check_model(m)
    onnx.save(m, path)
    for i, (n, t) in enumerate(zip(names, inputs)):
        open(os.path.join(d, 'test_data_set_0', f'input_{i}.pb'), 'wb').write(numpy_helper.from_array(t.numpy(), n).SerializeToString())
    for i, (n, t) in enumerate(zip(onames, refs)):
        open(os.path.join(d, 'test_data_set_0', f'output_{i}.pb'), 'wb').write(numpy_helper.from_array(t.detach().numpy(), n).SerializeToString())
    size = os.path.getsize(path) / 2**20
    shapes = ', '.join(f'{n}{list(t.shape)}' for n, t in zip(names, inputs)) + ' -> ' + ', '.join(f'{n}{list(t.shape)}' for n, t in zip(onames, refs))
    print(f'saved {name}: {size:.2f} MiB, opset {opset}, {len(m.graph.node)} nodes, {shapes}\n  ops: {op_histogram(m)}', flush=True)

# ---- graph rewrites (onnx API) ----
def producers(g): return {o: n for n in g.node for o in n.output}
def consumers(g):
    c = collections.defaultdict(list)
    for n in g.node:
        for i in n.input: c[i].append(n)
    return c
def init_map(g): return {t.name: t for t in g.initializer}
def attr(n, name, default=None):
    for a in n.attribute:
        if a.name == name: return helper.get_attribute_value(a)
    return default
def set_attr(n, name, value):
    for a in list(n.attribute):
        if a.name == name: n.attribute.remove(a)
    n.attribute.append(helper.make_attribute(name, value))

def remove_dead_nodes(m):
    g = m.graph; live = {o.name for o in g.output}; keep = []
    for n in reversed(list(g.node)):
        if any(o in live for o in n.output):
            keep.append(n); live.update(i for i in n.input if i)
    del g.node[:]; g.node.extend(reversed(keep))
    used = {i for n in g.node for i in n.input}
    for t in [t for t in g.initializer if t.name not in used]: g.initializer.remove(t)
    return m

def fold_pad_into_conv(known=None):
    """Pad(constant 0, spatial only) -> Conv becomes one Conv with (asymmetric) pads, as tf2onnx writes SAME
    padding. torch >= opset 11 computes Pad's pads with a chain of nodes it does not fold: `known` gives the pads
    (ONNX order: begins then ends, all axes) of those Pads in graph order; the dead chains are removed."""
    def run(m):
        g = m.graph; inits = init_map(g); prod = producers(g); cons = consumers(g)
        consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node if n.op_type == 'Constant'}
        queue = list(known or [])
        for pad in [n for n in g.node if n.op_type == 'Pad']:
            src = pad.input[1] if len(pad.input) > 1 else None
            pads = attr(pad, 'pads')
            if pads is None:
                pads = numpy_helper.to_array(inits[src]) if src in inits else consts.get(src)
            if pads is None and queue: pads = queue.pop(0)
            users = cons[pad.output[0]]
            if pads is None or len(users) != 1 or users[0].op_type != 'Conv' or attr(pad, 'mode', b'constant') != b'constant': continue
            conv = users[0]; pads = [int(p) for p in pads]; r = len(pads) // 2; k = r - 2
            if any(pads[i] for i in (0, 1, r, r + 1)) or min(pads) < 0: continue
            old = attr(conv, 'pads', [0] * (2 * k))
            set_attr(conv, 'pads', [old[i] + pads[2 + i] for i in range(k)] + [old[k + i] + pads[r + 2 + i] for i in range(k)])
            conv.input[0] = pad.input[0]
        return remove_dead_nodes(m)
    return run

def initializers_to_constants(m):
    """Every initializer becomes a Constant node at the top of the graph (tf2onnx's and many converters' style)."""
    g = m.graph
    consts = [helper.make_node('Constant', [], [t.name], name=f'const_{t.name}', value=t) for t in g.initializer]
    old = list(g.node)
    del g.node[:]; g.node.extend(consts + old)
    del g.initializer[:]
    return m

def resize_half_pixel(m):
    """torch writes 'pytorch_half_pixel'; tf2onnx writes 'half_pixel' (the same result for outputs longer than 1)."""
    for n in m.graph.node:
        if n.op_type == 'Resize' and attr(n, 'coordinate_transformation_mode') == b'pytorch_half_pixel':
            set_attr(n, 'coordinate_transformation_mode', 'half_pixel')
    return m

def softmax_2d_coerced(m):
    """Flatten(axis=1) -> Softmax(axis=1) -> Reshape(back) becomes one Softmax(axis=1) on the 4-D tensor: opset < 13
    Softmax coerces its input to 2-D at `axis`, so this is the same function (old exporters write it so)."""
    g = m.graph; prod = producers(g); cons = consumers(g); dead = []
    for sm in g.node:
        if sm.op_type != 'Softmax' or attr(sm, 'axis', 1) != 1: continue
        fl = prod.get(sm.input[0]); users = cons[sm.output[0]]
        if fl is None or fl.op_type != 'Flatten' or attr(fl, 'axis', 1) != 1 or len(users) != 1 or users[0].op_type != 'Reshape': continue
        rs = users[0]
        sm.input[0] = fl.input[0]
        for u in cons[rs.output[0]]:
            for i, x in enumerate(u.input):
                if x == rs.output[0]: u.input[i] = sm.output[0]
        for o in g.output:
            if o.name == rs.output[0]:  # keep the graph output's name: rename the Softmax output instead
                for u in cons[sm.output[0]]:
                    for i, x in enumerate(u.input):
                        if x == sm.output[0]: u.input[i] = rs.output[0]
                sm.output[0] = rs.output[0]
        dead += [fl, rs]
    for n in dead: g.node.remove(n)
    return remove_dead_nodes(m)

def fp16_weights(min_elems=16):
    """Float initializers with >= min_elems values stored as float16, each followed by a Cast to float (the layout
    of fp16-weight models: half the file size, fp32 compute). Scalars (Clip bounds, 0.2...) stay fp32."""
    def run(m):
        g = m.graph; casts = []
        for t in g.initializer:
            if t.data_type != TensorProto.FLOAT or int(np.prod(t.dims)) < min_elems: continue
            a = numpy_helper.to_array(t).astype(np.float16); name = t.name
            t.CopyFrom(numpy_helper.from_array(a, name + '_fp16'))
            casts.append(helper.make_node('Cast', [name + '_fp16'], [name], name=f'cast_{name}', to=TensorProto.FLOAT))
        old = list(g.node); del g.node[:]; g.node.extend(casts + old)
        return m
    return run

# ------------------------------------------------------------------------------------------------ building blocks
def hswish(x): return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0             # paddle2onnx (opset < 14): Add Clip Mul Div
def hsig_paddle(x): return torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)            # paddle's hardsigmoid(slope 0.2, offset 0.5)
def hsig_relu6(x): return F.relu6(x + 3.0) / 6.0                            # relu6(x+3)/6
def act(name, x): return hswish(x) if name == 'hswish' else F.relu(x) if name == 'relu' else x

def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v

class ConvBN(nn.Module):
    def __init__(s, cin, cout, k, stride=1, groups=1, act='relu', dim=2):
        super().__init__()
        kk = k if isinstance(k, tuple) else (k,) * dim
        pad = tuple(x // 2 for x in kk)
        s.conv = (nn.Conv2d if dim == 2 else nn.Conv1d)(cin, cout, kk, stride, pad, groups=groups, bias=False)
        s.bn = (nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d)(cout); s.act = act
    def forward(s, x): return act(s.act, s.bn(s.conv(x)))

class SE(nn.Module):
    def __init__(s, c, form):
        super().__init__(); s.c1 = nn.Conv2d(c, c // 4, 1); s.c2 = nn.Conv2d(c // 4, c, 1); s.form = form
    def forward(s, x):
        y = s.c2(F.relu(s.c1(F.adaptive_avg_pool2d(x, 1))))
        return x * (hsig_paddle(y) if s.form == 0 else hsig_relu6(y))

class MBV3Block(nn.Module):
    """PaddleOCR's ResidualUnit: expand 1x1, depthwise kxk (stride may be (2,1) / (1,2)), SE, project 1x1."""
    n_se = 0
    def __init__(s, cin, mid, cout, k, stride, se, a):
        super().__init__()
        s.expand = ConvBN(cin, mid, 1, act=a)
        s.dw = ConvBN(mid, mid, k, stride, groups=mid, act=a)
        s.se = SE(mid, MBV3Block.n_se % 2) if se else None
        if se: MBV3Block.n_se += 1
        s.proj = ConvBN(mid, cout, 1, act=None)
        s.res = cin == cout and stride in (1, (1, 1))
    def forward(s, x):
        y = s.dw(s.expand(x))
        if s.se is not None: y = s.se(y)
        y = s.proj(y)
        return x + y if s.res else y

# ------------------------------------------------------------------------------------------------ ocr_det_paddle
class OcrDet(nn.Module):
    """PP-OCR det: MobileNetV3-large x0.5 backbone, DBFPN (1x1 lateral, nearest x2 + Add, 3x3, nearest x8/x4/x2,
    Concat) and DBHead (3x3 conv, BN, ReLU, ConvTranspose k2 s2 twice, Sigmoid)."""
    cfg = [[3, 16, 16, False, 'relu', 1], [3, 64, 24, False, 'relu', 2], [3, 72, 24, False, 'relu', 1],
           [5, 72, 40, True, 'relu', 2], [5, 120, 40, True, 'relu', 1], [5, 120, 40, True, 'relu', 1],
           [3, 240, 80, False, 'hswish', 2], [3, 200, 80, False, 'hswish', 1], [3, 184, 80, False, 'hswish', 1],
           [3, 184, 80, False, 'hswish', 1], [3, 480, 112, True, 'hswish', 1], [3, 672, 112, True, 'hswish', 1],
           [5, 672, 160, True, 'hswish', 2], [5, 960, 160, True, 'hswish', 1], [5, 960, 160, True, 'hswish', 1]]
    def __init__(s, scale=0.5, fpn=96):
        super().__init__()
        c = make_divisible(16 * scale)
        s.stem = ConvBN(3, c, 3, 2, act='hswish')
        s.stages = nn.ModuleList(); stage = []; outs = []
        for i, (k, e, o, se, a, st) in enumerate(s.cfg):
            if st == 2 and i > 2:
                s.stages.append(nn.Sequential(*stage)); outs.append(c); stage = []
            stage.append(MBV3Block(c, make_divisible(scale * e), make_divisible(scale * o), k, st, se, a)); c = make_divisible(scale * o)
        stage.append(ConvBN(c, make_divisible(scale * 960), 1, act='hswish')); c = make_divisible(scale * 960)
        s.stages.append(nn.Sequential(*stage)); outs.append(c)
        s.lat = nn.ModuleList(nn.Conv2d(ci, fpn, 1, bias=False) for ci in outs)
        s.smooth = nn.ModuleList(nn.Conv2d(fpn, fpn // 4, 3, padding=1, bias=False) for _ in outs)
        q = fpn // 4
        s.h1 = ConvBN(fpn, q, 3); s.t1 = nn.ConvTranspose2d(q, q, 2, 2); s.bn2 = nn.BatchNorm2d(q); s.t2 = nn.ConvTranspose2d(q, 1, 2, 2)
    def forward(s, x):
        x = s.stem(x); feats = []
        for st in s.stages:
            x = st(x); feats.append(x)
        c2, c3, c4, c5 = [l(f) for l, f in zip(s.lat, feats)]
        up = lambda t, f=2: F.interpolate(t, scale_factor=f, mode='nearest')
        p4 = c4 + up(c5); p3 = c3 + up(p4); p2 = c2 + up(p3)
        p2, p3, p4, p5 = [sm(p) for sm, p in zip(s.smooth, (p2, p3, p4, c5))]
        f = torch.cat([up(p5, 8), up(p4, 4), up(p3, 2), p2], 1)
        y = F.relu(s.bn2(s.t1(s.h1(f))))
        return torch.sigmoid(s.t2(y))

# ------------------------------------------------------------------------------------------------ ocr_rec_paddle
class OcrRec(nn.Module):
    """PP-OCR rec (CRNN): MobileNetV3-small-like x0.5 with depthwise strides (2,1)/(1,2), MaxPool (2,1)/(1,2),
    Im2Seq (Squeeze + Transpose), 2-layer BiLSTM (hidden 48), FC to 6625 classes, Softmax."""
    def __init__(s, classes=6625):
        super().__init__()
        B = MBV3Block
        s.stem = ConvBN(3, 16, 3, 2, act='hswish')                                # 24x160
        s.a = nn.Sequential(B(16, 16, 16, 3, (2, 1), True, 'relu'),               # 12x160
                            B(16, 72, 24, 3, (1, 2), False, 'relu'),              # 12x80
                            B(24, 88, 24, 3, 1, False, 'relu'))
        s.b = nn.Sequential(B(24, 96, 40, 5, (2, 1), True, 'hswish'),             # 3x80 (after pool (2,1))
                            B(40, 240, 40, 5, 1, True, 'hswish'), B(40, 120, 48, 5, 1, True, 'hswish'),
                            B(48, 144, 48, 5, 1, True, 'hswish'),
                            B(48, 288, 96, 5, (2, 1), True, 'hswish'),            # 2x80
                            B(96, 576, 96, 5, 1, True, 'hswish'), ConvBN(96, 288, 1, act='hswish'))
        s.rnn = nn.LSTM(288, 48, num_layers=2, bidirectional=True, batch_first=True)
        s.fc = nn.Linear(96, classes)
    def forward(s, x):
        x = s.a(s.stem(x))
        x = F.max_pool2d(x, (2, 1), (2, 1))                                       # 6x80
        x = s.b(x)
        x = F.max_pool2d(F.max_pool2d(x, (2, 1), (2, 1)), (1, 2), (1, 2))        # 1x40
        x = x.squeeze(2).permute(0, 2, 1)                                         # [1, 40, 288]
        x, _ = s.rnn(x)
        return F.softmax(s.fc(x), dim=2)

# ------------------------------------------------------------------------------------------------ wakeword_tf2onnx
class WakeWord(nn.Module):
    """openWakeWord's embedding model as tf2onnx leaves it: NHWC input [1,76,32,1], every Conv/MaxPool between
    Transposes, SAME padding (asymmetric where the stride needs it), leaky ReLU as Max(x, 0.2x), MaxPool 1x2."""
    def __init__(s):
        super().__init__()
        s.convs = nn.ModuleList(nn.Conv2d(a, b, k, st) for a, b, k, st, _ in [x for x in s.spec if isinstance(x, tuple)])
    # (cin, cout, kernel, stride, tf 'SAME' pads (top, bottom, left, right)) for inputs 76x32 ...
    spec = [(1, 32, (3, 3), (2, 2), (0, 1, 0, 1)), 'act',            # 38x16 (asymmetric SAME)
          (32, 32, (1, 3), (1, 1), (0, 0, 1, 1)), 'act', 'pool',   # 38x8
          (32, 64, (3, 1), (1, 1), (1, 1, 0, 0)), 'act',
          (64, 64, (1, 3), (1, 1), (0, 0, 1, 1)), 'act', 'pool',   # 38x4
          (64, 128, (3, 1), (1, 1), (1, 1, 0, 0)), 'act',
          (128, 128, (3, 3), (2, 2), (0, 1, 0, 1)), 'act',         # 19x2 (asymmetric SAME)
          (128, 128, (2, 2), (2, 2), (0, 1, 0, 0)), 'act',         # 10x1 (asymmetric SAME)
          (128, 96, (10, 1), (1, 1), (0, 0, 0, 0))]                # 1x1 (VALID): the 96-d embedding
    @classmethod
    def onnx_pads(cls):  # the Pads torch writes, in order, as ONNX pads [N, C, top, left, N, C, bottom, right]
        return [[0, 0, t, l, 0, 0, b, r] for t, b, l, r in (x[4] for x in cls.spec if isinstance(x, tuple)) if t or b or l or r]
    def forward(s, x):  # x: NHWC
        i = 0
        for step in s.spec:
            if step == 'act': x = torch.maximum(x, x * 0.2)                       # tf leaky_relu -> Mul, Max
            elif step == 'pool': x = F.max_pool2d(x.permute(0, 3, 1, 2), (1, 2), (1, 2)).permute(0, 2, 3, 1)
            else:
                t, b, l, r = step[4]
                y = x.permute(0, 3, 1, 2)
                if t or b or l or r: y = F.pad(y, (l, r, t, b))                   # folded into Conv pads afterwards
                x = s.convs[i](y).permute(0, 2, 3, 1); i += 1
        return x

# ------------------------------------------------------------------------------------------------ linedet_tf2onnx
class LineDet(nn.Module):
    """M-LSD-tiny-like: NHWC input transposed once, MobileNetV2 backbone (torchvision features[:14], BN folded),
    decoder with bilinear Resize (half_pixel and align_corners), Concat, a channel Softmax (axis 1 of 4-D), spatial
    attention broadcast [1,C,H,W]*[1,1,H,W], then NHWC output with a separate BiasAdd [1,H,W,C]+[C] and Sigmoid."""
    def __init__(s):
        super().__init__()
        import torchvision.models as tvm
        f = tvm.mobilenet_v2().features
        s.s4 = f[:4]; s.s8 = f[4:7]; s.s16 = f[7:14]                             # 24 @ 80, 32 @ 40, 96 @ 20
        def blk(a, b): return nn.Sequential(nn.Conv2d(a, b, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU6(),
                                            nn.Conv2d(b, b, 3, padding=1, groups=b, bias=False), nn.BatchNorm2d(b), nn.ReLU6())
        s.d8 = blk(96 + 32, 64); s.d4 = blk(64 + 24, 64)
        s.gate = nn.Conv2d(64, 8, 1); s.att = nn.Conv2d(64, 1, 3, padding=1)
        s.head = nn.Conv2d(64, 16, 1, bias=False); s.bias = nn.Parameter(torch.randn(16) * 0.1)
    def forward(s, x):  # NHWC
        x = x.permute(0, 3, 1, 2)
        a = s.s4(x); b = s.s8(a); c = s.s16(b)
        y = s.d8(torch.cat([F.interpolate(c, scale_factor=2, mode='bilinear', align_corners=False), b], 1))
        y = s.d4(torch.cat([F.interpolate(y, size=a.shape[-2:], mode='bilinear', align_corners=True), a], 1))
        g = F.softmax(s.gate(y), dim=1)                                           # Softmax axis=1 of [1,8,H,W]
        y = y * (1.0 + g.repeat(1, 8, 1, 1))
        y = y * torch.sigmoid(s.att(y))                                           # [1,64,H,W] * [1,1,H,W]
        y = F.interpolate(s.head(y), scale_factor=2, mode='bilinear', align_corners=False)
        return torch.sigmoid(y.permute(0, 2, 3, 1) + s.bias)                      # [1,H,W,16] + [16]

# ------------------------------------------------------------------------------------------------ conv1d_audio
class Conv1dAudio(nn.Module):
    """Raw-waveform VAD / keyword model: strided (3, 2) and dilated 1-D convs, a depthwise-separable 1-D block,
    Split + Concat, GRU (2 layers), per-frame Linear + Sigmoid; opset 11 (Squeeze/Unsqueeze/Split attributes)."""
    def __init__(s):
        super().__init__()
        s.c1 = ConvBN(1, 32, 11, 3, act='relu', dim=1)                           # 16000 -> 5334
        s.c2 = ConvBN(32, 48, 5, 2, act='relu', dim=1)                           # -> 2667
        s.c3 = nn.Conv1d(48, 64, 3, stride=2, padding=2, dilation=2)             # -> 1334
        s.dw = nn.Conv1d(64, 64, 5, stride=3, padding=4, dilation=2, groups=64)  # -> 445
        s.pw = nn.Conv1d(64, 64, 1); s.bn = nn.BatchNorm1d(64)
        s.c4 = nn.Conv1d(64, 64, 3, stride=3, padding=1)                         # -> 149
        s.gru = nn.GRU(64, 64, num_layers=2, batch_first=True)
        s.out = nn.Linear(64, 2)
    def forward(s, x):
        x = s.c2(s.c1(x))
        x = F.relu(s.c3(x))
        x = F.relu(s.bn(s.pw(s.dw(x))))
        a, b = torch.split(x, [48, 16], dim=1)
        x = torch.cat([torch.tanh(a), torch.sigmoid(b) * b], 1)
        x = F.relu(s.c4(x)).transpose(1, 2)
        y, _ = s.gru(x)
        return torch.sigmoid(s.out(y))

# ------------------------------------------------------------------------------------------------ decomposed_ops
class Decomposed(nn.Module):
    """Opset-9 forms: Pad reflect (attribute), GELU via Erf, Upsample, Slice with attributes, LayerNorm decomposed,
    Where / Greater broadcasts, Expand, Tile, channel Softmax (Transpose-Softmax-Transpose, as torch writes it
    below opset 13) and a Softmax(axis=1) of a 4-D tensor with the opset < 13 meaning (coerced to 2-D)."""
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(3, 32, 3, 2); s.ln_g = nn.Parameter(1 + 0.1 * torch.randn(32)); s.ln_b = nn.Parameter(0.1 * torch.randn(32))
        s.thr = nn.Parameter(0.3 * torch.randn(32)); s.pos = nn.Parameter(torch.randn(1, 1, 1, 32) * 0.1)
        s.c2 = nn.Conv2d(64, 32, 3, padding=1); s.c3 = nn.Conv2d(32, 4, 1)
    def forward(s, x):
        x = s.c1(F.pad(x, (1, 1, 1, 1), mode='reflect'))                          # 64x64 -> 32x32
        x = 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))                       # GELU
        x = F.interpolate(x, scale_factor=2, mode='nearest')[:, :, 1:-1, 2:]     # Upsample + Slice -> 62x62
        y = x.permute(0, 2, 3, 1)                                                 # NHWC
        mu = y.mean(-1, keepdim=True); d = y - mu
        y = d / torch.sqrt(d.pow(2).mean(-1, keepdim=True) + 1e-5) * s.ln_g + s.ln_b
        y = torch.where(y > s.thr, y, y * 0.1)                                    # [1,H,W,C] > [C]
        y = y + s.pos.expand(1, y.shape[1], y.shape[2], 32)                       # Expand
        g = y.mean((1, 2), keepdim=True).repeat(1, y.shape[1], y.shape[2], 1)     # Tile
        z = torch.cat([y, g], 3).permute(0, 3, 1, 2)
        z = s.c2(z)
        z = z * F.softmax(z, dim=1) * 32.0                                        # Transpose-Softmax-Transpose
        h = F.avg_pool2d(s.c3(z), 8)                                              # [1,4,7,7]
        p = F.softmax(h.flatten(1), 1).reshape(h.shape)                           # -> Softmax(axis=1) of the 4-D tensor
        return z, p * 196.0

# ------------------------------------------------------------------------------------------------ exports
if want('ocr_det_paddle') or want('ocr_det_paddle_fp16'):
    seed('ocr_det_paddle'); MBV3Block.n_se = 0
    m = calibrate(OcrDet(), torch.randn(2, 3, 320, 320))
    x = torch.randn(1, 3, 320, 320)
    if want('ocr_det_paddle'): save('ocr_det_paddle', m, x, 11, preserve_bn=True)
    if want('ocr_det_paddle_fp16'): save('ocr_det_paddle_fp16', m, x, 11, preserve_bn=True, round_fp16=True, post=fp16_weights())

if want('ocr_rec_paddle') or want('ocr_rec_paddle_fp16'):
    seed('ocr_rec_paddle'); MBV3Block.n_se = 0
    m = calibrate(OcrRec(), torch.randn(4, 3, 48, 320))
    with torch.no_grad(): m.fc.weight.mul_(25.0)  # spread the logits so the softmax is not ~uniform (1/6625)
    x = torch.randn(1, 3, 48, 320)
    if want('ocr_rec_paddle'): save('ocr_rec_paddle', m, x, 11, preserve_bn=True)
    if want('ocr_rec_paddle_fp16'): save('ocr_rec_paddle_fp16', m, x, 11, preserve_bn=True, round_fp16=True, post=fp16_weights())

if want('wakeword_tf2onnx'):
    seed('wakeword_tf2onnx')
    m = WakeWord()
    with torch.no_grad():  # default init shrinks activations through leaky ReLUs: scale to He-like variance
        for c in m.convs: c.weight.mul_(2.4)
    save('wakeword_tf2onnx', m, torch.randn(1, 76, 32, 1), 13, post=[fold_pad_into_conv(WakeWord.onnx_pads()), initializers_to_constants])

if want('linedet_tf2onnx'):
    seed('linedet_tf2onnx')
    m = calibrate(LineDet(), torch.randn(2, 320, 320, 3))
    save('linedet_tf2onnx', m, torch.randn(1, 320, 320, 3), 13, post=resize_half_pixel)

if want('conv1d_audio'):
    seed('conv1d_audio')
    m = calibrate(Conv1dAudio(), torch.randn(2, 1, 16000))
    with torch.no_grad(): m.out.weight.mul_(30.0)  # probabilities away from 0.5
    save('conv1d_audio', m, torch.randn(1, 1, 16000), 11)

if want('decomposed_ops'):
    seed('decomposed_ops')
    save('decomposed_ops', Decomposed(), torch.randn(1, 3, 64, 64), 9, post=softmax_2d_coerced)
