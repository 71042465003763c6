import type { DType, TensorData } from '../dtype.js';

/** A dim of a declared shape: a number, a symbolic name ("batch"), or null when unknown. */
export type Dim = number | string | null;

/** The declared type of a graph input/output/value_info entry. */
export type ValueType =
  | { kind: 'tensor'; dtype: DType; shape: Dim[] | null }
  | { kind: 'sequence'; elem: ValueType | null }
  | { kind: 'optional'; elem: ValueType | null }
  | { kind: 'map' }
  | { kind: 'sparse_tensor'; dtype: DType; shape: Dim[] | null }
  | { kind: 'unknown' };

export interface ValueInfo {
  name: string;
  type: ValueType;
  docString?: string;
}

export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorData }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse_tensor'; value: TensorData }
  | { type: 'type_proto'; value: ValueType }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: TensorData[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensors'; value: TensorData[] }
  | { type: 'type_protos'; value: ValueType[] };

export interface Node {
  name: string;
  opType: string;
  /** '' and 'ai.onnx' both mean the default ONNX domain; the loader normalises to ''. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
  /**
   * Inside a FunctionProto body: attributes that refer to an attribute of the calling node
   * (AttributeProto.ref_attr_name), as attribute name → the function's attribute name.
   */
  attributeRefs?: Map<string, string>;
  /**
   * Set by the executor on control-flow nodes: how many trailing entries of `inputs` are outer-scope values
   * read inside the node's subgraphs (not declared by the model).
   */
  implicitInputs?: number;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorData>;
  valueInfo: ValueInfo[];
}

export interface Model {
  irVersion: number;
  /** Domain ('' for ai.onnx) → opset version. */
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Map<string, string>;
  graph: Graph;
  /** Model-local functions (FunctionProto, as FunctionDef); decoded but not yet expanded. */
  functions: unknown[];
}

/** A model-local function (FunctionProto): a named subgraph an op (domain, name) expands to. */
export interface FunctionDef {
  name: string;
  domain: string;
  overload: string;
  inputs: string[];
  outputs: string[];
  /** Names of the attributes a call may set (FunctionProto.attribute). */
  attributeNames: string[];
  /** Attributes with default values (FunctionProto.attribute_proto). */
  attributeDefaults: Map<string, Attribute>;
  nodes: Node[];
  opsets: Map<string, number>;
  valueInfo: ValueInfo[];
  docString: string;
}
