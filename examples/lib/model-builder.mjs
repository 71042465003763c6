// A tiny ONNX model builder in plain JavaScript, on top of the runtime's own encoder (dist/loader/index.js).
// It builds the loader's IR objects (src/loader/model.ts) and encodes them to .onnx bytes, so examples and
// the smoke suite can make models in code without the TypeScript test builder or any dependency.
//
//   const g = new GraphBuilder('net');
//   g.input('x', 'float32', [1, 4]);
//   g.initializer('w', 'float32', [4, 2], [...]);
//   g.node('MatMul', ['x', 'w'], ['y']);
//   g.output('y', 'float32', [1, 2]);
//   const bytes = encode(g, { opset: 13 });
//
// Attribute values: integers -> int, other numbers -> float, arrays of integers -> ints, strings -> string,
// a GraphBuilder -> graph; use floats([...]) / float(x) when a float attribute has integer values.
import { encodeModel } from '../../dist/loader/index.js';

const STORAGE = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

/** Marks a float attribute whose value happens to be an integer. */
export const float = (v) => ({ attribute: { type: 'float', value: v } });
export const floats = (v) => ({ attribute: { type: 'floats', value: [...v] } });

/** A TensorData (the IR's tensor) from a dtype, a shape and plain values (numbers, or bigints for int64). */
export function tensor(dtype, shape, values) {
  const Ctor = STORAGE[dtype];
  if (!Ctor) throw new Error(`model-builder: unsupported dtype ${dtype}`);
  const n = shape.reduce((a, b) => a * b, 1);
  let data;
  if (dtype === 'int64') data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  else data = Ctor.from(values);
  if (data.length !== n) throw new Error(`model-builder: ${data.length} values for shape [${shape}]`);
  return { dtype, shape: [...shape], data };
}

function toAttribute(v) {
  if (v instanceof GraphBuilder) return { type: 'graph', value: v.toGraph() };
  if (v && typeof v === 'object' && 'attribute' in v) return v.attribute;
  if (v && typeof v === 'object' && 'dtype' in v) return { type: 'tensor', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { type: 'strings', value: v };
    return v.every((x) => Number.isInteger(x)) ? { type: 'ints', value: v } : { type: 'floats', value: v };
  }
  throw new Error(`model-builder: cannot infer an attribute from ${String(v)}`);
}

function valueInfo(name, dtype, shape) {
  return { name, type: dtype ? { kind: 'tensor', dtype, shape: shape ?? null } : { kind: 'unknown' } };
}

export class GraphBuilder {
  constructor(name = 'graph') {
    this.name = name;
    this.nodes = [];
    this.inputs = [];
    this.outputs = [];
    this.initializers = new Map();
  }

  input(name, dtype, shape) {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** An output; dtype/shape may be omitted (left for the runtime to infer). */
  output(name, dtype, shape) {
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  initializer(name, dtype, shape, values) {
    this.initializers.set(name, tensor(dtype, shape, values));
    return name;
  }

  node(opType, inputs, outputs, attributes = {}, domain = '') {
    const attrs = new Map();
    for (const [k, v] of Object.entries(attributes)) attrs.set(k, toAttribute(v));
    this.nodes.push({ name: `${opType}_${this.nodes.length}`, opType, domain, inputs, outputs, attributes: attrs });
    return outputs;
  }

  toGraph() {
    return {
      name: this.name,
      nodes: this.nodes,
      inputs: this.inputs,
      outputs: this.outputs,
      initializers: this.initializers,
      valueInfo: [],
    };
  }
}

/** Encodes a graph as ModelProto bytes (default opset 13, IR version 8). */
export function encode(graph, { opset = 13, irVersion = 8, producer = 'tinfer-examples', docString = '' } = {}) {
  return encodeModel({
    irVersion,
    opsets: new Map([['', opset]]),
    producerName: producer,
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString,
    metadata: new Map(),
    graph: graph.toGraph(),
    functions: [],
  });
}

/** A seeded pseudo-random generator (mulberry32) so generated weights are the same on every run and platform. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale). */
export function randomValues(random, n, scale = 1) {
  return Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}
