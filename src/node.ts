/**
 * The Node edge: reading model files (and their external data) from disk. The core never imports this
 * statically, so browsers and other engines never load it.
 */
import { readFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TinferError } from './errors.js';
import type { LoadOptions } from './loader/index.js';

/** Reads `path` and returns its bytes with a reader for external data files beside it. */
export async function readModelFile(path: string): Promise<{ bytes: Uint8Array; externalData: NonNullable<LoadOptions['externalData']> }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new TinferError(`cannot read model '${path}': ${(e as Error).message}`);
  }
  return { bytes, externalData: externalDataReader(dirname(path)) };
}

export function readModelFileSync(path: string): { bytes: Uint8Array; externalData: NonNullable<LoadOptions['externalData']> } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new TinferError(`cannot read model '${path}': ${(e as Error).message}`);
  }
  return { bytes, externalData: externalDataReader(dirname(path)) };
}

/** Reads [offset, offset+length) of `location` relative to `baseDir` (the loader has already refused '..' and absolute paths). */
export function externalDataReader(baseDir: string): NonNullable<LoadOptions['externalData']> {
  return (location, offset, length) => {
    const file = join(baseDir, location);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new TinferError(`cannot open external data '${location}': ${(e as Error).message}`);
    }
    try {
      const size = fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset < 0 || n < 0 || offset + n > size) {
        throw new TinferError(`external data '${location}': range ${offset}+${n} is outside the file (${size} bytes)`);
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
