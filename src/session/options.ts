/**
 * onnxruntime-common's RunOptions and fetches, and the checks of SessionOptions/RunOptions values: a bad value is
 * an OptionError naming the option and the valid values, never a TypeError from deep inside.
 */
import { OptionError } from '../errors.js';
import { Tensor } from './tensor.js';

/** onnxruntime's RunOptions: accepted, checked, and (but for `tag`) without effect on tinfer's single-threaded run. */
export interface RunOptions {
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  logVerbosityLevel?: number;
  /** onnxruntime terminates a running session with this; tinfer's run is synchronous, so it is ignored. */
  terminate?: boolean;
  tag?: string;
  extra?: Record<string, unknown>;
}

/** Output names, or output name -> null (allocate) or a Tensor to write the output into. */
export type FetchesType = readonly string[] | Readonly<Record<string, Tensor | null>>;

/**
 * run(feeds, options?) vs run(feeds, fetches, options?), told apart as onnxruntime does: an array is fetches; an
 * object is fetches when some key is an output name mapped to null or a Tensor, otherwise it is the RunOptions.
 */
export function splitRunArgs(
  a: FetchesType | RunOptions | undefined,
  b: RunOptions | undefined,
  outputNames: readonly string[],
): { fetches: FetchesType | undefined; options: RunOptions } {
  if (a === undefined || a === null) return { fetches: undefined, options: b ?? {} };
  if (Array.isArray(a)) {
    for (const n of a) if (typeof n !== 'string') throw new OptionError(`fetches: output names must be strings, got ${typeof n}`, 'fetches');
    return { fetches: a as readonly string[], options: b ?? {} };
  }
  if (typeof a !== 'object') throw new OptionError(`run(): the second argument must be fetches or RunOptions, got ${typeof a}`, 'fetches');
  const record = a as Record<string, unknown>;
  const isFetches = Object.keys(record).some((k) => outputNames.includes(k) && (record[k] === null || isTensorLike(record[k])));
  if (isFetches) {
    for (const [k, v] of Object.entries(record)) {
      if (v !== null && !isTensorLike(v)) throw new OptionError(`fetches['${k}'] must be null or a Tensor`, 'fetches');
    }
    return { fetches: record as Record<string, Tensor | null>, options: b ?? {} };
  }
  if (b !== undefined) throw new OptionError('run(feeds, fetches, options): fetches name no output of the model', 'fetches', outputNames);
  return { fetches: undefined, options: a as RunOptions };
}

/**
 * A Tensor, or a tensor of another onnxruntime-common build or of tinfer's CommonJS facade (Node 18), which run()
 * writes into as into its own: recognised by `type`, `dims` and `data`, as feeds are.
 */
function isTensorLike(v: unknown): boolean {
  if (v instanceof Tensor) return true;
  const t = v as { type?: unknown; dims?: unknown; data?: unknown } | null;
  return t !== null && typeof t === 'object' && typeof t.type === 'string' && Array.isArray(t.dims) && (ArrayBuffer.isView(t.data) || Array.isArray(t.data));
}

const LOG_LEVELS = ['0', '1', '2', '3', '4'];

function checkLogLevel(value: unknown, option: string): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 4)) {
    throw new OptionError(`${option} must be 0 (verbose) to 4 (fatal), got ${String(value)}`, option, LOG_LEVELS);
  }
}

export function checkRunOptions(options: RunOptions): void {
  if (typeof options !== 'object') throw new OptionError(`RunOptions must be an object, got ${typeof options}`, 'options');
  checkLogLevel(options.logSeverityLevel, 'logSeverityLevel');
  if (options.tag !== undefined && typeof options.tag !== 'string') throw new OptionError('RunOptions.tag must be a string', 'tag');
}

const BACKENDS = ['auto', 'wasm', 'js'];
const CONV_ALGORITHMS = ['auto', 'reference', 'im2col', 'winograd', 'direct'];

/** Checks the SessionOptions fields tinfer reads; onnxruntime's other fields are accepted as they are. */
export function checkSessionOptions(options: object): void {
  if (options === null || typeof options !== 'object') throw new OptionError(`SessionOptions must be an object, got ${options === null ? 'null' : typeof options}`, 'options');
  const o = options as Record<string, unknown>;
  if (o.backend !== undefined && !BACKENDS.includes(o.backend as string)) {
    throw new OptionError(`backend must be one of ${BACKENDS.join(', ')}, got '${String(o.backend)}'`, 'backend', BACKENDS);
  }
  for (const name of ['maxTensorBytes', 'maxCachedPlans', 'intraOpNumThreads', 'threads', 'interOpNumThreads']) {
    const v = o[name];
    const min = name === 'maxCachedPlans' || name === 'maxTensorBytes' ? 1 : 0;
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) {
      throw new OptionError(`${name} must be an integer >= ${min}, got ${String(v)}`, name);
    }
  }
  checkLogLevel(o.logSeverityLevel, 'logSeverityLevel');
  if (o.worker !== undefined && typeof o.worker !== 'boolean') {
    throw new OptionError(`worker must be true or false, got ${typeof o.worker === 'string' ? `'${o.worker}'` : String(o.worker)}`, 'worker', ['true', 'false']);
  }
  if (o.variants !== undefined && (typeof o.variants !== 'object' || o.variants === null)) throw new OptionError('variants must be an object of op type -> variant name', 'variants');
  if (o.float16 !== undefined && o.float16 !== 'compute-f32' && o.float16 !== 'exact') {
    throw new OptionError(`float16 must be one of compute-f32, exact, got '${String(o.float16)}'`, 'float16', ['compute-f32', 'exact']);
  }
  if (o.memoryLimit !== undefined && !(typeof o.memoryLimit === 'number' && Number.isFinite(o.memoryLimit) && o.memoryLimit > 0)) {
    throw new OptionError(`memoryLimit must be a positive number of bytes, got ${typeof o.memoryLimit === 'string' ? `'${o.memoryLimit}'` : String(o.memoryLimit)}`, 'memoryLimit');
  }
  if (o.convAlgorithm !== undefined && !CONV_ALGORITHMS.includes(o.convAlgorithm as string)) {
    throw new OptionError(`convAlgorithm must be one of ${CONV_ALGORITHMS.join(', ')}, got '${String(o.convAlgorithm)}'`, 'convAlgorithm', CONV_ALGORITHMS);
  }
}
