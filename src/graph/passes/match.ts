import type { TensorData } from '../../dtype.js';
import type { Attribute, Graph, Node } from '../../loader/model.js';
import { definedNames, implicitInputs } from '../scope.js';

/**
 * A read-only index of one graph for pattern-matching fusions: who produces a value, who reads it,
 * and which values are constants (initializers or Constant nodes). A fusion may only swallow an
 * intermediate whose single reader is inside the pattern: `soleReader` answers that, counting graph
 * outputs and reads from subgraphs as readers too.
 */
export class GraphIndex {
  private readonly producers = new Map<string, Node>();
  private readonly readers = new Map<string, Node[]>();
  private readonly uses = new Map<string, number>();
  private readonly declaredRank = new Map<string, number>();
  private readonly taken: Set<string>;

  constructor(readonly graph: Graph) {
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o !== '') this.producers.set(o, n);
      const read = new Set<string>();
      for (const name of [...n.inputs, ...implicitInputs(n)]) {
        if (name === '') continue;
        this.uses.set(name, (this.uses.get(name) ?? 0) + 1);
        if (!read.has(name)) this.readers.set(name, [...(this.readers.get(name) ?? []), n]);
        read.add(name);
      }
    }
    for (const o of graph.outputs) this.uses.set(o.name, (this.uses.get(o.name) ?? 0) + 1);
    for (const v of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) {
      if (v.type.kind === 'tensor' && v.type.shape !== null) this.declaredRank.set(v.name, v.type.shape.length);
    }
    this.taken = definedNames(graph);
  }

  producer(name: string): Node | undefined {
    return this.producers.get(name);
  }

  /** The node that produces `name` when it has that op type (default domain). */
  producedBy(name: string, opType: string): Node | undefined {
    const n = this.producers.get(name);
    return n !== undefined && n.opType === opType && n.domain === '' ? n : undefined;
  }

  /** The only reader of `name` (read exactly once, not a graph output, not read by a subgraph), if it has that op type. */
  soleReader(name: string, opType?: string): Node | undefined {
    if (this.uses.get(name) !== 1) return undefined;
    const n = this.readers.get(name)?.[0];
    if (n === undefined || n.domain !== '' || (opType !== undefined && n.opType !== opType)) return undefined;
    return n;
  }

  /** How many times `name` is read (each input slot counts; graph outputs and subgraph reads count once). */
  useCount(name: string): number {
    return this.uses.get(name) ?? 0;
  }

  /** All distinct nodes reading `name`. */
  readersOf(name: string): readonly Node[] {
    return this.readers.get(name) ?? [];
  }

  /** The rank declared for `name` (graph input/output or value_info), if any. */
  rankOf(name: string): number | undefined {
    return this.declaredRank.get(name);
  }

  /** The value of `name` when it is an initializer (not overridable by a feed) or a Constant node's output. */
  constant(name: string): TensorData | undefined {
    if (name === '') return undefined;
    const init = this.graph.initializers.get(name);
    if (init !== undefined) return this.graph.inputs.some((i) => i.name === name) ? undefined : init;
    const n = this.producers.get(name);
    if (n === undefined || n.opType !== 'Constant' || n.domain !== '' || n.attributes.size !== 1) return undefined;
    return constantAttributeValue([...n.attributes.values()][0]!);
  }

  /** A name no value of the graph uses yet, derived from `base`. */
  freshName(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
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
 * is keyed by (the pattern's last node, so every input it reads is already produced). Declared types of
 * swallowed intermediates are dropped.
 */
export function rewrite(graph: Graph, removed: ReadonlySet<Node>, replacements: ReadonlyMap<Node, Node>, extraInitializers: ReadonlyMap<string, TensorData> = new Map()): Graph {
  if (removed.size === 0) return graph;
  const nodes: Node[] = [];
  const gone = new Set<string>();
  for (const n of graph.nodes) {
    const r = replacements.get(n);
    if (r !== undefined) nodes.push(r);
    else if (!removed.has(n)) nodes.push(n);
    else n.outputs.forEach((o) => gone.add(o));
  }
  for (const r of replacements.values()) r.outputs.forEach((o) => gone.delete(o));
  const initializers = new Map([...graph.initializers, ...extraInitializers]);
  return { ...graph, nodes, initializers, valueInfo: graph.valueInfo.filter((v) => !gone.has(v.name)) };
}

/** A default-domain node with one output (the name is derived from the pattern's last node). */
export function fusedNode(opType: string, name: string, inputs: string[], output: string, attributes: Map<string, Attribute>, domain = ''): Node {
  return { name, opType, domain, inputs, outputs: [output], attributes };
}

/** True when the node has exactly this op type in the default domain and `arity` inputs and one output. */
export function isOp(node: Node | undefined, opType: string, arity: number): node is Node {
  return node !== undefined && node.opType === opType && node.domain === '' && node.inputs.length === arity && node.outputs.length === 1;
}
