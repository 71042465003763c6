import type { Attribute, Graph, Node } from '../../loader/model.js';
import { FLOAT_DTYPES, GraphIndex, isOp, rewrite, scalarValue } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Internal Softmax attribute set by this pass: Softmax computes softmax(scale · x). The dot keeps it apart from
 * ONNX attribute names (C identifiers).
 */
export const SOFTMAX_SCALE_ATTR = 'tinfer.softmax_scale';

/**
 * Folds the attention scale into the Softmax that reads it: Softmax(x · c), Softmax(c · x) and Softmax(x / c)
 * for a one-element float constant c become Softmax(x) with tinfer.softmax_scale = c (1/c for Div), as
 * exporters write scaled dot-product attention: MatMul(Q, Kᵀ) → Mul/Div by 1/√d or √d → Softmax. The
 * scaled value must be read only by the Softmax. The Softmax kernel multiplies as it reads (one pass fewer
 * over the [heads, tokens, tokens] scores).
 */
export function fuseSoftmaxScale(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseSoftmaxScale);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('Softmax')) return withBodies;
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const softmax of withBodies.nodes) {
    if (!isOp(softmax, 'Softmax', 1) || softmax.attributes.has(SOFTMAX_SCALE_ATTR)) continue;
    const scaled = scaledInput(g, softmax.inputs[0]!);
    if (scaled === undefined || removed.has(scaled.node)) continue;
    removed.add(scaled.node);
    const attributes = new Map<string, Attribute>(softmax.attributes);
    attributes.set(SOFTMAX_SCALE_ATTR, { type: 'float', value: scaled.scale });
    replacements.set(softmax, { ...softmax, inputs: [scaled.x], attributes });
  }
  if (removed.size === 0) return withBodies;
  return rewrite(withBodies, removed, replacements);
}

/** u = x · c, c · x or x / c with c a finite, non-zero one-element float constant, u read only by the Softmax. */
function scaledInput(g: GraphIndex, u: string): { x: string; scale: number; node: Node } | undefined {
  const p = g.producer(u);
  if (g.soleReader(u, 'Softmax') === undefined) return undefined;
  if (isOp(p, 'Mul', 2)) {
    const [a, b] = p.inputs as [string, string];
    const cb = floatScalar(g, b);
    if (cb !== undefined) return { x: a, scale: cb, node: p };
    const ca = floatScalar(g, a);
    if (ca !== undefined) return { x: b, scale: ca, node: p };
  }
  if (isOp(p, 'Div', 2)) {
    const c = floatScalar(g, p.inputs[1]!);
    if (c !== undefined) return { x: p.inputs[0]!, scale: 1 / c, node: p };
  }
  return undefined;
}

function floatScalar(g: GraphIndex, name: string): number | undefined {
  const t = g.constant(name);
  if (t === undefined || !FLOAT_DTYPES.has(t.dtype)) return undefined;
  const v = scalarValue(t);
  return v !== undefined && v !== 0 && Number.isFinite(v) ? v : undefined;
}
