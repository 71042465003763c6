import { ONNX_DTYPE_CODES, type DType } from '../dtype.js';
import type { Attribute, Graph, Node } from '../loader/model.js';

/**
 * The element type of each value of one graph, as far as it can be told without shapes: declared types
 * (inputs, outputs, value_info), initializers, Constant values, then one walk over the nodes in order with
 * the ONNX type rules of the common operators (most ops: output type = input 0's type; Shape, ArgMax, …:
 * int64; comparisons: bool; Cast: `to`; …). Values of ops it does not know are left out (unknown), never
 * guessed. `outer` gives the types of names read from enclosing graphs.
 */
export function inferValueDtypes(graph: Graph, outer: ReadonlyMap<string, DType> = new Map()): Map<string, DType> {
  const types = new Map<string, DType>(outer);
  for (const v of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) {
    if (v.type.kind === 'tensor') types.set(v.name, v.type.dtype);
  }
  for (const [name, t] of graph.initializers) types.set(name, t.dtype);
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => (name === '' ? undefined : types.get(name)));
    const outputs = node.domain === '' || node.domain === 'ai.onnx' ? outputDtypes(node, inputs) : [];
    node.outputs.forEach((name, i) => {
      // A declared type wins over the rule (they agree in a valid model).
      if (name !== '' && !types.has(name) && outputs[i] !== undefined) types.set(name, outputs[i]!);
    });
  }
  return types;
}

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const FIRST_OF_TWO_INT64 = new Set(['TopK', 'MaxPool']); // values, then int64 indices
/** Ops whose outputs have no float/int relation to input 0 that this table knows; left unknown. */
const UNKNOWN_OUT = new Set([
  'If', 'Loop', 'Scan', 'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SplitToSequence', 'ConcatFromSequence',
  'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'StringNormalizer', 'TfIdfVectorizer', 'Optional',
  'OptionalGetElement', 'OptionalHasElement', 'RegexFullMatch', 'StringConcat', 'StringSplit', 'LabelEncoder',
]);

function dtypeAttr(node: Node, name: string): DType | undefined {
  const a = node.attributes.get(name);
  return a?.type === 'int' ? ONNX_DTYPE_CODES[a.value] : undefined;
}

function tensorAttrDtype(a: Attribute | undefined): DType | undefined {
  if (a === undefined) return undefined;
  if (a.type === 'tensor') return a.value.dtype;
  if (a.type === 'float' || a.type === 'floats') return 'float32';
  if (a.type === 'int' || a.type === 'ints') return 'int64';
  if (a.type === 'string' || a.type === 'strings') return 'string';
  return undefined;
}

/** The ONNX type rule of a default-domain op: output dtypes from its input dtypes and attributes. */
function outputDtypes(node: Node, inputs: (DType | undefined)[]): (DType | undefined)[] {
  const op = node.opType;
  const x = inputs[0];
  if (UNKNOWN_OUT.has(op)) return [];
  if (INT64_OUT.has(op)) return ['int64'];
  if (BOOL_OUT.has(op)) return ['bool'];
  if (FIRST_OF_TWO_INT64.has(op)) return [x, 'int64'];
  switch (op) {
    case 'Cast':
      return [dtypeAttr(node, 'to')];
    case 'CastLike':
      return [inputs[1]];
    case 'Constant': {
      const a = [...node.attributes.values()][0];
      return [tensorAttrDtype(a)];
    }
    case 'ConstantOfShape':
      return [node.attributes.has('value') ? tensorAttrDtype(node.attributes.get('value')) : 'float32'];
    case 'RandomNormal':
    case 'RandomUniform':
      return [dtypeAttr(node, 'dtype') ?? 'float32'];
    case 'RandomNormalLike':
    case 'RandomUniformLike':
    case 'EyeLike':
    case 'Bernoulli':
      return [dtypeAttr(node, 'dtype') ?? x];
    case 'HannWindow':
    case 'HammingWindow':
    case 'BlackmanWindow':
    case 'MelWeightMatrix':
      return [dtypeAttr(node, 'output_datatype') ?? 'float32'];
    case 'Multinomial':
      return [dtypeAttr(node, 'dtype') ?? 'int32'];
    case 'Where':
      return [inputs[1] ?? inputs[2]];
    case 'OneHot':
      return [inputs[2]];
    case 'DequantizeLinear':
      return [dtypeAttr(node, 'output_dtype') ?? inputs[1]];
    case 'QuantizeLinear':
      return [dtypeAttr(node, 'output_dtype') ?? inputs[2] ?? 'uint8'];
    case 'DynamicQuantizeLinear':
      return ['uint8', 'float32', 'uint8'];
    case 'Unique':
      return [x, 'int64', 'int64', 'int64'];
    case 'Dropout':
      return [x, 'bool'];
    case 'Split':
      return node.outputs.map(() => x);
    default:
      // Elementwise math, Conv, MatMul, Gemm, pooling, normalisations, Reshape, Transpose, Concat, Gather,
      // Slice, Pad, Resize, Softmax, Range, …: T of input 0 (extra outputs such as LayerNormalization's
      // mean are the same float type or unused).
      return node.outputs.map(() => x);
  }
}
