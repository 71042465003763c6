/**
 * onnxruntime-common's `env`: global settings. tinfer logs nothing, runs on the calling thread and needs no
 * wasm binaries, so `logLevel` is checked and kept, and `wasm`, `webgl`, `webgpu` are plain objects that accept
 * any settings (code that sets `ort.env.wasm.numThreads = 1` keeps working) without effect.
 */
import { OptionError } from './errors.js';
import { VERSION } from './version.js';

export type LogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';

const LOG_LEVELS: readonly LogLevel[] = ['verbose', 'info', 'warning', 'error', 'fatal'];

export interface Env {
  /** Checked and kept; tinfer writes no logs. */
  logLevel: LogLevel;
  debug: boolean;
  trace: boolean;
  readonly versions: { readonly tinfer: string; readonly [name: string]: string };
  /** onnxruntime-web's settings (numThreads, simd, proxy, wasmPaths, ...): accepted, without effect. */
  wasm: Record<string, unknown>;
  webgl: Record<string, unknown>;
  webgpu: Record<string, unknown>;
}

let logLevel: LogLevel = 'warning';

export const env: Env = {
  get logLevel(): LogLevel {
    return logLevel;
  },
  set logLevel(value: LogLevel) {
    if (!LOG_LEVELS.includes(value)) throw new OptionError(`env.logLevel must be one of ${LOG_LEVELS.join(', ')}, got '${String(value)}'`, 'logLevel', LOG_LEVELS);
    logLevel = value;
  },
  debug: false,
  trace: false,
  versions: { tinfer: VERSION },
  wasm: {},
  webgl: {},
  webgpu: {},
};
