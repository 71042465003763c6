/**
 * The messages between a `worker: true` session and its worker thread, and how errors cross: the worker sends a
 * TinferError as its class name, message, stack and fields; the main thread rebuilds an instance of the same
 * class, so `e instanceof InputError && e.input === 'x'` holds on both sides. No Node imports: both sides share it.
 */
import { DecodeError, GraphError, InputError, LimitError, ModelFileError, OptionError, SessionReleasedError, TinferError, UnsupportedError } from '../errors.js';
import type { StepProfile } from './executor.js';
import type { InputMetadata, MemoryReport } from './session.js';
import { KernelFailure } from './prepare.js';
import type { TensorDataType, TensorType } from './tensor.js';

/** A Tensor as it crosses threads: structured-clone data, rebuilt as a Tensor on the other side. */
export interface WireTensor {
  type: TensorType;
  dims: number[];
  data: TensorDataType;
}

/** Where the worker reads the model: a copy of the bytes, or the path/file URL it reads itself. */
export type WireSource = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'path'; href: string };

export interface WorkerInit {
  source: WireSource;
  /** SessionOptions without `worker` (and without functions, which cannot be cloned). */
  options: Record<string, unknown>;
}

/** What the worker reports after each run (and once it is ready): what memory() and profile() return on the main side. */
export interface WorkerSnapshot {
  memory: MemoryReport;
  planKind: 'static' | 'eager' | 'none';
  /** With { profile: true }: profile() and the nodes profile({ skipped: true }) adds. */
  profile?: { ran: StepProfile[]; skipped: StepProfile[] };
  /** How many resetProfile messages the worker had handled when it took the snapshot. */
  resets: number;
}

export interface WorkerDescription {
  inputNames: string[];
  /** Every graph input, optional ones (with an initializer) included: the main side refuses unknown feed names. */
  allInputNames: string[];
  outputNames: string[];
  inputMetadata: InputMetadata[];
  outputMetadata: InputMetadata[];
  passNotes: string[];
  backend: 'wasm' | 'js';
  backendInfo: string;
}

export type ToWorker =
  | { kind: 'run'; id: number; feeds: [string, WireTensor][]; fetches: string[]; options: object }
  | { kind: 'resetProfile' };

export type FromWorker =
  | { kind: 'ready'; description: WorkerDescription; snapshot: WorkerSnapshot }
  | { kind: 'failed'; error: WireError }
  | { kind: 'result'; id: number; outputs: [string, WireTensor][]; snapshot: WorkerSnapshot }
  | { kind: 'error'; id: number; error: WireError; snapshot?: WorkerSnapshot };

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** The subclass's own fields (InputError's input/expected/actual, DecodeError's offset/field, ...). */
  fields: Record<string, unknown>;
}

const TINFER_ERRORS: Record<string, new (...args: never[]) => TinferError> = {
  TinferError, DecodeError, LimitError, GraphError, UnsupportedError, InputError, ModelFileError, OptionError, SessionReleasedError, KernelFailure,
};

const STANDARD_ERRORS: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

export function toWireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    // Only plain data crosses; a field holding a function or an object with methods would not clone.
    if (v === undefined || v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) fields[k] = v;
  }
  return { name: e.name, message: e.message, stack: e.stack, fields };
}

/** The same class (by name) with the same message and fields; the stack is the worker's, where the error arose. */
export function fromWireError(w: WireError): Error {
  const Tinfer = TINFER_ERRORS[w.name];
  let e: Error;
  if (Tinfer) {
    // Built as a TinferError and given the subclass's prototype: the subclass constructors reformat their message
    // (DecodeError appends the offset), and the message must stay exactly the worker's.
    e = new TinferError(w.message);
    Object.setPrototypeOf(e, Tinfer.prototype);
  } else e = new (STANDARD_ERRORS[w.name] ?? Error)(w.message);
  Object.defineProperty(e, 'name', { value: w.name, writable: true, enumerable: Boolean(Tinfer), configurable: true });
  Object.assign(e, w.fields);
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}

/** The ArrayBuffers of these tensors that can move instead of being copied: whole, unshared, each listed once. */
export function transferables(tensors: readonly WireTensor[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of tensors) {
    const d = t.data;
    if (!ArrayBuffer.isView(d) || !(d.buffer instanceof ArrayBuffer)) continue;
    if (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) out.add(d.buffer);
  }
  return [...out];
}
