import type { TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node, ValueType } from '../../loader/model.js';
import { existingIndexOf, indexOf, type ValueIndex } from '../index.js';

/**
 * A pass's view of one graph for pattern-matching fusions: who produces a value, who reads it, and which
 * values are constants (initializers or Constant nodes). A fusion may only swallow an intermediate whose
 * single reader is inside the pattern: `soleReader` answers that, counting graph outputs and reads from
 * subgraphs as readers too. The index behind it is built once per graph and moved along by `rewrite`
 * (see graph/index.ts), so making a GraphIndex for the graph a previous pass returned costs nothing.
 */
export class GraphIndex {
  private readonly index: ValueIndex;
  private readonly reserved = new Set<string>();

  constructor(readonly graph: Graph) {
    this.index = indexOf(graph);
  }

  producer(name: string): Node | undefined {
    return this.index.producer(name);
  }

  /** True when some node of the graph has this op type (default domain unless given): a pass skips graphs without its ops. */
  hasOp(opType: string, domain = ''): boolean {
    return this.index.hasOp(opType, domain);
  }

  /** True when some node of the graph holds a subgraph. */
  get hasSubgraphNodes(): boolean {
    return this.index.hasSubgraphNodes;
  }

  /** True when `name` is a graph input (a feed; an initializer of that name is only its default). */
  isGraphInput(name: string): boolean {
    return this.index.inputNames.has(name);
  }

  /** The node that produces `name` when it has that op type (default domain). */
  producedBy(name: string, opType: string): Node | undefined {
    const n = this.index.producer(name);
    return n !== undefined && n.opType === opType && n.domain === '' ? n : undefined;
  }

  /** The only reader of `name` (read exactly once, not a graph output, not read by a subgraph), if it has that op type. */
  soleReader(name: string, opType?: string): Node | undefined {
    if (this.index.useCount(name) !== 1) return undefined;
    const n = this.index.readersOf(name)[0];
    if (n === undefined || n.domain !== '' || (opType !== undefined && n.opType !== opType)) return undefined;
    return n;
  }

  /** How many times `name` is read (each input slot counts; graph outputs and subgraph reads count once). */
  useCount(name: string): number {
    return this.index.useCount(name);
  }

  /** All distinct nodes reading `name`. */
  readersOf(name: string): readonly Node[] {
    return this.index.readersOf(name);
  }

  /** The rank declared for `name` (graph input/output or value_info), if any. */
  rankOf(name: string): number | undefined {
    return this.index.rankOf(name);
  }

  /** The type declared for `name`: its value_info entry, else the graph output's, else the graph input's. */
  declaredType(name: string): ValueType | undefined {
    return this.index.declaredType(name);
  }

  /** The value of `name` when it is an initializer (not overridable by a feed) or a Constant node's output. */
  constant(name: string): TensorData | undefined {
    if (name === '') return undefined;
    const init = this.graph.initializers.get(name);
    if (init !== undefined) return this.index.inputNames.has(name) ? undefined : init;
    const n = this.index.producer(name);
    if (n === undefined || n.opType !== 'Constant' || n.domain !== '' || n.attributes.size !== 1) return undefined;
    return constantAttributeValue([...n.attributes.values()][0]!);
  }

  /** A name no value of the graph uses yet (nor one this view handed out), derived from `base`. */
  freshName(base: string): string {
    let name = base;
    for (let k = 1; this.index.takes(name) || this.reserved.has(name); k++) name = `${base}_${k}`;
    this.reserved.add(name);
    return name;
  }
}

function constantAttributeValue(a: Attribute): TensorData | undefined {
  switch (a.type) {
    case 'tensor':
      return a.value;
    case 'float':
      return { dtype: 'float32', shape: [], data: Float32Array.of(a.value) };
    case 'floats':
      return { dtype: 'float32', shape: [a.value.length], data: Float32Array.from(a.value) };
    case 'int':
      return { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(a.value)) };
    case 'ints':
      return { dtype: 'int64', shape: [a.value.length], data: BigInt64Array.from(a.value, (v) => BigInt(v)) };
    default:
      return undefined;
  }
}

export const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'float16', 'bfloat16']);

/**
 * The value of a one-element numeric constant of rank <= 1 (so broadcasting it changes no shape for the
 * tensors these patterns see), or undefined.
 */
export function scalarValue(t: TensorData | undefined): number | undefined {
  if (t === undefined || t.shape.length > 1 || t.data.length !== 1 || t.dtype === 'string') return undefined;
  const v = t.data[0];
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/** |value - expected| <= rtol · |expected| (the fusions accept constants printed with a few digits). */
export function near(value: number | undefined, expected: number, rtol = 1e-4): value is number {
  return value !== undefined && Math.abs(value - expected) <= rtol * Math.abs(expected);
}

/** For a commutative binary node reading `name`, its other operand; undefined when `name` is not one operand. */
export function otherOperand(node: Node, name: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  if (node.inputs[0] === name) return node.inputs[1];
  if (node.inputs[1] === name) return node.inputs[0];
  return undefined;
}

/**
 * Rebuilds the graph without the `removed` nodes, with each `replacement` put in place of the node it
 * is keyed by (the pattern's last node, so every input it reads is already produced; a key need not be in
 * `removed`). Declared types of values that no longer exist (outputs of the nodes taken out that no
 * replacement writes) are dropped. The graph's index, if built, follows the change.
 */
export function rewrite(graph: Graph, removed: ReadonlySet<Node>, replacements: ReadonlyMap<Node, Node>, extraInitializers: ReadonlyMap<string, TensorData> = NO_TENSORS): Graph {
  if (removed.size === 0 && replacements.size === 0) return graph;
  const nodes: Node[] = [];
  const gone = new Set<string>();
  const dropped: Node[] = [];
  const placed: Array<{ node: Node; at: Node }> = [];
  const all = graph.nodes;
  for (let i = 0; i < all.length; i++) {
    const n = all[i]!;
    const r = replacements.get(n);
    if (r !== undefined) {
      nodes.push(r);
      dropped.push(n);
      placed.push({ node: r, at: n });
    } else if (!removed.has(n)) {
      nodes.push(n);
      continue;
    } else dropped.push(n);
    const outputs = n.outputs;
    for (let k = 0; k < outputs.length; k++) if (outputs[k] !== '') gone.add(outputs[k]!);
  }
  for (const r of replacements.values()) for (const o of r.outputs) gone.delete(o);
  let initializers = graph.initializers;
  if (extraInitializers.size > 0) {
    initializers = new Map(graph.initializers);
    extraInitializers.forEach((t, name) => initializers.set(name, t));
  }
  const valueInfo = gone.size > 0 && graph.valueInfo.some((v) => gone.has(v.name)) ? graph.valueInfo.filter((v) => !gone.has(v.name)) : graph.valueInfo;
  const next = { ...graph, nodes, initializers, valueInfo };
  // The index of the graph (if a pass built one) follows the rewrite instead of being rebuilt.
  existingIndexOf(graph)?.moveTo(next, dropped, placed, gone);
  return next;
}

const NO_TENSORS: ReadonlyMap<string, TensorData> = new Map();

/** A default-domain node with one output (the name is derived from the pattern's last node). */
export function fusedNode(opType: string, name: string, inputs: string[], output: string, attributes: Map<string, Attribute>, domain = ''): Node {
  return { name, opType, domain, inputs, outputs: [output], attributes };
}

/** True when the node has exactly this op type in the default domain and `arity` inputs and one output. */
export function isOp(node: Node | undefined, opType: string, arity: number): node is Node {
  return node !== undefined && node.opType === opType && node.domain === '' && node.inputs.length === arity && node.outputs.length === 1;
}
