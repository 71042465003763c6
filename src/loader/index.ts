export * from './model.js';
export * from './float16.js';
export { ProtoReader, MAX_MESSAGE_DEPTH } from './protobuf.js';
export { decodeModel, decodeTensor, normaliseDomain, MAX_GRAPH_DEPTH } from './onnx.js';
export { DEFAULT_MAX_TENSOR_BYTES, checkExternalLocation, type LoadOptions } from './tensor.js';
export { ProtoWriter, encodeModel, encodeTensor } from './encode.js';
export { decodeValue, decodeSequence, decodeOptional, tensorAsDeclared, type ValueData } from './value.js';
