/** Graph lookups the quantizer needs: constant values, producers and consumers of each value, fresh names. */
import type { TensorData } from '../dtype.js';
import type { Graph, Node } from '../loader/model.js';

/** Initializers and Constant-node values (value / value_float / value_int / value_floats / value_ints). */
export function constantValues(graph: Graph): Map<string, TensorData> {
  const values = new Map(graph.initializers);
  for (const n of graph.nodes) {
    if (n.opType !== 'Constant' || n.domain !== '') continue;
    const v = constantNodeValue(n);
    if (v !== undefined) values.set(n.outputs[0]!, v);
  }
  return values;
}

function constantNodeValue(n: Node): TensorData | undefined {
  const a = n.attributes.get('value') ?? n.attributes.get('value_float') ?? n.attributes.get('value_int') ??
    n.attributes.get('value_floats') ?? n.attributes.get('value_ints');
  if (a === undefined) return undefined;
  switch (a.type) {
    case 'tensor':
      return a.value;
    case 'float':
      return { dtype: 'float32', shape: [], data: new Float32Array([a.value]) };
    case 'int':
      return { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(a.value)]) };
    case 'floats':
      return { dtype: 'float32', shape: [a.value.length], data: new Float32Array(a.value) };
    case 'ints':
      return { dtype: 'int64', shape: [a.value.length], data: BigInt64Array.from(a.value, (v) => BigInt(v)) };
    default:
      return undefined;
  }
}

/** value name -> the nodes reading it (once per node, even when read twice). */
export function consumersOf(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const name of new Set(n.inputs)) {
      if (name === '') continue;
      const list = map.get(name);
      if (list) list.push(n);
      else map.set(name, [n]);
    }
  }
  return map;
}

/** value name -> the node writing it. */
export function producersOf(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') map.set(o, n);
  return map;
}

/** Hands out names that collide with nothing in the graph (or handed out before). */
export class NameAllocator {
  private readonly used = new Set<string>();

  constructor(graph: Graph) {
    for (const i of graph.inputs) this.used.add(i.name);
    for (const o of graph.outputs) this.used.add(o.name);
    for (const k of graph.initializers.keys()) this.used.add(k);
    for (const n of graph.nodes) {
      this.used.add(n.name);
      for (const v of [...n.inputs, ...n.outputs]) this.used.add(v);
    }
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** A scalar float read from a constant tensor (Clip's min/max), or undefined. */
export function scalarValue(t: TensorData | undefined): number | undefined {
  if (t === undefined || t.data.length !== 1) return undefined;
  const v = t.data[0];
  return typeof v === 'string' ? undefined : Number(v);
}
