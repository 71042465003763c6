import type { Attribute, Graph, Node } from '../../loader/model.js';
import { roundToFloat16 } from '../../loader/float16.js';
import { GraphIndex, isOp, near, otherOperand, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * Fuses the two GELU formulas exporters write out (ONNX Gelu, opset 20) into one Gelu node:
 *   exact:  0.5 · x · (1 + erf(x / √2))                          -> Gelu(x)
 *   tanh:   0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))   -> Gelu(x, approximate = 'tanh')
 * x / √2 may be written x · (1/√2); x³ as Pow(x, 3) or x · (x · x); the 0.5 may multiply x first, the
 * (1 + ...) factor first, or the product last; every Mul/Add may have its operands in either order.
 * Constants are one-element float constants matched with a relative tolerance of 1e-4 (or equal to the
 * float16 rounding of the expected value, as float16 models store √2 and 0.044715); every
 * intermediate must be read only inside the pattern.
 */
export function fuseGelu(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseGelu);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('Erf') && !g.hasOp('Tanh')) return withBodies;
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const node of withBodies.nodes) {
    if (node.domain !== '' || (node.opType !== 'Erf' && node.opType !== 'Tanh') || !isOp(node, node.opType, 1)) continue;
    const head = node.opType === 'Erf' ? matchErfArgument(g, node.inputs[0]!) : matchTanhArgument(g, node.inputs[0]!);
    if (head === undefined) continue;
    const tail = matchHalfXOnePlus(g, node.outputs[0]!, head.x);
    if (tail === undefined) continue;
    const nodes = [...head.nodes, node, ...tail.nodes];
    if (nodes.some((n) => removed.has(n))) continue;
    const last = tail.nodes[tail.nodes.length - 1]!;
    const attributes = new Map<string, Attribute>(node.opType === 'Tanh' ? [['approximate', { type: 'string', value: 'tanh' }]] : []);
    nodes.forEach((n) => removed.add(n));
    replacements.set(last, {
      name: `${last.name || last.outputs[0]}_gelu`,
      opType: 'Gelu',
      domain: '',
      inputs: [head.x],
      outputs: [last.outputs[0]!],
      attributes,
    });
  }
  if (removed.size === 0) return withBodies;
  return rewrite(withBodies, removed, replacements);
}

interface Head {
  x: string;
  nodes: Node[];
}

/** The sole-use value `name` is a one-element float constant near `expected`. */
function isConstantNear(g: GraphIndex, name: string | undefined, expected: number): boolean {
  if (name === undefined) return false;
  const t = g.constant(name);
  return t !== undefined && (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16') && nearOrFloat16(scalarValue(t), expected);
}

function nearOrFloat16(v: number | undefined, expected: number): boolean {
  return near(v, expected) || (v !== undefined && v === roundToFloat16(expected));
}

/** u = x / √2 or x · (1/√2). */
function matchErfArgument(g: GraphIndex, u: string): Head | undefined {
  const p = g.producer(u);
  if (g.soleReader(u) === undefined) return undefined;
  if (isOp(p, 'Div', 2) && isConstantNear(g, p.inputs[1], Math.SQRT2)) return { x: p.inputs[0]!, nodes: [p] };
  if (isOp(p, 'Mul', 2)) {
    const [a, b] = p.inputs as [string, string];
    if (isConstantNear(g, b, Math.SQRT1_2)) return { x: a, nodes: [p] };
    if (isConstantNear(g, a, Math.SQRT1_2)) return { x: b, nodes: [p] };
  }
  return undefined;
}

/** u = √(2/π) · (x + 0.044715 · x³), operands of each Mul/Add in either order. */
function matchTanhArgument(g: GraphIndex, u: string): Head | undefined {
  const scaled = g.producer(u);
  if (g.soleReader(u) === undefined || !isOp(scaled, 'Mul', 2)) return undefined;
  const inner = scaled.inputs.find((name, i) => isConstantNear(g, scaled.inputs[1 - i], SQRT_2_OVER_PI) && name !== undefined);
  const add = inner === undefined ? undefined : g.producer(inner);
  if (inner === undefined || g.soleReader(inner) === undefined || !isOp(add, 'Add', 2)) return undefined;
  for (const [x, cubic] of [[add.inputs[0]!, add.inputs[1]!], [add.inputs[1]!, add.inputs[0]!]] as const) {
    const kappaTerm = g.producer(cubic);
    if (g.soleReader(cubic) === undefined || !isOp(kappaTerm, 'Mul', 2)) continue;
    const cube = kappaTerm.inputs.find((name, i) => isConstantNear(g, kappaTerm.inputs[1 - i], 0.044715) && name !== undefined);
    if (cube === undefined) continue;
    const cubeNodes = matchCube(g, cube, x);
    if (cubeNodes !== undefined) return { x, nodes: [...cubeNodes, kappaTerm, add, scaled] };
  }
  return undefined;
}

/** c = Pow(x, 3), or x · (x · x) in any operand order. */
function matchCube(g: GraphIndex, c: string, x: string): Node[] | undefined {
  const p = g.producer(c);
  if (g.soleReader(c) === undefined) return undefined;
  if (isOp(p, 'Pow', 2)) return p.inputs[0] === x && scalarValue(g.constant(p.inputs[1]!)) === 3 ? [p] : undefined;
  if (!isOp(p, 'Mul', 2)) return undefined;
  const sq = otherOperand(p, x);
  const sqNode = sq === undefined ? undefined : g.producer(sq);
  if (sq === undefined || g.soleReader(sq) === undefined || !isOp(sqNode, 'Mul', 2)) return undefined;
  return sqNode.inputs[0] === x && sqNode.inputs[1] === x ? [sqNode, p] : undefined;
}

/**
 * From t = erf(...) or tanh(...): a = 1 + t, then the product 0.5 · x · a in one of its orders:
 *   (x · a) · 0.5,  (0.5 · a) · x,  (x · 0.5) · a   (each Mul commutative).
 * Returns the matched nodes, the last one writing the result.
 */
function matchHalfXOnePlus(g: GraphIndex, t: string, x: string): { nodes: Node[] } | undefined {
  const plusOne = g.soleReader(t, 'Add');
  if (!isOp(plusOne, 'Add', 2) || !isConstantNear(g, otherOperand(plusOne, t), 1)) return undefined;
  const a = plusOne.outputs[0]!;
  const first = g.soleReader(a, 'Mul');
  if (!isOp(first, 'Mul', 2)) return undefined;
  const other = otherOperand(first, a)!;
  if (other === a) return undefined;
  const p = first.outputs[0]!;
  if (other === x || isConstantNear(g, other, 0.5)) {
    // The remaining factor multiplies the partial product: 0.5 after x · a, x after 0.5 · a.
    const second = g.soleReader(p, 'Mul');
    if (!isOp(second, 'Mul', 2)) return undefined;
    const rest = otherOperand(second, p);
    const ok = other === x ? isConstantNear(g, rest, 0.5) : rest === x;
    return ok ? { nodes: [plusOne, first, second] } : undefined;
  }
  const half = g.producer(other);
  if (g.soleReader(other) === undefined || !isOp(half, 'Mul', 2)) return undefined;
  return isConstantNear(g, otherOperand(half, x), 0.5) ? { nodes: [half, plusOne, first] } : undefined;
}
