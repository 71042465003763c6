/**
 * ONNX protobuf messages (onnx/onnx.proto3) → the IR in model.ts. Field numbers are from onnx.proto.
 * Unknown fields are skipped, so newer files load as long as the fields we need keep their meaning.
 */
import type { TensorData } from '../dtype.js';
import { DecodeError } from '../errors.js';
import type { Attribute, Dim, FunctionDef, Graph, Model, Node, ValueInfo, ValueType } from './model.js';
import { ProtoReader, WIRE_FIXED32, WIRE_VARINT } from './protobuf.js';
import { dtypeFromCode, readSparseTensor, readStringEntry, readTensor, type LoadOptions } from './tensor.js';

export type { LoadOptions } from './tensor.js';

/** Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused. */
export const MAX_GRAPH_DEPTH = 64;

/** Decodes a ModelProto (.onnx file). */
export function decodeModel(bytes: Uint8Array, options: LoadOptions = {}): Model {
  const r = new ProtoReader(bytes);
  const path = 'ModelProto';
  const model: Model = {
    irVersion: 0,
    opsets: new Map(),
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    metadata: new Map(),
    graph: emptyGraph(),
    functions: [],
  };
  let sawGraph = false;
  while (r.next(path)) {
    switch (r.field) {
      case 1:
        r.expect(WIRE_VARINT, `${path}.ir_version`);
        model.irVersion = r.int64(`${path}.ir_version`);
        break;
      case 2:
        model.producerName = r.string(`${path}.producer_name`);
        break;
      case 3:
        model.producerVersion = r.string(`${path}.producer_version`);
        break;
      case 4:
        model.domain = r.string(`${path}.domain`);
        break;
      case 5:
        r.expect(WIRE_VARINT, `${path}.model_version`);
        model.modelVersion = r.int64(`${path}.model_version`);
        break;
      case 6:
        model.docString = r.string(`${path}.doc_string`);
        break;
      case 7:
        model.graph = readGraph(r.message(`${path}.graph`), `${path}.graph`, options, 0);
        sawGraph = true;
        break;
      case 8: {
        const [domain, version] = readOpset(r.message(`${path}.opset_import`), `${path}.opset_import`);
        model.opsets.set(domain, version);
        break;
      }
      case 14: {
        const [k, v] = readStringEntry(r.message(`${path}.metadata_props`), `${path}.metadata_props`);
        model.metadata.set(k, v);
        break;
      }
      case 25: {
        const i = model.functions.length;
        model.functions.push(readFunction(r.message(`${path}.functions[${i}]`), `${path}.functions[${i}]`, options));
        break;
      }
      default:
        r.skip(path);
    }
  }
  if (!sawGraph) throw new DecodeError('model has no graph', bytes.length, path);
  return model;
}

/** Decodes a TensorProto (.pb test data). */
export function decodeTensor(bytes: Uint8Array, options: LoadOptions = {}): TensorData & { name: string } {
  return readTensor(new ProtoReader(bytes), 'TensorProto', options);
}

/** '' and 'ai.onnx' both name the default domain. */
export function normaliseDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

function emptyGraph(): Graph {
  return { name: '', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
}

function readOpset(r: ProtoReader, path: string): [string, number] {
  let domain = '';
  let version = 0;
  while (r.next(path)) {
    if (r.field === 1) domain = r.string(`${path}.domain`);
    else if (r.field === 2) {
      r.expect(WIRE_VARINT, `${path}.version`);
      version = r.int64(`${path}.version`);
    } else r.skip(path);
  }
  return [normaliseDomain(domain), version];
}

function readGraph(r: ProtoReader, path: string, options: LoadOptions, depth: number): Graph {
  if (depth > MAX_GRAPH_DEPTH) r.fail(`subgraphs nested deeper than ${MAX_GRAPH_DEPTH}`, path, r.start);
  const g = emptyGraph();
  while (r.next(path)) {
    switch (r.field) {
      case 1: {
        const p = `${path}.node[${g.nodes.length}]`;
        g.nodes.push(readNode(r.message(p), p, options, depth));
        break;
      }
      case 2:
        g.name = r.string(`${path}.name`);
        break;
      case 5: {
        const p = `${path}.initializer[${g.initializers.size}]`;
        const { name, ...t } = readTensor(r.message(p), p, options);
        g.initializers.set(name, t);
        break;
      }
      case 11:
        g.inputs.push(readValueInfo(r.message(`${path}.input`), `${path}.input[${g.inputs.length}]`));
        break;
      case 12:
        g.outputs.push(readValueInfo(r.message(`${path}.output`), `${path}.output[${g.outputs.length}]`));
        break;
      case 13:
        g.valueInfo.push(readValueInfo(r.message(`${path}.value_info`), `${path}.value_info[${g.valueInfo.length}]`));
        break;
      case 15: {
        const p = `${path}.sparse_initializer`;
        const { name, ...t } = readSparseTensor(r.message(p), p, options);
        g.initializers.set(name, t);
        break;
      }
      default:
        r.skip(path);
    }
  }
  return g;
}

/**
 * The names of the node being read are gathered here and copied out at its end: an array grown by push keeps room
 * for 17 entries, and a model holds two such lists per node for as long as it is loaded.
 */
const nodeInputs: string[] = [];
const nodeOutputs: string[] = [];

function readNode(r: ProtoReader, path: string, options: LoadOptions, depth: number): Node {
  // Subgraph attributes read nodes of their own: keep the outer node's names apart.
  const inputsFrom = nodeInputs.length;
  const outputsFrom = nodeOutputs.length;
  try {
    return readNodeFields(r, path, options, depth, inputsFrom, outputsFrom);
  } finally {
    nodeInputs.length = inputsFrom;
    nodeOutputs.length = outputsFrom;
  }
}

function readNodeFields(r: ProtoReader, path: string, options: LoadOptions, depth: number, inputsFrom: number, outputsFrom: number): Node {
  let name = '';
  let opType = '';
  let domain = '';
  const attributes = new Map<string, Attribute>();
  let attributeRefs: Map<string, string> | undefined;
  while (r.next(path)) {
    switch (r.field) {
      case 1:
        nodeInputs.push(r.string(`${path}.input`));
        break;
      case 2:
        nodeOutputs.push(r.string(`${path}.output`));
        break;
      case 3:
        name = r.string(`${path}.name`);
        break;
      case 4:
        opType = r.string(`${path}.op_type`);
        break;
      case 5: {
        const p = `${path}.attribute[${attributes.size}]`;
        const a = readAttribute(r.message(p), p, options, depth);
        if (a.ref !== undefined) (attributeRefs ??= new Map()).set(a.name, a.ref);
        else attributes.set(a.name, a.attr);
        break;
      }
      case 7:
        domain = normaliseDomain(r.string(`${path}.domain`));
        break;
      default:
        r.skip(path);
    }
  }
  const node: Node = { name, opType, domain, inputs: nodeInputs.slice(inputsFrom), outputs: nodeOutputs.slice(outputsFrom), attributes };
  if (attributeRefs !== undefined) node.attributeRefs = attributeRefs;
  return node;
}

// AttributeProto.AttributeType
const ATTR_TYPES: Record<number, Attribute['type']> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  11: 'sparse_tensor',
  12: 'sparse_tensors',
  13: 'type_proto',
  14: 'type_protos',
};

// The AttributeProto field that holds each attribute type's value.
const ATTR_VALUE_FIELD: Record<Attribute['type'], number> = {
  float: 2,
  int: 3,
  string: 4,
  tensor: 5,
  graph: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  type_proto: 14,
  type_protos: 15,
  sparse_tensor: 22,
  sparse_tensors: 23,
};

interface ReadAttribute {
  name: string;
  attr: Attribute;
  ref: string | undefined;
}

function readAttribute(r: ProtoReader, path: string, options: LoadOptions, depth: number): ReadAttribute {
  let name = '';
  let typeCode = 0;
  let ref: string | undefined;
  const seen = new Set<number>();
  let f = 0;
  let i = 0;
  let s = '';
  let t: TensorData | undefined;
  let g: Graph | undefined;
  let tp: ValueType | undefined;
  let st: TensorData | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  const tensors: TensorData[] = [];
  const graphs: Graph[] = [];
  const typeProtos: ValueType[] = [];
  const sparseTensors: TensorData[] = [];
  const p = (field: string): string => `${path}${name ? `('${name}')` : ''}.${field}`;
  while (r.next(path)) {
    seen.add(r.field);
    switch (r.field) {
      case 1:
        name = r.string(p('name'));
        break;
      case 2:
        r.expect(WIRE_FIXED32, p('f'));
        f = r.float32(p('f'));
        break;
      case 3:
        r.expect(WIRE_VARINT, p('i'));
        i = r.int64(p('i'));
        break;
      case 4:
        s = r.string(p('s'));
        break;
      case 5:
        t = withoutName(readTensor(r.message(p('t')), p('t'), options));
        break;
      case 6:
        g = readGraph(r.message(p('g')), p('g'), options, depth + 1);
        break;
      case 7:
        r.repeated(WIRE_FIXED32, p('floats'), (x) => floats.push(x.float32(p('floats'))));
        break;
      case 8:
        r.repeated(WIRE_VARINT, p('ints'), (x) => ints.push(x.int64(p('ints'))));
        break;
      case 9:
        strings.push(r.string(p('strings')));
        break;
      case 10:
        tensors.push(withoutName(readTensor(r.message(p('tensors')), p(`tensors[${tensors.length}]`), options)));
        break;
      case 11:
        graphs.push(readGraph(r.message(p('graphs')), p(`graphs[${graphs.length}]`), options, depth + 1));
        break;
      case 14:
        tp = readType(r.message(p('tp')), p('tp'));
        break;
      case 15:
        typeProtos.push(readType(r.message(p('type_protos')), p('type_protos')));
        break;
      case 20:
        r.expect(WIRE_VARINT, p('type'));
        typeCode = r.int32(p('type'));
        break;
      case 21:
        ref = r.string(p('ref_attr_name'));
        break;
      case 22:
        st = withoutName(readSparseTensor(r.message(p('sparse_tensor')), p('sparse_tensor'), options));
        break;
      case 23:
        sparseTensors.push(withoutName(readSparseTensor(r.message(p('sparse_tensors')), p('sparse_tensors'), options)));
        break;
      default:
        r.skip(path);
    }
  }
  const type = typeCode !== 0 ? ATTR_TYPES[typeCode] : inferAttributeType(seen);
  // A reference to a calling node's attribute (inside a FunctionProto) carries no value of its own.
  if (ref !== undefined) return { name, attr: { type: 'ints', value: [] }, ref };
  if (type === undefined) {
    throw new DecodeError(
      typeCode !== 0 ? `unknown attribute type ${typeCode}` : 'attribute has no type and no value',
      r.start,
      p('type'),
    );
  }
  const attr = ((): Attribute => {
    switch (type) {
      case 'float':
        return { type, value: f };
      case 'int':
        return { type, value: i };
      case 'string':
        return { type, value: s };
      case 'floats':
        return { type, value: floats };
      case 'ints':
        return { type, value: ints };
      case 'strings':
        return { type, value: strings };
      case 'tensors':
        return { type, value: tensors };
      case 'graphs':
        return { type, value: graphs };
      case 'type_protos':
        return { type, value: typeProtos };
      case 'sparse_tensors':
        return { type, value: sparseTensors };
      case 'tensor':
        return { type, value: t ?? missing('t') };
      case 'graph':
        return { type, value: g ?? missing('g') };
      case 'type_proto':
        return { type, value: tp ?? missing('tp') };
      case 'sparse_tensor':
        return { type, value: st ?? missing('sparse_tensor') };
    }
  })();
  function missing(field: string): never {
    throw new DecodeError(`attribute of type ${type} has no ${field} value`, r.start, p(field));
  }
  return { name, attr, ref };
}

/** Pre-IR-v3 files may omit AttributeProto.type: infer it from the value field that is present. */
function inferAttributeType(seen: Set<number>): Attribute['type'] | undefined {
  for (const [type, field] of Object.entries(ATTR_VALUE_FIELD)) {
    if (seen.has(field)) return type as Attribute['type'];
  }
  return undefined;
}

function withoutName(t: TensorData & { name: string }): TensorData {
  return { dtype: t.dtype, shape: t.shape, data: t.data };
}

function readValueInfo(r: ProtoReader, path: string): ValueInfo {
  const info: ValueInfo = { name: '', type: { kind: 'unknown' } };
  while (r.next(path)) {
    if (r.field === 1) info.name = r.string(`${path}.name`);
    else if (r.field === 2) info.type = readType(r.message(`${path}.type`), `${path}.type`);
    else if (r.field === 3) info.docString = r.string(`${path}.doc_string`);
    else r.skip(path);
  }
  return info;
}

function readType(r: ProtoReader, path: string): ValueType {
  let type: ValueType = { kind: 'unknown' };
  while (r.next(path)) {
    switch (r.field) {
      case 1:
        type = readTensorType(r.message(`${path}.tensor_type`), `${path}.tensor_type`, 'tensor');
        break;
      case 4:
        type = { kind: 'sequence', elem: readElemType(r.message(`${path}.sequence_type`), `${path}.sequence_type`) };
        break;
      case 5:
        r.skip(path);
        type = { kind: 'map' };
        break;
      case 8:
        type = readTensorType(r.message(`${path}.sparse_tensor_type`), `${path}.sparse_tensor_type`, 'sparse_tensor');
        break;
      case 9:
        type = { kind: 'optional', elem: readElemType(r.message(`${path}.optional_type`), `${path}.optional_type`) };
        break;
      default:
        r.skip(path);
    }
  }
  return type;
}

/** TypeProto.Sequence / TypeProto.Optional: field 1 is the element's TypeProto. */
function readElemType(r: ProtoReader, path: string): ValueType | null {
  let elem: ValueType | null = null;
  while (r.next(path)) {
    if (r.field === 1) elem = readType(r.message(`${path}.elem_type`), `${path}.elem_type`);
    else r.skip(path);
  }
  return elem;
}

function readTensorType(r: ProtoReader, path: string, kind: 'tensor' | 'sparse_tensor'): ValueType {
  let code = 0;
  let shape: Dim[] | null = null;
  while (r.next(path)) {
    if (r.field === 1) {
      r.expect(WIRE_VARINT, `${path}.elem_type`);
      code = r.int32(`${path}.elem_type`);
    } else if (r.field === 2) shape = readShape(r.message(`${path}.shape`), `${path}.shape`);
    else r.skip(path);
  }
  if (code === 0) return { kind: 'unknown' };
  return { kind, dtype: dtypeFromCode(code, path), shape };
}

function readShape(r: ProtoReader, path: string): Dim[] {
  const dims: Dim[] = [];
  while (r.next(path)) {
    if (r.field === 1) dims.push(readDim(r.message(`${path}.dim`), `${path}.dim[${dims.length}]`));
    else r.skip(path);
  }
  return dims;
}

function readDim(r: ProtoReader, path: string): Dim {
  let dim: Dim = null;
  while (r.next(path)) {
    if (r.field === 1) {
      r.expect(WIRE_VARINT, `${path}.dim_value`);
      dim = r.int64(`${path}.dim_value`);
    } else if (r.field === 2) dim = r.string(`${path}.dim_param`) || null;
    else r.skip(path);
  }
  return dim;
}

function readFunction(r: ProtoReader, path: string, options: LoadOptions): FunctionDef {
  const fn: FunctionDef = {
    name: '',
    domain: '',
    overload: '',
    inputs: [],
    outputs: [],
    attributeNames: [],
    attributeDefaults: new Map(),
    nodes: [],
    opsets: new Map(),
    valueInfo: [],
    docString: '',
  };
  while (r.next(path)) {
    switch (r.field) {
      case 1:
        fn.name = r.string(`${path}.name`);
        break;
      case 4:
        fn.inputs.push(r.string(`${path}.input`));
        break;
      case 5:
        fn.outputs.push(r.string(`${path}.output`));
        break;
      case 6:
        fn.attributeNames.push(r.string(`${path}.attribute`));
        break;
      case 7: {
        const p = `${path}.node[${fn.nodes.length}]`;
        fn.nodes.push(readNode(r.message(p), p, options, 1));
        break;
      }
      case 8:
        fn.docString = r.string(`${path}.doc_string`);
        break;
      case 9: {
        const [domain, version] = readOpset(r.message(`${path}.opset_import`), `${path}.opset_import`);
        fn.opsets.set(domain, version);
        break;
      }
      case 10:
        fn.domain = normaliseDomain(r.string(`${path}.domain`));
        break;
      case 11: {
        const a = readAttribute(r.message(`${path}.attribute_proto`), `${path}.attribute_proto`, options, 1);
        fn.attributeDefaults.set(a.name, a.attr);
        break;
      }
      case 12:
        fn.valueInfo.push(readValueInfo(r.message(`${path}.value_info`), `${path}.value_info`));
        break;
      case 13:
        fn.overload = r.string(`${path}.overload`);
        break;
      default:
        r.skip(path);
    }
  }
  return fn;
}
