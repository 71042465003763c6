/**
 * tinfer: a dependency-free TypeScript inference runtime for ONNX models, shaped like onnxruntime-common:
 * `import * as ort from 'tinfer'`, `import ort from 'tinfer'` or `const ort = require('tinfer')`.
 */
import { InferenceSession } from './session/session.js';
import { Tensor } from './session/tensor.js';
import { env } from './env.js';
import {
  TinferError,
  DecodeError,
  LimitError,
  GraphError,
  UnsupportedError,
  InputError,
  ModelFileError,
  OptionError,
  SessionReleasedError,
} from './errors.js';
import { KernelFailure } from './session/prepare.js';
import { VERSION } from './version.js';

export { InferenceSession, Tensor, env, VERSION };
export { TinferError, DecodeError, LimitError, GraphError, UnsupportedError, InputError, ModelFileError, OptionError, SessionReleasedError, KernelFailure };
export type { SessionOptions, InputMetadata, TensorMetadata, NonTensorMetadata, MemoryReport, Feeds, RunOptions, FetchesType } from './session/session.js';
export type { TensorType, TensorDataType, DataLocation } from './session/tensor.js';
export type { Env, LogLevel } from './env.js';
export type { InputErrorDetails } from './errors.js';
export type { StepProfile } from './session/executor.js';
export { decodeModel, decodeTensor } from './loader/index.js';
export type { Model, Graph, Node, ValueInfo } from './loader/model.js';
export type { DType, TensorData } from './dtype.js';
export { KernelRegistry, defaultRegistry } from './kernels/registry.js';

/** The default export, for `import ort from 'tinfer'`: the onnxruntime-common names and tinfer's error classes. */
const ort = {
  InferenceSession,
  Tensor,
  env,
  VERSION,
  TinferError,
  DecodeError,
  LimitError,
  GraphError,
  UnsupportedError,
  InputError,
  ModelFileError,
  OptionError,
  SessionReleasedError,
  KernelFailure,
};
export default ort;
