/** tinfer: a dependency-free TypeScript inference runtime for ONNX models. */
export { InferenceSession } from './session/session.js';
export type { SessionOptions, InputMetadata, MemoryReport, Feeds } from './session/session.js';
export { Tensor } from './session/tensor.js';
export type { TensorType, TensorDataType } from './session/tensor.js';
export type { StepProfile } from './session/executor.js';
export {
  TinferError,
  DecodeError,
  LimitError,
  GraphError,
  UnsupportedError,
  InputError,
} from './errors.js';
export { decodeModel, decodeTensor } from './loader/index.js';
export type { Model, Graph, Node, ValueInfo } from './loader/model.js';
export type { DType, TensorData } from './dtype.js';
export { KernelRegistry, defaultRegistry } from './kernels/registry.js';
