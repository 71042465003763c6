import type { TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node } from '../../loader/model.js';
import { attrFloat } from '../attributes.js';
import { GraphIndex, isOp, otherOperand, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Fuses the dynamically quantized MatMul / Conv that onnxruntime's quantize_dynamic writes:
 *   acc = MatMulInteger(A, B, a_zp, b_zp)              | ConvInteger(A, B, a_zp, b_zp)
 *   Y   = [Add](Mul(Cast(acc, to=float), Mul(a_scale, b_scale)), [bias])
 * into tinfer.MatMulIntegerToFloat / tinfer.ConvIntegerToFloat(A, B, a_scale, b_scale, a_zp, b_zp, bias), whose
 * kernels (kernels/quant/integer-to-float.ts) keep the graph's float32 steps, f32(f32(f32(acc)·f32(a_scale·b_scale))
 * + bias), so the result is unchanged bit for bit. When A, a_scale and a_zp come from one DynamicQuantizeLinear
 * whose outputs are read only by such fused groups (the Q, K, V projections of a transformer share one), that
 * operator moves inside too: the fused nodes read its float input and quantize it themselves (the same bytes).
 *
 * Conditions: B (and its zero point) constant, B 2-D for MatMul; b_scale a float32 constant and bias (optional) a
 * float32 constant, each with one value or one per output channel, shaped so broadcasting changes no shape ([N] for
 * MatMul, [M, 1, …] or [1, M, 1, …] for Conv); a_scale a scalar; each intermediate read only inside the group.
 * A Relu or a constant-bound Clip that alone reads the result is folded in too (attributes clip_min, clip_max).
 */
export function fuseIntegerToFloat(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseIntegerToFloat);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('MatMulInteger') && !g.hasOp('ConvInteger')) return withBodies;
  const matches: Match[] = [];
  for (const core of withBodies.nodes) {
    const m = matchGroup(g, core);
    if (m !== undefined) matches.push(m);
  }
  if (matches.length === 0) return withBodies;

  // DynamicQuantizeLinear nodes read only by fused groups go inside them.
  const byInput = new Map<string, Match[]>();
  for (const m of matches) byInput.set(m.a, [...(byInput.get(m.a) ?? []), m]);
  const removed = new Set<Node>();
  for (const [a, group] of byInput) {
    const dql = g.producer(a);
    if (dql === undefined || dql.opType !== 'DynamicQuantizeLinear' || dql.domain !== '' || dql.outputs[0] !== a) continue;
    const [, scale, zp] = dql.outputs as [string, string | undefined, string | undefined];
    const reads = (name: string | undefined, count: (m: Match) => number) =>
      name === undefined || name === '' || g.useCount(name) === group.reduce((s, m) => s + count(m), 0);
    const ownScaleMul = group.every((m) => m.aScale === scale && m.scaleMulOwned);
    if (!ownScaleMul || !reads(a, (m) => m.core.inputs.filter((i) => i === a).length)) continue;
    if (!reads(scale, (m) => m.scaleMul.inputs.filter((i) => i === scale).length)) continue;
    if (!reads(zp, (m) => m.core.inputs.filter((i) => i === zp).length)) continue;
    // Each group must read the operator's own zero point (a group omitting it means zero, not the dynamic one).
    if (zp === undefined || zp === '' || group.some((m) => m.aZp !== zp)) continue;
    removed.add(dql);
    for (const m of group) {
      m.a = dql.inputs[0]!;
      m.aScale = '';
      m.aZp = '';
    }
  }

  const replacements = new Map<Node, Node>();
  for (const m of matches) {
    for (const n of [m.core, m.cast, m.mul, ...(m.add !== undefined ? [m.add] : [])]) removed.add(n);
    if (m.scaleMulOwned) removed.add(m.scaleMul);
    const conv = m.core.opType === 'ConvInteger';
    const attributes = new Map<string, Attribute>(conv ? m.core.attributes : []);
    let last = m.add ?? m.mul;
    const clamp = clampReading(g, last.outputs[0]!);
    if (clamp !== undefined) {
      removed.add(clamp.node);
      last = clamp.node;
      attributes.set('clip_min', { type: 'float', value: clamp.lo });
      attributes.set('clip_max', { type: 'float', value: clamp.hi });
    }
    replacements.set(last, {
      name: `${last.name || last.outputs[0]}_fused`,
      opType: conv ? 'ConvIntegerToFloat' : 'MatMulIntegerToFloat',
      domain: 'tinfer',
      inputs: [m.a, m.b, m.aScale, m.bScale, m.aZp, m.bZp, m.bias],
      outputs: [last.outputs[0]!],
      attributes,
    });
  }
  return rewrite(withBodies, removed, replacements);
}

interface Match {
  core: Node;
  cast: Node;
  mul: Node;
  add: Node | undefined;
  scaleMul: Node;
  /** The scale product is read only by this group's Mul, so it goes too. */
  scaleMulOwned: boolean;
  a: string;
  b: string;
  aScale: string;
  bScale: string;
  aZp: string;
  bZp: string;
  bias: string;
}

const FLOAT = 1;

function matchGroup(g: GraphIndex, core: Node): Match | undefined {
  const conv = core.opType === 'ConvInteger';
  if ((core.opType !== 'MatMulInteger' && !conv) || core.domain !== '' || core.outputs.length !== 1) return undefined;
  if (core.inputs.length < 2 || core.inputs.length > 4) return undefined;
  const [a, b, aZp = '', bZp = ''] = core.inputs as [string, string, string?, string?];
  const bt = g.constant(b);
  if (bt === undefined || (bZp !== '' && g.constant(bZp) === undefined)) return undefined;
  if (!conv && bt.shape.length !== 2) return undefined;
  const channels = conv ? bt.shape[0]! : bt.shape[1]!;
  const rank = conv ? bt.shape.length : 1;

  const cast = g.soleReader(core.outputs[0]!, 'Cast');
  const to = cast?.attributes.get('to');
  if (!isOp(cast, 'Cast', 1) || to?.type !== 'int' || to.value !== FLOAT) return undefined;
  const mul = g.soleReader(cast.outputs[0]!, 'Mul');
  if (!isOp(mul, 'Mul', 2)) return undefined;
  const scaleName = otherOperand(mul, cast.outputs[0]!);
  if (scaleName === undefined || scaleName === cast.outputs[0]) return undefined;
  const scaleMul = g.producer(scaleName);
  if (!isOp(scaleMul, 'Mul', 2)) return undefined;
  // b_scale: the constant operand of the scale product (the second when both are), a_scale the other, a scalar.
  const [s0, s1] = scaleMul.inputs as [string, string];
  const [aScale, bScale] = g.constant(s1) !== undefined ? [s0, s1] : [s1, s0];
  const bScaleT = g.constant(bScale);
  if (bScaleT === undefined || !channelShaped(bScaleT, channels, conv, rank)) return undefined;
  if (!isScalarScale(g, aScale)) return undefined;

  let add: Node | undefined = g.soleReader(mul.outputs[0]!, 'Add');
  let bias = '';
  if (isOp(add, 'Add', 2)) {
    const other = otherOperand(add, mul.outputs[0]!)!;
    const bt2 = g.constant(other);
    if (other !== mul.outputs[0] && bt2 !== undefined && channelShaped(bt2, channels, conv, rank)) bias = other;
    else add = undefined;
  } else add = undefined;
  return {
    core, cast, mul, add, scaleMul, scaleMulOwned: g.useCount(scaleName) === 1,
    a, b, aScale, bScale, aZp, bZp, bias,
  };
}

/**
 * A float32 constant broadcasting over the output without changing its shape: one value (rank ≤ 1), or one per
 * channel, [N] for MatMul (the last axis) and [M, 1, …] (rank - 1) or [1, M, 1, …] (rank) for Conv.
 */
function channelShaped(t: TensorData, channels: number, conv: boolean, rank: number): boolean {
  if (t.dtype !== 'float32') return false;
  if (t.data.length === 1) return t.shape.length <= 1;
  if (t.data.length !== channels) return false;
  if (!conv) return t.shape.length === 1;
  const s = t.shape;
  if (s.length === rank - 1) return s[0] === channels && s.slice(1).every((d) => d === 1);
  if (s.length === rank) return s[0] === 1 && s[1] === channels && s.slice(2).every((d) => d === 1);
  return false;
}

/** a_scale: DynamicQuantizeLinear's scale output, or a one-value float32 constant of rank ≤ 1. */
function isScalarScale(g: GraphIndex, name: string): boolean {
  const c = g.constant(name);
  if (c !== undefined) return c.dtype === 'float32' && c.data.length === 1 && c.shape.length <= 1;
  const p = g.producer(name);
  return p !== undefined && p.opType === 'DynamicQuantizeLinear' && p.domain === '' && p.outputs[1] === name;
}

/**
 * A Relu, or a Clip with constant bounds (attributes before opset 11, constant inputs after; omitted = unbounded),
 * that alone reads `y`: the fused kernel clamps its store to [lo, hi] as Math.min(Math.max(v, lo), hi).
 */
function clampReading(g: GraphIndex, y: string): { node: Node; lo: number; hi: number } | undefined {
  const n = g.soleReader(y);
  if (n === undefined || n.outputs.length !== 1) return undefined;
  if (n.opType === 'Relu' && n.inputs.length === 1) return { node: n, lo: 0, hi: Infinity };
  if (n.opType !== 'Clip' || n.inputs[0] !== y) return undefined;
  let lo = attrFloat(n, 'min', -Infinity);
  let hi = attrFloat(n, 'max', Infinity);
  for (const i of [1, 2]) {
    const name = n.inputs[i];
    if (name === undefined || name === '') continue;
    const v = scalarValue(g.constant(name));
    if (v === undefined || g.constant(name)!.dtype !== 'float32') return undefined;
    if (i === 1) lo = v;
    else hi = v;
  }
  return { node: n, lo, hi };
}
