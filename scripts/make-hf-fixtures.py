"""
Builds two tiny BERT models in Hugging Face / transformers.js layout, for test/transformers.test.ts:

  OUT_DIR/tiny-bert-feature-extraction/     BertModel (output last_hidden_state)
  OUT_DIR/tiny-bert-text-classification/    BertForSequenceClassification (output logits, 3 labels)
  OUT_DIR/tiny-gpt2-text-generation/        GPT2LMHeadModel-shaped decoder with past_key_values (text-generation)

each with config.json, tokenizer.json (a ~100-token WordPiece vocab in the `tokenizers` JSON format),
tokenizer_config.json and
  onnx/model.onnx            float32
  onnx/model_fp16.onnx       float16 weights and compute, float32 outputs (onnxconverter-common's keep_io_types form)
  onnx/model_quantized.onnx  dynamic int8 in onnxruntime quantize_dynamic's form: DynamicQuantizeLinear ->
                             MatMulInteger -> Cast -> Mul (-> the existing bias Add), int8 per-tensor weights

The BERT is written here in plain torch (no `transformers` package needed), with the module structure of
Hugging Face's BertModel, seeded weights, exact (erf) GELU and a -10000 additive attention mask. Inputs are
input_ids, attention_mask, token_type_ids (int64, dynamic batch and sequence). Needs torch + onnx (Debian:
apt-get install python3-torch python3-onnx; run with /usr/bin/python3):

  /usr/bin/python3 scripts/make-hf-fixtures.py OUT_DIR
"""
import json, math, os, sys
import numpy as np
import torch
import onnx
from onnx import TensorProto, helper, numpy_helper

if len(sys.argv) < 2:
    sys.exit(__doc__)
OUT = sys.argv[1]

# ---------------------------------------------------------------- vocabulary and tokenizer.json
SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
WORDS = ['the', 'is', 'was', 'it', 'this', 'you', 'not', 'very', 'good', 'great', 'bad', 'awful',
         'love', 'hate', 'movie', 'film', 'food', 'runs', 'on', 'pi', 'fast', 'slow', 'and', 'but', 'model']
LETTERS = [chr(c) for c in range(ord('a'), ord('z') + 1)]
PUNCT = ['.', ',', '!', '?', "'"]
# Single letters double as the words 'a' and 'i'; '##x' pieces spell any other lowercase word.
VOCAB = SPECIAL + WORDS + LETTERS + ['##' + c for c in LETTERS] + PUNCT + ['##ing', '##ed', '##er']
assert len(VOCAB) == len(set(VOCAB))
V = {t: i for i, t in enumerate(VOCAB)}


def tokenizer_json():
    added = [dict(id=V[t], content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for t in SPECIAL]
    cls, sep = V['[CLS]'], V['[SEP]']
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': added,
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                       'strip_accents': None, 'lowercase': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [{'SpecialToken': {'id': '[CLS]', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                       {'SpecialToken': {'id': '[SEP]', 'type_id': 0}}],
            'pair': [{'SpecialToken': {'id': '[CLS]', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                     {'SpecialToken': {'id': '[SEP]', 'type_id': 0}}, {'Sequence': {'id': 'B', 'type_id': 1}},
                     {'SpecialToken': {'id': '[SEP]', 'type_id': 1}}],
            'special_tokens': {
                '[CLS]': {'id': '[CLS]', 'ids': [cls], 'tokens': ['[CLS]']},
                '[SEP]': {'id': '[SEP]', 'ids': [sep], 'tokens': ['[SEP]']},
            },
        },
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': V},
    }


TOKENIZER_CONFIG = {
    'tokenizer_class': 'BertTokenizer',
    'do_lower_case': True,
    'model_max_length': 64,
    'clean_up_tokenization_spaces': True,
    'cls_token': '[CLS]', 'sep_token': '[SEP]', 'pad_token': '[PAD]', 'unk_token': '[UNK]', 'mask_token': '[MASK]',
}

# ---------------------------------------------------------------- the model (Hugging Face BertModel's structure)
HIDDEN, LAYERS, HEADS, INTER, MAX_POS, TYPES = 64, 2, 2, 128, 64, 2
LABELS = ['negative', 'neutral', 'positive']


class Embeddings(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = torch.nn.Embedding(len(VOCAB), HIDDEN, padding_idx=0)
        self.position_embeddings = torch.nn.Embedding(MAX_POS, HIDDEN)
        self.token_type_embeddings = torch.nn.Embedding(TYPES, HIDDEN)
        self.LayerNorm = torch.nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, input_ids, token_type_ids):
        pos = torch.arange(input_ids.shape[1], dtype=torch.int64).unsqueeze(0)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(pos)
        return self.LayerNorm(e)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.query = torch.nn.Linear(HIDDEN, HIDDEN)
        self.key = torch.nn.Linear(HIDDEN, HIDDEN)
        self.value = torch.nn.Linear(HIDDEN, HIDDEN)
        self.attn_out = torch.nn.Linear(HIDDEN, HIDDEN)
        self.attn_norm = torch.nn.LayerNorm(HIDDEN, eps=1e-12)
        self.intermediate = torch.nn.Linear(HIDDEN, INTER)
        self.output = torch.nn.Linear(INTER, HIDDEN)
        self.out_norm = torch.nn.LayerNorm(HIDDEN, eps=1e-12)

    def heads(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, mask_add):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HIDDEN // HEADS) + mask_add
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3)
        ctx = ctx.reshape(x.shape[0], x.shape[1], HIDDEN)
        x = self.attn_norm(self.attn_out(ctx) + x)
        h = torch.nn.functional.gelu(self.intermediate(x))  # exact (erf) GELU, as BERT's "gelu"
        return self.out_norm(self.output(h) + x)


class Bert(torch.nn.Module):
    def __init__(self, classify):
        super().__init__()
        self.classify = classify
        self.embeddings = Embeddings()
        self.layers = torch.nn.ModuleList([Layer() for _ in range(LAYERS)])
        if classify:
            self.pooler = torch.nn.Linear(HIDDEN, HIDDEN)
            self.classifier = torch.nn.Linear(HIDDEN, len(LABELS))

    def forward(self, input_ids, attention_mask, token_type_ids):
        # -10000 rather than finfo.min: representable in float16, so the fp16 model masks the same way.
        mask_add = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.layers:
            x = layer(x, mask_add)
        if not self.classify:
            return x
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(pooled)


def config_json(classify):
    c = {
        'model_type': 'bert',
        'architectures': ['BertForSequenceClassification' if classify else 'BertModel'],
        'vocab_size': len(VOCAB), 'hidden_size': HIDDEN, 'num_hidden_layers': LAYERS, 'num_attention_heads': HEADS,
        'intermediate_size': INTER, 'hidden_act': 'gelu', 'max_position_embeddings': MAX_POS,
        'type_vocab_size': TYPES, 'layer_norm_eps': 1e-12, 'pad_token_id': 0,
        'hidden_dropout_prob': 0.0, 'attention_probs_dropout_prob': 0.0, 'initializer_range': 0.02,
    }
    if classify:
        c['id2label'] = {str(i): l for i, l in enumerate(LABELS)}
        c['label2id'] = {l: i for i, l in enumerate(LABELS)}
        c['problem_type'] = 'single_label_classification'
    return c


# ---------------------------------------------------------------- a GPT-2-shaped decoder with a key/value cache
GPT_LAYERS, GPT_HEADS, GPT_EMBD, GPT_POS = 2, 2, 64, 64
GPT_EOS = V['[SEP]']


class GptBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(GPT_EMBD, eps=1e-5)
        self.c_attn = torch.nn.Linear(GPT_EMBD, 3 * GPT_EMBD)
        self.attn_proj = torch.nn.Linear(GPT_EMBD, GPT_EMBD)
        self.ln_2 = torch.nn.LayerNorm(GPT_EMBD, eps=1e-5)
        self.c_fc = torch.nn.Linear(GPT_EMBD, 4 * GPT_EMBD)
        self.mlp_proj = torch.nn.Linear(4 * GPT_EMBD, GPT_EMBD)

    def forward(self, x, mask_add, past_k, past_v):
        b, s, _ = x.shape
        d = GPT_EMBD // GPT_HEADS
        q, k, v = self.c_attn(self.ln_1(x)).split(GPT_EMBD, dim=2)
        q, k, v = (t.view(b, s, GPT_HEADS, d).permute(0, 2, 1, 3) for t in (q, k, v))
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask_add, dim=-1)
        ctx = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, s, GPT_EMBD)
        x = x + self.attn_proj(ctx)
        x = x + self.mlp_proj(torch.nn.functional.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x, k, v


class Gpt(torch.nn.Module):
    """GPT2LMHeadModel's interface as Optimum exports it with a cache: input_ids, attention_mask (over past + new
    tokens), position_ids, past_key_values.{i}.key/value [batch, heads, past, head_dim] -> logits, present.{i}.*"""

    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(len(VOCAB), GPT_EMBD)
        self.wpe = torch.nn.Embedding(GPT_POS, GPT_EMBD)
        self.h = torch.nn.ModuleList([GptBlock() for _ in range(GPT_LAYERS)])
        self.ln_f = torch.nn.LayerNorm(GPT_EMBD, eps=1e-5)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        s = input_ids.shape[1]
        past_len = past[0].shape[2]
        qpos = torch.arange(s, dtype=torch.int64) + past_len
        kpos = torch.arange(attention_mask.shape[1], dtype=torch.int64)
        allowed = (kpos[None, :] <= qpos[:, None])[None, None, :, :] & (attention_mask[:, None, None, :] > 0)
        mask_add = (1.0 - allowed.to(torch.float32)) * -10000.0
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, block in enumerate(self.h):
            x, k, v = block(x, mask_add, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        logits = torch.matmul(self.ln_f(x), self.wte.weight.t())
        return (logits, *presents)


def build_gpt(name, seed):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, 'onnx'), exist_ok=True)
    torch.manual_seed(seed)
    model = Gpt().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2 if p.dim() > 1 else 0.05)
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.normal_(1.0, 0.1)
    b, s, past_len, hd = 1, 3, 2, GPT_EMBD // GPT_HEADS
    ids = torch.tensor([[V['this'], V['movie'], V['was']]], dtype=torch.int64)
    mask = torch.ones(b, past_len + s, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + s, dtype=torch.int64)[None]
    past = [torch.randn(b, GPT_HEADS, past_len, hd) for _ in range(2 * GPT_LAYERS)]
    past_names = [f'past_key_values.{i}.{kv}' for i in range(GPT_LAYERS) for kv in ('key', 'value')]
    present_names = [f'present.{i}.{kv}' for i in range(GPT_LAYERS) for kv in ('key', 'value')]
    axes = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
            'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
            'position_ids': {0: 'batch_size', 1: 'sequence_length'},
            'logits': {0: 'batch_size', 1: 'sequence_length'}}
    axes.update({n: {0: 'batch_size', 2: 'past_sequence_length'} for n in past_names})
    axes.update({n: {0: 'batch_size', 2: 'total_sequence_length'} for n in present_names})
    path = os.path.join(d, 'onnx', 'model.onnx')
    torch.onnx.export(model, (ids, mask, pos, *past), path, opset_version=14, do_constant_folding=True,
                      input_names=['input_ids', 'attention_mask', 'position_ids', *past_names],
                      output_names=['logits', *present_names], dynamic_axes=axes)
    fp32 = onnx.load(path)
    onnx.checker.check_model(fp32)
    onnx.save(to_fp16(fp32, keep_inputs=past_names), os.path.join(d, 'onnx', 'model_fp16.onnx'))
    onnx.save(quantize_dynamic(fp32), os.path.join(d, 'onnx', 'model_quantized.onnx'))
    config = {
        'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'vocab_size': len(VOCAB), 'n_embd': GPT_EMBD,
        'n_head': GPT_HEADS, 'n_layer': GPT_LAYERS, 'n_positions': GPT_POS, 'n_inner': None,
        'activation_function': 'gelu_new', 'layer_norm_epsilon': 1e-5, 'bos_token_id': GPT_EOS,
        'eos_token_id': GPT_EOS, 'pad_token_id': 0, 'use_cache': True, 'tie_word_embeddings': True,
    }
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(d, 'generation_config.json'), 'w') as f:
        json.dump({'bos_token_id': GPT_EOS, 'eos_token_id': GPT_EOS, 'pad_token_id': 0}, f, indent=2)
    with open(os.path.join(d, 'tokenizer.json'), 'w') as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
    print(name, {f: os.path.getsize(os.path.join(d, 'onnx', f)) for f in sorted(os.listdir(os.path.join(d, 'onnx')))}, flush=True)


# ---------------------------------------------------------------- float16 (keep_io_types) conversion
FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16


def to_fp16(model, keep_inputs=()):
    """Every float32 initializer, Constant and Cast target becomes float16; graph outputs stay float32 through a
    final Cast and float32 inputs (keep_inputs: the cache) through a Cast after them (onnxconverter-common's
    convert_float_to_float16(keep_io_types=True) form)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for init in g.initializer:
        if init.data_type == FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in g.node:
        for a in node.attribute:
            if node.op_type == 'Cast' and a.name == 'to' and a.i == FLOAT:
                a.i = HALF
            if node.op_type in ('Constant', 'ConstantOfShape') and a.name == 'value' and a.t.data_type == FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
    del g.value_info[:]
    casts = []
    for name in keep_inputs:
        inner = name + '_fp16'
        for node in g.node:
            node.input[:] = [inner if i == name else i for i in node.input]
        casts.append(helper.make_node('Cast', [name], [inner], to=HALF, name=name + '_to_fp16'))
    for c in reversed(casts):
        g.node.insert(0, c)
    for out in g.output:
        if out.type.tensor_type.elem_type != FLOAT:
            continue
        inner = out.name + '_fp16'
        for node in g.node:
            node.output[:] = [inner if o == out.name else o for o in node.output]
            node.input[:] = [inner if i == out.name else i for i in node.input]
        g.node.append(helper.make_node('Cast', [inner], [out.name], to=FLOAT, name=out.name + '_to_fp32'))
    return m


# ---------------------------------------------------------------- dynamic int8 (onnxruntime quantize_dynamic form)
def quantize_dynamic(model):
    """MatMul(X, W) with W a float32 2-D initializer -> DynamicQuantizeLinear(X) -> MatMulInteger(Xq, Wq, Xzp, Wzp)
    -> Cast(float) -> Mul(scale = Xscale * Wscale). Weights int8, symmetric per tensor (zero point 0), as
    onnxruntime.quantization.quantize_dynamic(weight_type=QInt8, per_channel=False) writes them."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    quantized_weights = {}
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == 'MatMul' and len(node.input) == 2 else None
        if w is None or w.data_type != FLOAT or len(w.dims) != 2:
            nodes.append(node)
            continue
        x, y, wn = node.input[0], node.output[0], w.name
        if wn not in quantized_weights:
            arr = numpy_helper.to_array(w)
            scale = np.float32(max(float(np.abs(arr).max()), 1e-8) / 127.0)
            q = np.clip(np.round(arr / scale), -127, 127).astype(np.int8)
            g.initializer.extend([
                numpy_helper.from_array(q, wn + '_quantized'),
                numpy_helper.from_array(np.array(scale, dtype=np.float32), wn + '_scale'),
                numpy_helper.from_array(np.array(0, dtype=np.int8), wn + '_zero_point'),
            ])
            quantized_weights[wn] = True
        base = node.name or y
        xq, xs, xz = x + '_quantized', x + '_scale', x + '_zero_point'
        if not any(n.op_type == 'DynamicQuantizeLinear' and n.input[0] == x for n in nodes):
            nodes.append(helper.make_node('DynamicQuantizeLinear', [x], [xq, xs, xz], name=x + '_QuantizeLinear'))
        nodes.append(helper.make_node('MatMulInteger', [xq, wn + '_quantized', xz, wn + '_zero_point'],
                                      [y + '_output_quantized'], name=base + '_quant'))
        nodes.append(helper.make_node('Mul', [xs, wn + '_scale'], [y + '_scales_mul'], name=base + '_scales_mul'))
        nodes.append(helper.make_node('Cast', [y + '_output_quantized'], [y + '_output_quantized_cast'], to=FLOAT,
                                      name=base + '_output_quantized_cast'))
        nodes.append(helper.make_node('Mul', [y + '_output_quantized_cast', y + '_scales_mul'], [y],
                                      name=base + '_output_quantized_mul'))
    del g.node[:]
    g.node.extend(nodes)
    # Drop the float weights nothing reads any more.
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    del g.value_info[:]
    if not any(o.domain in ('', 'ai.onnx') and o.version >= 11 for o in m.opset_import):
        raise SystemExit('DynamicQuantizeLinear needs opset >= 11')
    return m


# ---------------------------------------------------------------- export
def build(name, classify, seed):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, 'onnx'), exist_ok=True)
    torch.manual_seed(seed)
    model = Bert(classify).eval()
    with torch.no_grad():  # BERT-like scale (std 0.02 is too small to make distinct outputs in a 2-layer toy)
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.2)
            else:
                p.normal_(0, 0.05)
        for layer in list(model.modules()):
            if isinstance(layer, torch.nn.LayerNorm):
                layer.weight.normal_(1.0, 0.1)
    ids = torch.tensor([[V['[CLS]'], V['this'], V['movie'], V['was'], V['great'], V['[SEP]']]], dtype=torch.int64)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    out_name = 'logits' if classify else 'last_hidden_state'
    path = os.path.join(d, 'onnx', 'model.onnx')
    axes = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
            'attention_mask': {0: 'batch_size', 1: 'sequence_length'},
            'token_type_ids': {0: 'batch_size', 1: 'sequence_length'},
            out_name: {0: 'batch_size'} if classify else {0: 'batch_size', 1: 'sequence_length'}}
    torch.onnx.export(model, (ids, mask, types), path, opset_version=14, do_constant_folding=True,
                      input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=[out_name],
                      dynamic_axes=axes)
    fp32 = onnx.load(path)
    onnx.checker.check_model(fp32)
    fp16 = to_fp16(fp32)
    onnx.checker.check_model(fp16)
    onnx.save(fp16, os.path.join(d, 'onnx', 'model_fp16.onnx'))
    q8 = quantize_dynamic(fp32)
    onnx.checker.check_model(q8)
    onnx.save(q8, os.path.join(d, 'onnx', 'model_quantized.onnx'))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(config_json(classify), f, indent=2)
    with open(os.path.join(d, 'tokenizer.json'), 'w') as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
    sizes = {f: os.path.getsize(os.path.join(d, 'onnx', f)) for f in sorted(os.listdir(os.path.join(d, 'onnx')))}
    print(name, sizes, flush=True)


build('tiny-bert-feature-extraction', classify=False, seed=0)
build('tiny-bert-text-classification', classify=True, seed=1)
build_gpt('tiny-gpt2-text-generation', seed=2)
