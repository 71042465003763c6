/**
 * Module bytes made at build time (scripts/prebuild-wasm.mjs writes them to dist/wasm/modules.bin), so that a fresh
 * process compiles the common modules instead of generating them: generating runs the emitters in cold JS, 20–40 ms
 * the first time in a process for the modules a CNN uses, ~2 ms once warm. The Node edge (src/node.ts) reads the
 * file and registers its modules here before a session's backend starts; without it (browsers, a development build
 * whose file is older than its JavaScript) every module is generated as before. Bytes are looked up by the same key
 * the compiled-module cache uses, so a registered module is exactly the one the emitter would make for that key
 * (test/prebuilt-modules.test.ts checks the file against the emitters).
 */

/** The registered modules, by key: process-wide and only ever added to, like the compiled-module cache. */
const registered = new Map<string, Uint8Array<ArrayBuffer>>();

/** The suffix of the keys of modules that import a shared memory (threads). */
const SHARED_SUFFIX = ':shared';

/** A module key, marked as the shared-memory twin's when `shared` (the compiled-module cache's keys use this too). */
export function moduleKey(key: string, shared: boolean): string {
  return shared ? key + SHARED_SUFFIX : key;
}

/**
 * The bytes registered for `key`, or undefined (then the caller generates them). A module on a shared memory
 * (threads) is its registered unshared twin with the memory import made shared (withSharedMemory).
 */
export function prebuiltModule(key: string): Uint8Array<ArrayBuffer> | undefined {
  const have = registered.get(key);
  if (have !== undefined || !key.endsWith(SHARED_SUFFIX)) return have;
  const unshared = registered.get(key.slice(0, -SHARED_SUFFIX.length));
  const shared = unshared === undefined ? undefined : withSharedMemory(unshared);
  if (shared !== undefined) registered.set(key, shared);
  return shared;
}

/**
 * A module's bytes with its memory import made shared: the emitter (ModuleBuilder.encode) writes one import,
 * env.memory, whose limits flags are 0x01 (a maximum) or 0x03 (a maximum, shared: the threads proposal), and nothing
 * else differs. Undefined for bytes not laid out so.
 */
export function withSharedMemory(bytes: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  let at = 8; // magic and version
  while (at < bytes.length) {
    const [size, sizeLength] = readUleb(bytes, at + 1);
    const body = at + 1 + sizeLength;
    if (bytes[at] === 2) {
      const [count, countLength] = readUleb(bytes, body);
      if (count !== 1) return undefined;
      let p = body + countLength;
      for (const name of ['env', 'memory']) {
        const [length, lengthLength] = readUleb(bytes, p);
        if (asciiKey(bytes, p + lengthLength, length) !== name) return undefined;
        p += lengthLength + length;
      }
      if (bytes[p] !== 0x02 || bytes[p + 1] !== 0x01) return undefined;
      // A copy (new Uint8Array(view) always copies; a Node Buffer's slice() would not).
      const out = new Uint8Array(bytes);
      out[p + 1] = 0x03;
      return out;
    }
    at = body + size;
  }
  return undefined;
}

/** An unsigned LEB128 at `at`: [value, bytes read]. */
function readUleb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let n = 0;
  for (;;) {
    const b = bytes[at + n] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    n++;
    if ((b & 0x80) === 0 || n > 5) return [value, n];
    shift += 7;
  }
}

/** Registers modules by key; a key already registered keeps its first bytes. */
export function registerPrebuiltModules(modules: Iterable<readonly [string, Uint8Array<ArrayBuffer>]>): void {
  for (const [key, bytes] of modules) if (!registered.has(key)) registered.set(key, bytes);
}

/** How many modules are registered (the Node edge reports it; tests read it). */
export function prebuiltModuleCount(): number {
  return registered.size;
}

/*
 * The file: "TWSM" (4 bytes), a little-endian u32 count, then per module a u16 key length, the key (UTF-8), a u32
 * blob index; then a u32 blob count and per blob a u32 length and its bytes. Keys that make identical bytes (a
 * family is the same with and without relaxed SIMD unless it uses relaxed instructions) share one blob.
 */
const MAGIC = 0x4d535754; // "TWSM" read as a little-endian u32

/** The file's contents from modules by key (identical bytes stored once). */
export function encodePrebuiltModules(modules: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const blobs: Uint8Array[] = [];
  const indexOf = new Map<string, number>();
  const entries: [Uint8Array, number][] = [];
  for (const [key, bytes] of modules) {
    if (!/^[\x20-\x7e]*$/.test(key)) throw new RangeError(`prebuilt modules: key '${key}' is not printable ASCII`);
    const id = blobKey(bytes);
    let index = indexOf.get(id);
    if (index === undefined) {
      index = blobs.length;
      blobs.push(bytes);
      indexOf.set(id, index);
    }
    entries.push([Uint8Array.from(key, (c) => c.charCodeAt(0)), index]);
  }
  let size = 8 + 4;
  for (const [key] of entries) size += 2 + key.length + 4;
  for (const b of blobs) size += 4 + b.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint32(at, MAGIC, true);
  view.setUint32(at + 4, entries.length, true);
  at += 8;
  for (const [key, index] of entries) {
    view.setUint16(at, key.length, true);
    out.set(key, at + 2);
    view.setUint32(at + 2 + key.length, index, true);
    at += 2 + key.length + 4;
  }
  view.setUint32(at, blobs.length, true);
  at += 4;
  for (const b of blobs) {
    view.setUint32(at, b.length, true);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** The modules of a file made by encodePrebuiltModules; undefined when it is not one (or is cut short). */
export function decodePrebuiltModules(file: Uint8Array): Map<string, Uint8Array<ArrayBuffer>> | undefined {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const fits = (at: number, n: number) => at + n <= file.byteLength;
  if (!fits(0, 8) || view.getUint32(0, true) !== MAGIC) return undefined;
  const count = view.getUint32(4, true);
  const keys: [string, number][] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (!fits(at, 2)) return undefined;
    const length = view.getUint16(at, true);
    if (!fits(at + 2, length + 4)) return undefined;
    keys.push([asciiKey(file, at + 2, length), view.getUint32(at + 2 + length, true)]);
    at += 2 + length + 4;
  }
  if (!fits(at, 4)) return undefined;
  const blobCount = view.getUint32(at, true);
  at += 4;
  const blobs: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < blobCount; i++) {
    if (!fits(at, 4)) return undefined;
    const length = view.getUint32(at, true);
    if (!fits(at + 4, length)) return undefined;
    // Views of the file (a few hundred KB, kept while the modules are registered): no copies at a process's start.
    blobs.push(file.subarray(at + 4, at + 4 + length) as Uint8Array<ArrayBuffer>);
    at += 4 + length;
  }
  const modules = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [key, index] of keys) {
    const blob = blobs[index];
    if (blob === undefined) return undefined;
    modules.set(key, blob);
  }
  return modules;
}

/** A key's text: keys are ASCII (the compiled-module cache's keys), read without a TextDecoder at start-up. */
function asciiKey(file: Uint8Array, start: number, length: number): string {
  let key = '';
  for (let i = 0; i < length; i++) key += String.fromCharCode(file[start + i]!);
  return key;
}

/** A string that is equal for equal byte arrays (for de-duplicating blobs at build time). */
function blobKey(bytes: Uint8Array): string {
  let s = `${bytes.length}:`;
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}
