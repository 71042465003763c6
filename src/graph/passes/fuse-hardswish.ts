import type { Attribute, Graph, Node } from '../../loader/model.js';
import { attrFloat } from '../attributes.js';
import { clipBounds } from './fuse-activation.js';
import { GraphIndex, fusedNode, isOp, near, otherOperand, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Hard-swish and hard-sigmoid as exporters decompose them, rewritten as the ONNX ops (Operators.md: HardSigmoid
 * y = max(0, min(1, alpha·x + beta)); HardSwish y = x · max(0, min(1, x/6 + 1/2))), which then run as one wasm
 * kernel or fuse into the Conv before them (fuse-activation runs after this pass):
 *
 *   x · clip(x + c, 0, k) / k    (or · (1/k))   → HardSwish(x) when 1/k = 1/6 and c/k = 1/2  (paddle2onnx, MobileNetV3)
 *   clip(x + c, 0, k) / k        (or · (1/k))   → HardSigmoid(x, alpha = 1/k, beta = c/k)    (SE gates, relu6(x+3)/6)
 *   (the clip may be Clip(Relu(x + c), 0, k): relu6 as Relu then Clip)
 *   clip(a·x + b, 0, 1)                          → HardSigmoid(x, alpha = a, beta = b)        (Keras hard_sigmoid)
 *   x · HardSigmoid(x, 1/6, 1/2)                 → HardSwish(x)
 *
 * Clip may be written with attributes (opset < 11) or constant inputs. Each swallowed intermediate must be read
 * only inside the pattern. The rewritten forms compute the same function; rounding may differ by an ulp
 * ((x + 3)/6 against x/6 + 1/2).
 */
export function fuseHardSwish(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseHardSwish);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('Clip') && !g.hasOp('HardSigmoid')) return withBodies;
  return swishOfHardSigmoid(hardSigmoids(directHardSwish(withBodies)));
}

/** The scalar constant operand of a commutative binary node reading `name`, or undefined. */
function constantOperand(node: Node, name: string, g: GraphIndex): number | undefined {
  const other = otherOperand(node, name);
  return other === undefined ? undefined : scalarValue(g.constant(other));
}

/**
 * For y = Clip(t, 0, k) with t = Add(x, c), or Clip(Relu(t), 0, k) (relu6 written as Relu then Clip): x, c, k and
 * the nodes before the Clip (each intermediate read only by the next).
 */
function clipOfShift(clip: Node, g: GraphIndex): { x: string; c: number; k: number; add: Node[] } | undefined {
  if (!isOp(clip, 'Clip', clip.inputs.length) || clip.inputs.length < 1) return undefined;
  const bounds = clipBounds(clip, g);
  if (bounds === undefined || bounds.params[0] !== 0 || !(bounds.params[1]! > 0) || !Number.isFinite(bounds.params[1]!)) return undefined;
  const relu = g.producedBy(clip.inputs[0]!, 'Relu');
  const reluOk = relu !== undefined && relu.inputs.length === 1 && g.soleReader(relu.outputs[0]!) === clip;
  const addInput = reluOk ? relu.inputs[0]! : clip.inputs[0]!;
  const add = g.producedBy(addInput, 'Add');
  if (add === undefined || add.inputs.length !== 2 || g.soleReader(add.outputs[0]!) !== (reluOk ? relu : clip)) return undefined;
  for (const [xi, ci] of [[0, 1], [1, 0]] as const) {
    const c = scalarValue(g.constant(add.inputs[ci]!));
    if (c !== undefined && g.constant(add.inputs[xi]!) === undefined) return { x: add.inputs[xi]!, c, k: bounds.params[1]!, add: reluOk ? [add, relu] : [add] };
  }
  return undefined;
}

/** v = Div(u, k) or Mul(u, 1/k), the sole reader of u: returns that node when its constant matches 1/k. */
function scaledBy(u: string, k: number, g: GraphIndex): Node | undefined {
  const r = g.soleReader(u);
  if (r === undefined || r.outputs.length !== 1) return undefined;
  if (isOp(r, 'Div', 2) && r.inputs[0] === u && near(scalarValue(g.constant(r.inputs[1]!)), k)) return r;
  if (isOp(r, 'Mul', 2) && near(constantOperand(r, u, g), 1 / k, 1e-3)) return r;
  return undefined;
}

function attrs(alpha: number, beta: number): Map<string, Attribute> {
  return new Map<string, Attribute>([['alpha', { type: 'float', value: alpha }], ['beta', { type: 'float', value: beta }]]);
}

/** x · clip(x + 3, 0, 6) / 6 → HardSwish(x). */
function directHardSwish(graph: Graph): Graph {
  const g = new GraphIndex(graph);
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const clip of graph.nodes) {
    const m = clipOfShift(clip, g);
    if (m === undefined || !near(1 / m.k, 1 / 6) || !near(m.c / m.k, 0.5)) continue;
    const mul = g.soleReader(clip.outputs[0]!, 'Mul');
    if (mul === undefined || otherOperand(mul, clip.outputs[0]!) !== m.x) continue;
    const last = scaledBy(mul.outputs[0]!, m.k, g);
    if (last === undefined || [...m.add, clip, mul, last].some((n) => removed.has(n))) continue;
    [...m.add, clip, mul, last].forEach((n) => removed.add(n));
    replacements.set(last, fusedNode('HardSwish', `${last.name || 'hardswish'}/fused`, [m.x], last.outputs[0]!, new Map()));
  }
  return rewrite(graph, removed, replacements);
}

/** clip(x + c, 0, k) / k and clip(a·x + b, 0, 1) → HardSigmoid. */
function hardSigmoids(graph: Graph): Graph {
  const g = new GraphIndex(graph);
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const clip of graph.nodes) {
    const m = clipOfShift(clip, g);
    const last = m && scaledBy(clip.outputs[0]!, m.k, g);
    if (m !== undefined && last !== undefined) {
      if ([...m.add, clip, last].some((n) => removed.has(n))) continue;
      [...m.add, clip, last].forEach((n) => removed.add(n));
      replacements.set(last, fusedNode('HardSigmoid', `${last.name || 'hardsigmoid'}/fused`, [m.x], last.outputs[0]!, attrs(1 / m.k, m.c / m.k)));
      continue;
    }
    const affine = affineClip(clip, g);
    if (affine === undefined || affine.nodes.some((n) => removed.has(n))) continue;
    affine.nodes.forEach((n) => removed.add(n));
    replacements.set(clip, fusedNode('HardSigmoid', `${clip.name || 'hardsigmoid'}/fused`, [affine.x], clip.outputs[0]!, attrs(affine.a, affine.b)));
  }
  return rewrite(graph, removed, replacements);
}

/** Clip(Add(Mul(x, a), b), 0, 1): x, a, b and the nodes (each intermediate read only by the next). */
function affineClip(clip: Node, g: GraphIndex): { x: string; a: number; b: number; nodes: Node[] } | undefined {
  if (!isOp(clip, 'Clip', clip.inputs.length) || clip.inputs.length < 1) return undefined;
  const bounds = clipBounds(clip, g);
  if (bounds === undefined || bounds.params[0] !== 0 || bounds.params[1] !== 1) return undefined;
  const add = g.producedBy(clip.inputs[0]!, 'Add');
  if (add === undefined || add.inputs.length !== 2 || g.soleReader(add.outputs[0]!) !== clip) return undefined;
  for (const [mi, bi] of [[0, 1], [1, 0]] as const) {
    const b = scalarValue(g.constant(add.inputs[bi]!));
    const mul = g.producedBy(add.inputs[mi]!, 'Mul');
    if (b === undefined || mul === undefined || mul.inputs.length !== 2 || g.soleReader(mul.outputs[0]!) !== add) continue;
    for (const [xi, ai] of [[0, 1], [1, 0]] as const) {
      const a = scalarValue(g.constant(mul.inputs[ai]!));
      if (a !== undefined && g.constant(mul.inputs[xi]!) === undefined) return { x: mul.inputs[xi]!, a, b, nodes: [mul, add, clip] };
    }
  }
  return undefined;
}

/** Mul(x, HardSigmoid(x, 1/6, 1/2)) → HardSwish(x). */
function swishOfHardSigmoid(graph: Graph): Graph {
  const g = new GraphIndex(graph);
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const hs of graph.nodes) {
    if (!isOp(hs, 'HardSigmoid', 1)) continue;
    if (!near(attrFloat(hs, 'alpha', 0.2), 1 / 6, 1e-3) || !near(attrFloat(hs, 'beta', 0.5), 0.5)) continue;
    const mul = g.soleReader(hs.outputs[0]!, 'Mul');
    if (mul === undefined || mul.outputs.length !== 1 || otherOperand(mul, hs.outputs[0]!) !== hs.inputs[0] || removed.has(mul)) continue;
    removed.add(hs);
    removed.add(mul);
    replacements.set(mul, fusedNode('HardSwish', `${mul.name || 'hardswish'}/fused`, [hs.inputs[0]!], mul.outputs[0]!, new Map()));
  }
  return rewrite(graph, removed, replacements);
}
