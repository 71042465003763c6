import { ONNX_DTYPE_CODES, sizeOf, type DType, type TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node } from '../../loader/model.js';
import { integerRange, quantizeToRange, roundHalfEven } from '../../kernels/quant/rounding.js';
import { attrFloat, attrInt } from '../attributes.js';
import { implicitInputs } from '../scope.js';
import { GraphIndex, rewrite } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Runs QDQ models in integer arithmetic, as onnxruntime's QDQ transformers do. A quantizer writes every
 * quantized operator as DequantizeLinear → op (in float) → QuantizeLinear; each such group whose
 * quantization parameters are constants becomes one integer node reading the 8-bit tensors directly:
 *   DQ(x), DQ(W)[, DQ(B) | B] → Conv   [→ Relu | Clip] → Q   ⇒ QLinearConv            (tinfer.QLinearConv with a clamp)
 *   DQ(a), DQ(b)              → MatMul [→ Relu | Clip] → Q   ⇒ QLinearMatMul          (tinfer.QLinearMatMul)
 *   DQ(a), DQ(B)[, DQ(C) | C] → Gemm   [→ Relu | Clip] → Q   ⇒ com.microsoft QGemm    (tinfer.QGemm)
 *   DQ(a), DQ(B)[, DQ(C) | C] → Gemm with a float output        ⇒ com.microsoft QGemm without y_scale
 *   DQ(a), DQ(b) → Add | Mul → Q                             ⇒ com.microsoft QLinearAdd | QLinearMul
 *   DQ(x) → GlobalAveragePool → Q                            ⇒ com.microsoft QLinearGlobalAveragePool
 *   DQ(x_i)... → Concat → Q                                  ⇒ com.microsoft QLinearConcat
 *   DQ(x) → MaxPool | Reshape | Flatten | Transpose | Squeeze | Unsqueeze → Q with the same scale and
 *     zero point ⇒ the op on the 8-bit tensor (they only move or select values, and dequantization is
 *     monotone, so they commute with it exactly).
 * A Relu or Clip before the Q is exact as a clamp of the quantized output, because quantization q(v) is
 * monotone: q(min(max(v, a), b)) = min(max(q(v), q(a)), q(b)); for Relu, q(0) is the zero point.
 * The integer result differs from the float one only by the rounding of the requantization, i.e. by at
 * most one quantization step (onnxruntime's QDQ execution computes the same integers).
 * The op's output (and the Relu's) must be read only inside the group; the DQ nodes are bypassed, not
 * removed, so a DQ output read elsewhere stays correct (unread ones go with dead-code elimination).
 * Casts of a quantized value to its own type (PyTorch's exporter puts one after every Q) are dropped first.
 */
export function fuseQdq(graph: Graph): Graph {
  const bodies = withOptimisedBodies(graph, fuseQdq);
  // Every group has a QuantizeLinear or (a Gemm with a float output) DequantizeLinear inputs.
  const index = new GraphIndex(bodies);
  if (!index.hasOp('QuantizeLinear') && !index.hasOp('DequantizeLinear')) return bodies;
  const withBodies = dropSameTypeCasts(bodies);
  const f = new QdqFuser(withBodies);
  for (const q of withBodies.nodes) if (isPlain(q, 'QuantizeLinear')) f.tryGroupEndingAt(q);
  for (const gemm of withBodies.nodes) if (isPlain(gemm, 'Gemm') && !f.removed.has(gemm)) f.tryFloatOutputGemm(gemm);
  for (const q of withBodies.nodes) if (isPlain(q, 'QuantizeLinear') && !f.removed.has(q)) f.tryLookupEndingAt(q);
  if (f.removed.size === 0) return withBodies;
  return rewrite(withBodies, f.removed, f.replacements, f.initializers);
}

/** At most this many elements are evaluated when a parameter is computed by Cast / ConstantOfShape. */
const MAX_FOLDED_ELEMENTS = 1 << 16;

/** A DequantizeLinear or QuantizeLinear with constant parameters. */
interface QuantParams {
  /** The quantized tensor (DQ's input; Q's output). */
  tensor: string;
  dtype: DType;
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** Dimension of the per-axis parameters (resolved against `rank` by the caller); undefined per tensor. */
  axis: number | undefined;
}

function isPlain(node: Node | undefined, opType: string): node is Node {
  return node !== undefined && node.opType === opType && node.domain === '';
}

/** Number values of a numeric tensor (int64 as numbers: quantization parameters are small). */
function numbers(t: TensorData): number[] | undefined {
  if (t.dtype === 'string') return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

class QdqFuser {
  readonly removed = new Set<Node>();
  readonly replacements = new Map<Node, Node>();
  readonly initializers = new Map<string, TensorData>();
  private readonly g: GraphIndex;

  constructor(graph: Graph) {
    this.g = new GraphIndex(graph);
  }

  tryGroupEndingAt(q: Node): void {
    const out = this.quantizeParams(q);
    if (out === undefined || out.scale.length !== 1) return;
    const [lo, hi] = integerRange(out.dtype)!;
    let src = q.inputs[0]!;
    const group = [q];
    let clamp: [number, number] = [lo, hi];
    let producer = this.g.producer(src);
    const act = producer !== undefined && this.g.useCount(src) === 1 ? this.activationClamp(producer, out, lo, hi) : undefined;
    if (act !== undefined) {
      clamp = act;
      group.push(producer!);
      src = producer!.inputs[0]!;
      producer = this.g.producer(src);
      if (isPlain(producer, 'DequantizeLinear')) {
        const alone = this.standaloneActivation(group[1]!, src, out, clamp, lo, hi);
        if (alone !== undefined) {
          group.forEach((n) => this.removed.add(n));
          this.replacements.set(q, alone);
        }
        return;
      }
    }
    if (producer === undefined || producer.domain !== '' || this.g.useCount(src) !== 1 || producer.outputs.length < 1) return;
    if (producer.outputs.slice(1).some((o) => o !== '' && this.g.useCount(o) > 0)) return;
    group.push(producer);
    const fused = this.integerNode(producer, out, clamp, lo, hi, group.length > 2);
    if (fused === undefined) return;
    group.forEach((n) => this.removed.add(n));
    this.replacements.set(q, fused);
  }

  /**
   * A Q whose float input is an elementwise function of one 8-bit tensor S alone (through per-tensor DQs of S,
   * float unary ops, binary ops with S-derived or scalar-constant operands, and inner Q → DQ pairs) is a function
   * of S's byte: tinfer.QLinearLookup(S, table) with the 256 results. EfficientNet's QDQ SiLU, DQ(S) → Sigmoid →
   * Q → DQ → Mul(DQ(S), ·) → Q, is seven nodes over four full tensors per block, and one table lookup here;
   * MobileNetV3's decomposed hard-swish likewise. The table is the chain evaluated on each byte in float32, op by
   * op as the float kernels compute (onnxruntime evaluates its QLinear unary ops through such tables too). The
   * nodes in between stay until dead-code elimination, so values read elsewhere keep their producers.
   */
  tryLookupEndingAt(q: Node): void {
    const out = this.quantizeParams(q);
    if (out === undefined || out.scale.length !== 1) return;
    const chain: LookupChain = { source: undefined, signed: false, nodes: 0, minRank: 0, memo: new Map() };
    const f = this.lookupValue(q.inputs[0]!, chain);
    if (f === undefined || chain.source === undefined || chain.nodes < 2) return;
    const [lo, hi] = integerRange(out.dtype)!;
    const table = new Int32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      const v = chain.signed && byte > 127 ? byte - 256 : byte;
      table[byte] = quantizeToRange(Math.fround(f(v) / out.scale[0]!), out.zeroPoint[0]!, lo, hi);
    }
    const tableName = this.add(`${q.name || 'QuantizeLinear'}_table`, { dtype: out.dtype, shape: [256], data: toStorage(out.dtype, table) });
    const attrs = new Map<string, Attribute>([['min_rank', { type: 'int', value: chain.minRank }]]);
    this.removed.add(q);
    this.replacements.set(q, {
      name: `${q.name || 'QuantizeLinear'}_lookup`, opType: 'QLinearLookup', domain: 'tinfer', inputs: [chain.source, tableName], outputs: [out.tensor], attributes: attrs,
    });
  }

  /**
   * The value of tensor `name` as a function of the source's integer value v, or undefined when it is not an
   * elementwise function of one 8-bit tensor (see tryLookupEndingAt). A DQ's input is traced through its Q when
   * that Q's input is such a function, else it is the source; every path must reach the same source.
   */
  private lookupValue(name: string, chain: LookupChain): ((v: number) => number) | undefined {
    if (chain.memo.has(name)) return chain.memo.get(name);
    if (++chain.nodes > MAX_LOOKUP_NODES) return undefined;
    const value = this.lookupValueUncached(name, chain);
    chain.memo.set(name, value);
    return value;
  }

  private lookupValueUncached(name: string, chain: LookupChain): ((v: number) => number) | undefined {
    const scalar = this.g.constant(name);
    if (scalar !== undefined) {
      if (scalar.dtype !== 'float32' || scalar.data.length !== 1) return undefined;
      chain.minRank = Math.max(chain.minRank, scalar.shape.length);
      const c = (scalar.data as Float32Array)[0]!;
      return () => c;
    }
    const p = this.g.producer(name);
    if (p === undefined || p.domain !== '' || p.outputs[0] !== name) return undefined;
    if (p.opType === 'DequantizeLinear') {
      const x = this.activation(name);
      if (x === undefined || (x.dtype !== 'uint8' && x.dtype !== 'int8') || this.g.constant(x.tensor) !== undefined) return undefined;
      const [scale, zp] = [x.scale[0]!, x.zeroPoint[0]!];
      const dequantize = (i: number) => Math.fround(Math.fround(i - zp) * scale);
      const inner = this.innerQuantizer(x.tensor, chain);
      if (inner !== undefined) return (v) => dequantize(inner(v));
      if (chain.source !== undefined && chain.source !== x.tensor) return undefined;
      chain.source = x.tensor;
      chain.signed = x.dtype === 'int8';
      return dequantize;
    }
    // Only the elementwise ops scalarFloatOp knows can be part of a chain: stop before tracing another op's inputs
    // (a conv's would lead back through the whole network, layer by layer, for every Q of the graph).
    if (!SCALAR_FLOAT_OPS.has(p.opType)) return undefined;
    const ins: Array<(v: number) => number> = [];
    for (const input of p.inputs) {
      if (input === '') { ins.push(() => Number.NaN); continue; }
      const f = this.lookupValue(input, chain);
      if (f === undefined) return undefined;
      ins.push(f);
    }
    return scalarFloatOp(p, ins, (i) => this.scalarConstant(p.inputs[i] ?? ''));
  }

  /** A Q (per tensor, 8-bit) producing `tensor` whose input is a function of the source: v ↦ its integer. */
  private innerQuantizer(tensor: string, chain: LookupChain): ((v: number) => number) | undefined {
    const q = this.g.producer(tensor);
    if (!isPlain(q, 'QuantizeLinear')) return undefined;
    const p = this.quantizeParams(q);
    if (p === undefined || p.scale.length !== 1) return undefined;
    // Traced on a copy: a Q that does not lead to the source leaves the chain as it was (its output is the source).
    const attempt: LookupChain = { ...chain, memo: new Map(chain.memo) };
    const f = this.lookupValue(q.inputs[0]!, attempt);
    if (f === undefined || attempt.source === undefined) return undefined;
    Object.assign(chain, attempt);
    const [lo, hi] = integerRange(p.dtype)!;
    const [scale, zp] = [p.scale[0]!, p.zeroPoint[0]!];
    return (v) => quantizeToRange(Math.fround(f(v) / scale), zp, lo, hi);
  }

  /** The number in a one-element constant (a Clip bound), undefined otherwise. */
  private scalarConstant(name: string): number | undefined {
    if (name === '') return undefined;
    const t = this.constantParam(name);
    const v = t === undefined ? undefined : numbers(t);
    return v !== undefined && v.length === 1 ? v[0] : undefined;
  }

  /**
   * DQ(A), DQ(B) → Gemm whose float output is not quantized again (a classifier's last layer) → QGemm without
   * y_scale, which writes float (acc + C)·a_scale·b_scale: the integer product, exact, scaled once.
   */
  tryFloatOutputGemm(gemm: Node): void {
    const fused = this.fuseGemm(gemm, undefined, [0, 0], true);
    if (fused === undefined) return;
    this.removed.add(gemm);
    this.replacements.set(gemm, fused);
  }

  private integerNode(op: Node, out: QuantParams, clamp: [number, number], lo: number, hi: number, hasActivation: boolean): Node | undefined {
    const unclamped = clamp[0] === lo && clamp[1] === hi;
    switch (op.opType) {
      case 'Conv':
        return this.fuseConv(op, out, clamp, unclamped);
      case 'MatMul':
        return this.fuseMatMul(op, out, clamp, unclamped);
      case 'Gemm':
        return this.fuseGemm(op, out, clamp, unclamped);
      case 'Add':
      case 'Mul':
        return unclamped ? this.fuseAddMul(op, out) : undefined;
      case 'GlobalAveragePool':
        return unclamped ? this.fuseGlobalAveragePool(op, out) : undefined;
      case 'Concat':
        return unclamped ? this.fuseConcat(op, out) : undefined;
      case 'MaxPool':
      case 'Reshape':
      case 'Flatten':
      case 'Transpose':
      case 'Squeeze':
      case 'Unsqueeze':
        return hasActivation ? undefined : this.commute(op, out);
      default:
        return undefined;
    }
  }

  // ---- the groups ----

  // Conv(DQ(x), DQ(W), bias?) → QLinearConv(x, xs, xz, W, ws, wz, ys, yz, B int32): W per tensor or per output channel.
  private fuseConv(conv: Node, out: QuantParams, clamp: [number, number], unclamped: boolean): Node | undefined {
    if (conv.inputs.length < 2 || conv.inputs.length > 3) return undefined;
    const x = this.activation(conv.inputs[0]!);
    const w = this.weight(conv.inputs[1]!, 0);
    if (x === undefined || w === undefined || out.dtype !== 'uint8' && out.dtype !== 'int8') return undefined;
    const M = w.value.shape[0]!;
    if (w.value.shape.length < 3 || !perChannelOk(w.params, M)) return undefined;
    const bias = this.integerBias(conv.inputs[2] ?? '', x.scale[0]!, w.params.scale, M);
    if (bias === null) return undefined;
    const inputs = [
      x.tensor, ...this.params(conv, 'x', x), w.params.tensor, ...this.params(conv, 'w', w.params),
      ...this.params(conv, 'y', out), bias === undefined ? '' : this.add(`${conv.name || 'conv'}_qdq_bias`, bias),
    ];
    while (inputs[inputs.length - 1] === '') inputs.pop();
    return this.node(conv, 'QLinearConv', inputs, out, clamp, unclamped, copyAttributes(conv));
  }

  // MatMul(DQ(a), DQ(b)) → QLinearMatMul(a, as, az, b, bs, bz, ys, yz): b per tensor or, if 2-D, per column.
  private fuseMatMul(mm: Node, out: QuantParams, clamp: [number, number], unclamped: boolean): Node | undefined {
    if (mm.inputs.length !== 2) return undefined;
    const a = this.activation(mm.inputs[0]!);
    const b = this.operand(mm.inputs[1]!);
    if (a === undefined || b === undefined) return undefined;
    if (b.scale.length !== 1) {
      const rank = b.rank;
      if (rank !== 2 || normAxis(b.axis, rank) !== 1) return undefined;
    }
    const inputs = [a.tensor, ...this.params(mm, 'a', a), b.tensor, ...this.params(mm, 'b', b), ...this.params(mm, 'y', out)];
    return this.node(mm, 'QLinearMatMul', inputs, out, clamp, unclamped, new Map());
  }

  // Gemm(DQ(A), DQ(B), C?) with alpha = beta = 1, transA = 0 → com.microsoft QGemm(A, as, az, B, bs, bz, C int32, ys, yz).
  private fuseGemm(gemm: Node, out: QuantParams | undefined, clamp: [number, number], unclamped: boolean): Node | undefined {
    if (gemm.inputs.length < 2 || gemm.inputs.length > 3) return undefined;
    if (attrFloat(gemm, 'alpha', 1) !== 1 || attrFloat(gemm, 'beta', 1) !== 1 || attrInt(gemm, 'transA', 0) !== 0) return undefined;
    const transB = attrInt(gemm, 'transB', 0);
    const a = this.activation(gemm.inputs[0]!);
    const b = this.weight(gemm.inputs[1]!, transB ? 0 : 1);
    if (a === undefined || b === undefined || b.value.shape.length !== 2) return undefined;
    const N = b.value.shape[transB ? 0 : 1]!;
    if (!perChannelOk(b.params, N)) return undefined;
    const bias = this.integerBias(gemm.inputs[2] ?? '', a.scale[0]!, b.params.scale, N);
    if (bias === null) return undefined;
    const inputs = [
      a.tensor, ...this.params(gemm, 'a', a), b.params.tensor, ...this.params(gemm, 'b', b.params),
      bias === undefined ? '' : this.add(`${gemm.name || 'gemm'}_qdq_bias`, bias), ...(out === undefined ? [] : this.params(gemm, 'y', out)),
    ];
    const attrs = new Map<string, Attribute>(transB ? [['transB', { type: 'int', value: 1 }]] : []);
    if (out === undefined) {
      while (inputs[inputs.length - 1] === '') inputs.pop();
      return { name: `${gemm.name || 'Gemm'}_int8`, opType: 'QGemm', domain: 'com.microsoft', inputs, outputs: [gemm.outputs[0]!], attributes: attrs };
    }
    return this.node(gemm, 'QGemm', inputs, out, clamp, unclamped, attrs, 'com.microsoft');
  }

  /**
   * DQ(a) + DQ(b) or DQ(a)·DQ(b) → Q ⇒ com.microsoft QLinearAdd / QLinearMul (the same float32 steps). A product or
   * sum whose operands both come from one 8-bit tensor (a SiLU's x·σ(x)) is left to the table lookup, which takes
   * the whole chain.
   */
  private fuseAddMul(op: Node, out: QuantParams): Node | undefined {
    if (op.inputs.length !== 2) return undefined;
    const a = this.activation(op.inputs[0]!);
    const b = this.activation(op.inputs[1]!);
    if (a === undefined || b === undefined || a.dtype !== out.dtype || b.dtype !== out.dtype) return undefined;
    if (this.isLookupChain(op.outputs[0]!)) return undefined;
    const inputs = [a.tensor, ...this.params(op, 'a', a), b.tensor, ...this.params(op, 'b', b), ...this.params(op, 'y', out)];
    return this.contribNode(op, op.opType === 'Add' ? 'QLinearAdd' : 'QLinearMul', inputs, out, new Map());
  }

  /** True when `name` is an elementwise function of one 8-bit tensor (see tryLookupEndingAt). */
  private isLookupChain(name: string): boolean {
    const chain: LookupChain = { source: undefined, signed: false, nodes: 0, minRank: 0, memo: new Map() };
    return this.lookupValue(name, chain) !== undefined && chain.source !== undefined;
  }

  // GlobalAveragePool(DQ(x)) → com.microsoft QLinearGlobalAveragePool(x, xs, xz, ys, yz).
  private fuseGlobalAveragePool(pool: Node, out: QuantParams): Node | undefined {
    const x = this.activation(pool.inputs[0]!);
    if (x === undefined || x.dtype !== out.dtype) return undefined;
    const inputs = [x.tensor, ...this.params(pool, 'x', x), ...this.params(pool, 'y', out)];
    return this.contribNode(pool, 'QLinearGlobalAveragePool', inputs, out, new Map([['channels_last', { type: 'int', value: 0 }]]));
  }

  // Concat(DQ(x_i)...) → com.microsoft QLinearConcat(ys, yz, x_0, s_0, z_0, ...); each input is requantized to y.
  private fuseConcat(concat: Node, out: QuantParams): Node | undefined {
    const parts = concat.inputs.map((name) => this.activation(name));
    if (parts.length === 0 || parts.some((p) => p === undefined || p.dtype !== out.dtype)) return undefined;
    const inputs = [...this.params(concat, 'y', out), ...parts.flatMap((p, i) => [p!.tensor, ...this.params(concat, `x${i}`, p!)])];
    return this.contribNode(concat, 'QLinearConcat', inputs, out, copyAttributes(concat));
  }

  // DQ → op → Q with equal parameters: the op reads the 8-bit tensor (other inputs, e.g. Reshape's shape, unchanged).
  private commute(op: Node, out: QuantParams): Node | undefined {
    const x = this.activation(op.inputs[0]!);
    if (x === undefined || x.dtype !== out.dtype || x.scale[0] !== out.scale[0] || x.zeroPoint[0] !== out.zeroPoint[0]) return undefined;
    if (op.outputs.length > 1 && op.outputs.slice(1).some((o) => o !== '')) return undefined;
    return { ...op, name: `${op.name || op.opType}_int8`, inputs: [x.tensor, ...op.inputs.slice(1)], outputs: [out.tensor] };
  }

  /**
   * DQ → Relu | Clip → Q on its own: with equal parameters and a clamp the type's saturation already does,
   * the 8-bit tensor passes through (Identity); a Relu otherwise is com.microsoft QLinearLeakyRelu with
   * alpha 0, which dequantizes, applies it and requantizes exactly as the float nodes do.
   */
  private standaloneActivation(act: Node, dqOutput: string, out: QuantParams, clamp: [number, number], lo: number, hi: number): Node | undefined {
    const x = this.activation(dqOutput);
    if (x === undefined || x.dtype !== out.dtype) return undefined;
    const sameParams = x.scale[0] === out.scale[0] && x.zeroPoint[0] === out.zeroPoint[0];
    const name = `${act.name || act.opType}_int8`;
    if (sameParams && clamp[0] === lo && clamp[1] === hi) {
      return { name, opType: 'Identity', domain: '', inputs: [x.tensor], outputs: [out.tensor], attributes: new Map() };
    }
    if (act.opType !== 'Relu') return undefined;
    const inputs = [x.tensor, ...this.params(act, 'x', x), ...this.params(act, 'y', out)];
    return this.contribNode(act, 'QLinearLeakyRelu', inputs, out, new Map([['alpha', { type: 'float', value: 0 }]]));
  }

  // ---- building nodes ----

  private node(
    op: Node, opType: string, inputs: string[], out: QuantParams, clamp: [number, number], unclamped: boolean,
    attrs: Map<string, Attribute>, domain = '',
  ): Node {
    if (!unclamped) {
      attrs.set('output_min', { type: 'int', value: clamp[0] });
      attrs.set('output_max', { type: 'int', value: clamp[1] });
    }
    return { name: `${op.name || op.opType}_int8`, opType, domain: unclamped ? domain : 'tinfer', inputs, outputs: [out.tensor], attributes: attrs };
  }

  private contribNode(op: Node, opType: string, inputs: string[], out: QuantParams, attrs: Map<string, Attribute>): Node {
    return { name: `${op.name || op.opType}_int8`, opType, domain: 'com.microsoft', inputs, outputs: [out.tensor], attributes: attrs };
  }

  /** Fresh initializers for a scale and zero point (the originals may be computed, or typed for another use). */
  private params(op: Node, role: string, p: QuantParams): [string, string] {
    const base = `${op.name || op.opType}_${role}`;
    const shape = p.scale.length === 1 ? [] : [p.scale.length];
    const zp = integerRange(p.dtype) === undefined ? undefined : toStorage(p.dtype, p.zeroPoint);
    return [
      this.add(`${base}_scale`, { dtype: 'float32', shape, data: Float32Array.from(p.scale) }),
      this.add(`${base}_zero_point`, { dtype: p.dtype, shape, data: zp! }),
    ];
  }

  private add(base: string, t: TensorData): string {
    const name = this.g.freshName(base);
    this.initializers.set(name, t);
    return name;
  }

  // ---- reading the Q / DQ nodes ----

  /** A per-tensor 8-bit DequantizeLinear (the activation side). */
  private activation(name: string): QuantParams | undefined {
    const p = this.operand(name);
    return p !== undefined && p.scale.length === 1 ? p : undefined;
  }

  /** Any 8-bit DequantizeLinear with constant parameters; rank is the tensor's rank when it is a constant. */
  private operand(name: string): (QuantParams & { rank: number | undefined }) | undefined {
    const dq = this.g.producer(name);
    if (!isPlain(dq, 'DequantizeLinear') || dq.inputs.length < 2) return undefined;
    const x = dq.inputs[0]!;
    const value = this.g.constant(x);
    const p = this.readParams(dq, x, value?.dtype);
    if (p === undefined || (value !== undefined && value.dtype !== p.dtype)) return undefined;
    const rank = value?.shape.length ?? this.g.rankOf(x);
    return { ...p, rank };
  }

  /** DequantizeLinear of a constant 8-bit weight, per tensor or per axis along `channelAxis`. */
  private weight(name: string, channelAxis: number): { params: QuantParams; value: TensorData } | undefined {
    const dq = this.g.producer(name);
    if (!isPlain(dq, 'DequantizeLinear') || dq.inputs.length < 2) return undefined;
    const value = this.g.constant(dq.inputs[0]!);
    if (value === undefined) return undefined;
    const params = this.readParams(dq, dq.inputs[0]!, value.dtype);
    if (params === undefined || params.dtype !== value.dtype) return undefined;
    if (params.scale.length !== 1 && normAxis(params.axis, value.shape.length) !== channelAxis) return undefined;
    return { params, value };
  }

  private quantizeParams(q: Node): QuantParams | undefined {
    if (q.inputs.length < 2 || q.outputs.length !== 1) return undefined;
    if (q.attributes.has('output_dtype') && q.inputs.length < 3) return undefined;
    if (attrInt(q, 'saturate', 1) !== 1) return undefined;
    return this.readParams(q, q.outputs[0]!, undefined);
  }

  /** Scale and zero point of a Q or DQ node when both are constants, the zero point is given or the type known. */
  private readParams(node: Node, tensor: string, knownType: DType | undefined): QuantParams | undefined {
    if (attrInt(node, 'block_size', 0) !== 0) return undefined;
    const scaleT = this.constantParam(node.inputs[1]!);
    const zpName = node.inputs[2] ?? '';
    const zpT = zpName === '' ? undefined : this.constantParam(zpName);
    if (scaleT === undefined || scaleT.dtype !== 'float32' || (zpName !== '' && zpT === undefined)) return undefined;
    const dtype = zpT?.dtype ?? knownType;
    if (dtype !== 'uint8' && dtype !== 'int8' && !(dtype === 'int32' && node.opType === 'DequantizeLinear')) return undefined;
    const scale = scaleT.data as Float32Array;
    const zps = zpT === undefined ? new Array<number>(scale.length).fill(0) : numbers(zpT);
    if (zps === undefined || zps.length !== scale.length || scale.length === 0) return undefined;
    if (scale.length > 1 && scaleT.shape.length !== 1) return undefined;
    if (!scale.every((s) => s > 0 && Number.isFinite(s))) return undefined;
    return {
      tensor,
      dtype,
      scale: Float32Array.from(scale),
      zeroPoint: Int32Array.from(zps),
      axis: scale.length === 1 ? undefined : attrInt(node, 'axis', 1),
    };
  }

  /**
   * The value of a quantization parameter: an initializer or Constant, or a Cast / ConstantOfShape of one
   * (PyTorch computes the bias zero point as Cast(ConstantOfShape([1]))).
   */
  private constantParam(name: string): TensorData | undefined {
    const direct = this.g.constant(name);
    if (direct !== undefined) return direct;
    const p = this.g.producer(name);
    if (p === undefined || p.domain !== '') return undefined;
    if (p.opType === 'Cast' && p.inputs.length === 1) {
      const src = this.constantParam(p.inputs[0]!);
      const to = ONNX_DTYPE_CODES[attrInt(p, 'to', 0)];
      if (src === undefined || to === undefined || integerRange(to) === undefined || integerRange(src.dtype) === undefined && src.dtype !== 'int64') return undefined;
      const values = numbers(src)!;
      const [lo, hi] = integerRange(to)!;
      if (values.some((v) => v < lo || v > hi)) return undefined;
      return { dtype: to, shape: [...src.shape], data: toStorage(to, Int32Array.from(values)) };
    }
    if (p.opType === 'ConstantOfShape' && p.inputs.length === 1) {
      const shapeT = this.constantParam(p.inputs[0]!);
      const dims = shapeT === undefined ? undefined : numbers(shapeT);
      if (dims === undefined || dims.some((d) => d < 0) || sizeOf(dims) > MAX_FOLDED_ELEMENTS) return undefined;
      const attr = p.attributes.get('value');
      const fill: TensorData = attr?.type === 'tensor' ? attr.value : { dtype: 'float32', shape: [1], data: new Float32Array(1) };
      if (fill.dtype === 'string' || fill.data.length !== 1) return undefined;
      const n = sizeOf(dims);
      const data = new (fill.data.constructor as new (n: number) => Float32Array)(n);
      (data as unknown as { fill(v: unknown): void }).fill(fill.data[0]);
      return { dtype: fill.dtype, shape: dims, data };
    }
    return undefined;
  }

  /**
   * The clamp of the quantized output that Relu / Clip before a Q amounts to, or undefined when `act` is
   * not one (or its bounds are not constants). q is monotone, so the bounds are q(0), q(min), q(max).
   */
  private activationClamp(act: Node, out: QuantParams, lo: number, hi: number): [number, number] | undefined {
    if (act.domain !== '' || act.outputs.length !== 1) return undefined;
    const q = (v: number) => quantizeToRange(Math.fround(v / out.scale[0]!), out.zeroPoint[0]!, lo, hi);
    if (act.opType === 'Relu' && act.inputs.length === 1) return [q(0), hi];
    if (act.opType !== 'Clip') return undefined;
    let min = attrFloat(act, 'min', -Infinity);
    let max = attrFloat(act, 'max', Infinity);
    for (const [i, apply] of [[1, (v: number) => (min = v)], [2, (v: number) => (max = v)]] as const) {
      const name = act.inputs[i] ?? '';
      if (name === '') continue;
      const t = this.constantParam(name);
      const v = t === undefined ? undefined : numbers(t);
      if (v === undefined || v.length !== 1) return undefined;
      apply(v[0]!);
    }
    const cmin = min === -Infinity ? lo : q(min);
    const cmax = max === Infinity ? hi : q(max);
    return cmin <= cmax ? [cmin, cmax] : undefined;
  }

  /**
   * The int32 bias in accumulator units (scale x_scale·w_scale[m], zero point 0): a DQ of an int32 constant
   * with that scale is taken as is; a float bias or another scale is rounded to it (half an accumulator
   * unit at most). undefined when there is no bias, null when it cannot be used.
   */
  private integerBias(name: string, xScale: number, wScale: Float32Array, M: number): TensorData | undefined | null {
    if (name === '') return undefined;
    const accScale = (m: number) => Math.fround(xScale * wScale[wScale.length === 1 ? 0 : m]!);
    let real: (m: number) => number;
    let exact: Int32Array | undefined;
    const dq = this.g.producer(name);
    if (isPlain(dq, 'DequantizeLinear')) {
      const value = this.g.constant(dq.inputs[0]!);
      const p = value === undefined ? undefined : this.readParams(dq, dq.inputs[0]!, value.dtype);
      if (value === undefined || p === undefined || value.dtype !== 'int32' || value.data.length !== M) return null;
      if (p.scale.length !== 1 && p.scale.length !== M) return null;
      const b = value.data as Int32Array;
      const at = (m: number) => (p.scale.length === 1 ? 0 : m);
      const sameScale = b.every((_, m) => p.zeroPoint[at(m)] === 0 && Math.abs(p.scale[at(m)]! - accScale(m)) <= 1e-6 * accScale(m));
      if (sameScale) exact = Int32Array.from(b);
      real = (m) => (b[m]! - p.zeroPoint[at(m)]!) * p.scale[at(m)]!;
    } else {
      const value = this.g.constant(name);
      if (value === undefined || value.dtype !== 'float32' || value.data.length !== M || value.shape.length !== 1) return null;
      const b = value.data as Float32Array;
      real = (m) => b[m]!;
    }
    const data = exact ?? new Int32Array(M);
    if (exact === undefined) {
      for (let m = 0; m < M; m++) {
        const v = roundHalfEven(real(m) / accScale(m));
        if (!(Math.abs(v) < 2 ** 31)) return null;
        data[m] = v;
      }
    }
    return { dtype: 'int32', shape: [M], data };
  }
}

/** Per-axis weight parameters must have one entry per output channel. */
/** Nodes a lookup chain may span (EfficientNet's SiLU has 6 before its final Q). */
const MAX_LOOKUP_NODES = 32;

interface LookupChain {
  /** The 8-bit tensor every path reaches. */
  source: string | undefined;
  signed: boolean;
  nodes: number;
  /** The largest rank of a scalar constant operand: the output broadcasts to at least this rank. */
  minRank: number;
  memo: Map<string, ((v: number) => number) | undefined>;
}

const f32 = Math.fround;

/**
 * One elementwise float32 op on scalars, as the float kernels compute it (each result rounded to float32), or
 * undefined for ops a lookup chain does not take. `constant(i)` reads input i when it is a constant (Clip bounds).
 */
/** The ops scalarFloatOp evaluates. */
const SCALAR_FLOAT_OPS: ReadonlySet<string> = new Set([
  'Identity', 'Relu', 'Neg', 'Abs', 'Exp', 'Tanh', 'Sigmoid', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Clip', 'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min',
]);

function scalarFloatOp(
  node: Node, ins: ReadonlyArray<(v: number) => number>, constant: (i: number) => number | undefined,
): ((v: number) => number) | undefined {
  if (node.outputs.length !== 1) return undefined;
  const [a, b] = ins;
  const unary = (fn: (x: number) => number) => (ins.length === 1 ? (v: number) => f32(fn(a!(v))) : undefined);
  const binary = (fn: (x: number, y: number) => number) => (ins.length === 2 ? (v: number) => f32(fn(a!(v), b!(v))) : undefined);
  switch (node.opType) {
    case 'Identity': return unary((x) => x);
    case 'Relu': return unary((x) => (x > 0 ? x : 0));
    case 'Neg': return unary((x) => -x);
    case 'Abs': return unary((x) => Math.abs(x));
    case 'Exp': return unary((x) => Math.exp(x));
    case 'Tanh': return unary((x) => Math.tanh(x));
    case 'Sigmoid': return unary((x) => 1 / (1 + Math.exp(-x)));
    case 'LeakyRelu': {
      const alpha = f32(attrFloat(node, 'alpha', 0.01));
      return unary((x) => (x >= 0 ? x : f32(alpha * x)));
    }
    case 'HardSigmoid': {
      const [alpha, beta] = [f32(attrFloat(node, 'alpha', 0.2)), f32(attrFloat(node, 'beta', 0.5))];
      return unary((x) => Math.min(1, Math.max(0, f32(f32(alpha * x) + beta))));
    }
    case 'HardSwish': return unary((x) => x * Math.min(1, Math.max(0, f32(f32(x / 6) + 0.5))));
    case 'Clip': {
      if (ins.length === 0) return undefined;
      let [min, max] = [attrFloat(node, 'min', -Infinity), attrFloat(node, 'max', Infinity)];
      if ((node.inputs[1] ?? '') !== '') min = constant(1) ?? Number.NaN;
      if ((node.inputs[2] ?? '') !== '') max = constant(2) ?? Number.NaN;
      if (Number.isNaN(min) || Number.isNaN(max)) return undefined;
      return (v) => Math.min(max, Math.max(min, a!(v)));
    }
    case 'Add': return binary((x, y) => x + y);
    case 'Sub': return binary((x, y) => x - y);
    case 'Mul': return binary((x, y) => x * y);
    case 'Div': return binary((x, y) => x / y);
    case 'Max': return ins.length === 2 ? binary((x, y) => Math.max(x, y)) : undefined;
    case 'Min': return ins.length === 2 ? binary((x, y) => Math.min(x, y)) : undefined;
    default: return undefined;
  }
}

function perChannelOk(p: QuantParams, channels: number): boolean {
  return p.scale.length === 1 || p.scale.length === channels;
}

function normAxis(axis: number | undefined, rank: number | undefined): number | undefined {
  if (axis === undefined || rank === undefined) return undefined;
  return axis < 0 ? axis + rank : axis;
}

function copyAttributes(node: Node): Map<string, Attribute> {
  return new Map(node.attributes);
}

function toStorage(dtype: DType, values: Int32Array): Int8Array | Uint8Array | Int32Array | Int16Array | Uint16Array {
  switch (dtype) {
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
      return Uint8Array.from(values);
    case 'int16':
      return Int16Array.from(values);
    case 'uint16':
      return Uint16Array.from(values);
    default:
      return Int32Array.from(values);
  }
}

/**
 * Drops Cast nodes that convert a QuantizeLinear's output to the type it already has (PyTorch's QDQ export
 * writes Q → Cast(to=uint8) → DQ), so the DQ reads the Q directly. Kept when the Cast's output is a graph
 * output or read inside a subgraph.
 */
function dropSameTypeCasts(graph: Graph): Graph {
  const producers = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readInBodies = new Set(graph.nodes.flatMap((n) => implicitInputs(n)));
  const rename = new Map<string, string>();
  const dropped = new Set<Node>();
  for (const cast of graph.nodes) {
    if (!isPlain(cast, 'Cast') || cast.inputs.length !== 1 || cast.outputs.length !== 1) continue;
    const out = cast.outputs[0]!;
    if (outputs.has(out) || readInBodies.has(out)) continue;
    const src = rename.get(cast.inputs[0]!) ?? cast.inputs[0]!;
    const q = producers.get(src);
    if (!isPlain(q, 'QuantizeLinear') || q.inputs.length < 3) continue;
    const zp = graph.initializers.get(q.inputs[2]!) ?? constantNodeValue(producers.get(q.inputs[2]!));
    if (zp === undefined || ONNX_DTYPE_CODES[attrInt(cast, 'to', 0)] !== zp.dtype) continue;
    rename.set(out, src);
    dropped.add(cast);
  }
  if (dropped.size === 0) return graph;
  const nodes = graph.nodes
    .filter((n) => !dropped.has(n))
    .map((n) => (n.inputs.some((i) => rename.has(i)) ? { ...n, inputs: n.inputs.map((i) => rename.get(i) ?? i) } : n));
  return { ...graph, nodes, valueInfo: graph.valueInfo.filter((v) => !rename.has(v.name)) };
}

function constantNodeValue(n: Node | undefined): TensorData | undefined {
  if (!isPlain(n, 'Constant')) return undefined;
  const a = n.attributes.get('value');
  return a?.type === 'tensor' ? a.value : undefined;
}
