/**
 * The Node edge: reading model files (and their external data) from disk. The core never imports this
 * statically, so browsers and other engines never load it.
 */
import { readFileSync, openSync, readSync, closeSync, fstatSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DecodeError, ModelFileError } from './errors.js';
import { fileURLToPath } from 'node:url';
import type { LoadOptions } from './loader/index.js';
import { decodePrebuiltModules, prebuiltModuleCount, registerPrebuiltModules } from './wasm/prebuilt.js';

/** Reads `path` (or a file: URL) and returns its bytes with a reader for external data files beside it. */
export async function readModelFile(source: string | URL): Promise<{ bytes: Uint8Array; externalData: NonNullable<LoadOptions['externalData']> }> {
  const path = toPath(source);
  let bytes: Uint8Array;
  try {
    bytes = asUint8Array(await readFile(path));
  } catch (e) {
    throw fileError(path, e);
  }
  return { bytes, externalData: externalDataReader(dirname(path)) };
}

export function readModelFileSync(source: string | URL): { bytes: Uint8Array; externalData: NonNullable<LoadOptions['externalData']> } {
  const path = toPath(source);
  let bytes: Uint8Array;
  try {
    bytes = asUint8Array(readFileSync(path));
  } catch (e) {
    throw fileError(path, e);
  }
  return { bytes, externalData: externalDataReader(dirname(path)) };
}

/**
 * The file's bytes as a plain Uint8Array over the Buffer's own memory: `new Uint8Array(buffer)` would copy them
 * (resnet18: 47 MB more at the load's peak, and a copy's time).
 */
function asUint8Array(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function toPath(source: string | URL): string {
  if (typeof source !== 'string' && !(source instanceof URL)) throw new ModelFileError(`a model path must be a string or URL, got ${typeof source}`, String(source));
  try {
    return source instanceof URL || source.startsWith('file:') ? fileURLToPath(source) : source;
  } catch (e) {
    throw new ModelFileError(`cannot read model '${String(source)}': ${(e as Error).message}`, String(source));
  }
}

/** ENOENT/EISDIR/EACCES as one readable line naming the path. */
function fileError(path: string, e: unknown): ModelFileError {
  const code = (e as { code?: string }).code;
  const why =
    code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory, not a model file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return new ModelFileError(`cannot read model '${path}': ${why}`, path);
}

/** Reads [offset, offset+length) of `location` relative to `baseDir` (the loader has already refused '..' and absolute paths). */
export function externalDataReader(baseDir: string): NonNullable<LoadOptions['externalData']> {
  return (location, offset, length) => {
    const file = join(baseDir, location);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new ModelFileError(`cannot open external data '${location}': ${(e as Error).message}`, file);
    }
    try {
      const size = fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset < 0 || n < 0 || offset + n > size) {
        throw new DecodeError(`external data '${location}': range ${offset}+${n} is outside the file (${size} bytes)`, offset, 'external data');
      }
      const out = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const got = readSync(fd, out, done, n - done, offset + done);
        if (got <= 0) break;
        done += got;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  };
}

/** The file scripts/prebuild-wasm.mjs writes beside the build's wasm runtime. */
const PREBUILT_FILE = './wasm/modules.bin';

let prebuiltRead = false;

/**
 * Registers the wasm modules pre-built at build time (see src/wasm/prebuilt.ts), once per process; returns how many
 * are registered. A file older than this module is left alone: a development build compiled again (tsc) after the
 * file was made may have changed an emitter (a full compile rewrites every output; an npm install gives every
 * file one time). Without the file, or with a damaged one, modules are generated as before.
 */
export function registerPrebuiltWasmModules(): number {
  if (prebuiltRead) return prebuiltModuleCount();
  prebuiltRead = true;
  try {
    const file = fileURLToPath(new URL(PREBUILT_FILE, import.meta.url));
    if (statSync(file).mtimeMs < statSync(fileURLToPath(import.meta.url)).mtimeMs) return 0;
    const modules = decodePrebuiltModules(asUint8Array(readFileSync(file)));
    if (modules !== undefined) registerPrebuiltModules(modules);
  } catch {
    // No file (a source checkout run through a TypeScript loader, a bundler's copy): generate.
  }
  return prebuiltModuleCount();
}
