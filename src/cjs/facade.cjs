'use strict';
// require('tinfer') where Node cannot require() an ES module (Node 18, Node 20 before 20.19, 22 before 22.12).
//
// The package holds one copy of the code, as ES modules. The CommonJS entry points (dist/cjs/*.cjs, written by
// scripts/build-package.mjs) hand out the ES build itself through require(esm) where Node has it; elsewhere they
// build the facade below, which starts `import()` of the ES build at once and stands in for its exports:
// - mirrors usable before the import has finished: Tensor, env and the error classes (their `instanceof` also
//   recognises the ES build's objects), InferenceSession (its create() awaits the import and returns the real session);
// - async functions (readModelFile, ...) that await the import and call the real one;
// - synchronous functions, classes and objects (decodeModel, KernelRegistry, defaultRegistry, quantizeModel, ...):
//   once the import has finished the export is the real one, and a stand-in taken before forwards to it; before,
//   using it throws a TinferError saying to `await ort.ready` first;
// - constants (VERSION), the default export, and `ready`: the promise of the ES module.
// This file is source, not compiled: src/cjs/facade.cjs is copied to dist/cjs/facade.cjs (and minified in the package).

/** The ES module that defines the mirrored classes (tinfer's main entry point), once imported. */
let core;

// ---------------------------------------------------------------------------------------------------------------
// Mirrors of the classes a program uses before the ES build is loaded

/**
 * `x instanceof Class` is also true for the ES build's objects of the class of the same name (an error the real
 * code throws, a Tensor a session returns), once that build is loaded. Only for the mirror itself: a user's
 * subclass of a mirror keeps the ordinary test.
 */
function recogniseRealInstances(Class) {
  Object.defineProperty(Class, Symbol.hasInstance, {
    value(x) {
      if (Function.prototype[Symbol.hasInstance].call(this, x)) return true;
      return this === Class && core !== undefined && typeof core[Class.name] === 'function' && x instanceof core[Class.name];
    },
  });
}

// The error classes of src/errors.ts and KernelFailure, with the same constructors.
class TinferError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}
class DecodeError extends TinferError {
  constructor(message, offset, field) {
    super(`${message} (at byte ${offset}, reading ${field})`);
    this.offset = offset;
    this.field = field;
  }
}
class LimitError extends TinferError {}
class GraphError extends TinferError {}
class UnsupportedError extends TinferError {}
class InputError extends TinferError {
  constructor(message, details = {}) {
    super(message);
    this.input = details.input;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}
class ModelFileError extends TinferError {
  constructor(message, path) {
    super(message);
    this.path = path;
  }
}
class OptionError extends TinferError {
  constructor(message, option, valid) {
    super(message);
    this.option = option;
    this.valid = valid;
  }
}
class SessionReleasedError extends TinferError {
  constructor(method) {
    super(`${method}(): the session was released`);
    this.method = method;
  }
}
class KernelFailure extends TinferError {}

const ERRORS = { TinferError, DecodeError, LimitError, GraphError, UnsupportedError, InputError, ModelFileError, OptionError, SessionReleasedError, KernelFailure };
for (const Class of Object.values(ERRORS)) recogniseRealInstances(Class);

// Tensor, as src/session/tensor.ts: the same constructor forms, checks, messages, fields and methods
// (test/cjs-facade.test.ts compares the two).
const TENSOR_TYPES = new Set(['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

/** The typed array each type's data is kept in. */
const ARRAY_OF_TYPE = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** `new Tensor(data, dims)`: the type a typed array stands for, in the order tensor.ts's inferType tests them. */
const TYPE_OF_ARRAY = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int8Array, 'int8'], [Uint8Array, 'uint8'], [Int16Array, 'int16'], [Uint16Array, 'uint16'],
  [Int32Array, 'int32'], [Uint32Array, 'uint32'], [BigInt64Array, 'int64'], [BigUint64Array, 'uint64'],
];

class Tensor {
  constructor(a, b, c) {
    // Own fields in tensor.ts's order, so both print alike.
    this.type = undefined;
    this.dims = undefined;
    this.size = undefined;
    this.cpuData = undefined;
    const explicit = typeof a === 'string';
    const data = explicit ? b : a;
    const dims = explicit ? c : b;
    const type = explicit ? a : inferType(data);
    if (!TENSOR_TYPES.has(type)) {
      throw new InputError(`Tensor: unsupported type '${type}'`, { expected: [...TENSOR_TYPES].join(', '), actual: String(type) });
    }
    this.type = type;
    const stored = toPublicData(type, data);
    if (dims !== undefined && !(Array.isArray(dims) || ArrayBuffer.isView(dims))) {
      throw new InputError(`Tensor: dims must be an array of integers, got ${typeof dims}`, { expected: 'number[]', actual: typeof dims });
    }
    this.dims = dims ? Array.from(dims) : [stored.length];
    for (const d of this.dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new InputError(`Tensor: invalid dims [${this.dims.join(',')}]`, { expected: 'non-negative integers', actual: `[${this.dims.join(',')}]` });
    }
    const size = this.dims.reduce((n, d) => n * d, 1);
    if (size !== stored.length) {
      throw new InputError(`Tensor: data has ${stored.length} elements but dims [${this.dims.join(',')}] need ${size}`, {
        expected: `${size} elements`,
        actual: `${stored.length} elements`,
      });
    }
    this.cpuData = stored;
    this.size = stored.length;
  }

  get data() {
    if (this.cpuData === undefined) throw new InputError('Tensor: the data was disposed', { expected: 'a live Tensor', actual: 'a disposed Tensor' });
    return this.cpuData;
  }

  get location() {
    return this.cpuData === undefined ? 'none' : 'cpu';
  }

  async getData(releaseData) {
    const data = this.data;
    if (releaseData) this.dispose();
    return data;
  }

  dispose() {
    this.cpuData = undefined;
  }

  reshape(dims) {
    return new Tensor(this.type, this.data, dims);
  }
}
recogniseRealInstances(Tensor);

function inferType(data) {
  for (const [Array_, type] of TYPE_OF_ARRAY) if (data instanceof Array_) return type;
  if (Array.isArray(data) && data.every((x) => typeof x === 'string')) return 'string';
  if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) return 'bool';
  if (Array.isArray(data) && data.every((x) => typeof x === 'number')) return 'float32';
  throw new InputError('Tensor: cannot infer the type of this data; pass the type explicitly', { expected: 'a typed array, number[], boolean[] or string[]', actual: describe(data) });
}

function toPublicData(type, data) {
  if (type === 'string') {
    if (Array.isArray(data) && data.every((x) => typeof x === 'string')) return data;
    throw new InputError('Tensor: string tensors need a string[]');
  }
  const Ctor = ARRAY_OF_TYPE[type];
  if (data instanceof Ctor) return data;
  if (!(Array.isArray(data) || ArrayBuffer.isView(data))) {
    throw new InputError(`Tensor: data for '${type}' must be an array or a ${Ctor.name}, got ${describe(data)}`, { expected: Ctor.name, actual: describe(data) });
  }
  const widening = (type === 'int64' || type === 'uint64') && (data instanceof Int32Array || data instanceof Uint32Array);
  if (ArrayBuffer.isView(data) && !widening) {
    throw new InputError(`Tensor: a ${type} tensor's data must be a ${Ctor.name} (or a plain array), got ${describe(data)}`, { expected: Ctor.name, actual: describe(data) });
  }
  const out = new Ctor(data.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (big) {
      if (typeof v === 'number' && !Number.isInteger(v)) throw new InputError(`Tensor: ${type} value ${v} at ${i} is not an integer`);
      out[i] = BigInt(v);
    } else out[i] = Number(v);
  }
  return out;
}

function describe(x) {
  if (x === null || x === undefined) return String(x);
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x;
}

// env, as src/env.ts: settings made before the ES build is loaded are kept here and handed to the real env when
// it is; from then on every read and write goes to the real one.
const LOG_LEVELS = ['verbose', 'info', 'warning', 'error', 'fatal'];
const earlyEnv = { logLevel: 'warning', debug: false, trace: false, versions: { tinfer: '' }, wasm: {}, webgl: {}, webgpu: {} };
/** The names set on env before the load (object-valued settings such as env.wasm are merged whether set or not). */
const earlyWrites = new Set();

const env = new Proxy(earlyEnv, {
  get: (early, key) => Reflect.get(core ? core.env : early, key),
  set(early, key, value) {
    if (core) return Reflect.set(core.env, key, value);
    if (key === 'logLevel' && !LOG_LEVELS.includes(value)) {
      throw new OptionError(`env.logLevel must be one of ${LOG_LEVELS.join(', ')}, got '${String(value)}'`, 'logLevel', LOG_LEVELS);
    }
    earlyWrites.add(key);
    return Reflect.set(early, key, value);
  },
  has: (early, key) => Reflect.has(core ? core.env : early, key),
});

const plainObject = (x) => x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;

function handEnvOver(real) {
  for (const [key, value] of Object.entries(earlyEnv)) {
    if (key === 'versions') continue;
    if (plainObject(value) && plainObject(real[key])) Object.assign(real[key], value);
    else if (earlyWrites.has(key)) real[key] = value;
  }
}

/** The error for a synchronous export used before the ES build is loaded. */
function notLoaded(entry, name) {
  return new TinferError(
    `${name} needs tinfer's ES module build, which require('${entry}') loads asynchronously on this Node (${process.version}, without require(esm)): ` +
      `\`await require('${entry}').ready\` first, or use \`await import('${entry}')\``,
  );
}

class InferenceSession {
  /** Not public in tinfer either (sessions come from create()): forwarded once loaded. */
  constructor(...args) {
    return Reflect.construct(realCore('new InferenceSession()').InferenceSession, args);
  }

  static async create(...args) {
    return (await coreReady).InferenceSession.create(...args);
  }

  static createSync(...args) {
    return realCore('InferenceSession.createSync()').InferenceSession.createSync(...args);
  }

  static fromModel(...args) {
    return realCore('InferenceSession.fromModel()').InferenceSession.fromModel(...args);
  }
}
recogniseRealInstances(InferenceSession);

/** The promise of tinfer's main ES module, set by the facade of 'tinfer'. */
let coreReady;

function realCore(name) {
  if (core === undefined) throw notLoaded('tinfer', name);
  return core;
}

/** What the facade of 'tinfer' gives in place of the ES build's export of the same name. */
const MIRRORS = { ...ERRORS, Tensor, env, InferenceSession };

// ---------------------------------------------------------------------------------------------------------------
// Stand-ins for the other exports

/**
 * A synchronous function, class or object of the ES build: calls, `new` and property reads go to the real export
 * once it is loaded, and throw `notLoaded` before (a function's own name and length, and symbols, aside).
 */
function standIn(entry, name, real) {
  const target = { [name]: function () {} }[name];
  const need = () => real() ?? (() => { throw notLoaded(entry, name); })();
  return new Proxy(target, {
    apply: (_, self, args) => Reflect.apply(need()[name], self, args),
    construct: (_, args) => Reflect.construct(need()[name], args),
    get(own, key) {
      if (real() === undefined) return typeof key === 'symbol' || key in own || key === 'then' ? Reflect.get(own, key) : need();
      const value = Reflect.get(real()[name], key);
      // A method of an object (defaultRegistry.register) runs on the object itself, not on this proxy.
      return typeof value === 'function' && typeof real()[name] !== 'function' ? value.bind(real()[name]) : value;
    },
    set: (_, key, value) => Reflect.set(need()[name], key, value),
  });
}

/** An async function of the ES build: awaits the load, then calls it. */
function asyncForwarder(name, ready) {
  return { [name]: async (...args) => (await ready)[name](...args) }[name];
}

/**
 * The exports of one entry point where require(esm) is unavailable. `load` imports its ES build (`() =>
 * import('../index.js')`, written in the entry point so that the path is relative to it); `spec` lists that
 * build's exports as scripts/build-package.mjs found them: `async` and `sync` names, `constants` with their values,
 * and `default`, the names the default export holds (each also a named export).
 */
function createFacade(entry, load, spec) {
  let real;
  const ready = load().then((m) => {
    real = m;
    if (m.Tensor !== undefined && m.env !== undefined) {
      core = m;
      handEnvOver(m.env);
    }
    return m;
  });
  // A failed import surfaces where `ready` (or create()) is awaited, not as an unhandled rejection at require().
  ready.catch(() => {});
  const loaded = () => real;
  const out = {};
  const define = (name, value) => Object.defineProperty(out, name, { value, enumerable: true });
  /** A getter that gives the real export once loaded, so that afterwards ort.decodeModel === the ES build's. */
  const forward = (name, before) => Object.defineProperty(out, name, { get: () => (real === undefined ? before : real[name]), enumerable: true });
  Object.defineProperty(out, '__esModule', { value: true });

  for (const [name, value] of Object.entries(spec.constants)) define(name, value);
  for (const name of spec.sync) {
    if (name in MIRRORS) define(name, MIRRORS[name]);
    else forward(name, standIn(entry, name, loaded));
  }
  for (const name of spec.async) forward(name, asyncForwarder(name, ready));
  if (spec.default) define('default', Object.fromEntries(spec.default.map((name) => [name, out[name]])));
  define('ready', ready);

  if (spec.sync.includes('Tensor')) {
    coreReady = ready;
    if (typeof spec.constants.VERSION === 'string') earlyEnv.versions.tinfer = spec.constants.VERSION;
  }
  return out;
}

module.exports = { createFacade };
