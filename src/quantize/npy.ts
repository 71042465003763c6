/**
 * A reader for NumPy .npy files (format versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", a version,
 * a header length (u16 for v1, u32 for v2/v3), and a Python-dict header giving descr, fortran_order and shape.
 * Only little-endian (or byte-sized) numeric types in C order are accepted; that covers what calibration
 * data is written as (np.save of float32/float64/int64/int32/uint8/bool arrays).
 */
import type { DType, TensorData } from '../dtype.js';
import { allocData, sizeOf } from '../dtype.js';
import { GraphError, UnsupportedError } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** descr (without the byte-order character) -> our dtype and its item size in bytes. */
const DESCR_TYPES: Readonly<Record<string, [DType, number]>> = {
  f4: ['float32', 4],
  f8: ['float64', 8],
  i8: ['int64', 8],
  u8: ['uint64', 8],
  i4: ['int32', 4],
  u4: ['uint32', 4],
  i2: ['int16', 2],
  u2: ['uint16', 2],
  i1: ['int8', 1],
  u1: ['uint8', 1],
  b1: ['bool', 1],
};

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new GraphError(`npy: header is not a dict with descr, fortran_order and shape: ${text.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(d) || d < 0) throw new GraphError(`npy: bad dimension '${s}' in shape (${shapeText})`);
      return d;
    });
  return { descr, fortranOrder: fortran === 'True', shape };
}

/** Decodes one .npy file into a tensor (copying the data, so the result does not alias `bytes`). */
export function decodeNpy(bytes: Uint8Array): TensorData {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new GraphError('npy: missing \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new GraphError('npy: truncated header length');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new UnsupportedError(`npy: format version ${major}.${bytes[7]} is not supported (1.0, 2.0, 3.0 are)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new GraphError(`npy: header of ${headerLen} bytes runs past the end of the file (${bytes.length} bytes)`);
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart)));
  if (header.fortranOrder) throw new UnsupportedError('npy: Fortran-order arrays are not supported; save with np.ascontiguousarray');
  const order = header.descr[0];
  const code = header.descr.slice(1);
  const entry = DESCR_TYPES[code];
  if (entry === undefined || (order !== '<' && order !== '|' && order !== '=')) {
    throw new UnsupportedError(`npy: dtype '${header.descr}' is not supported (little-endian f4/f8/i8/u8/i4/u4/i2/u2/i1/u1/b1)`);
  }
  const [dtype, itemSize] = entry;
  const n = sizeOf(header.shape);
  if (dataStart + n * itemSize > bytes.length) {
    throw new GraphError(`npy: shape (${header.shape.join(', ')}) needs ${n * itemSize} data bytes, file has ${bytes.length - dataStart}`);
  }
  const data = allocData(dtype, n);
  // DataView reads: the data may be unaligned (header lengths are padded to 64 in v1+, but not in every writer).
  for (let i = 0; i < n; i++) {
    const at = dataStart + i * itemSize;
    (data as unknown as { [k: number]: number | bigint })[i] = readElement(view, at, code);
  }
  return { dtype, shape: header.shape, data };
}

function readElement(view: DataView, at: number, code: string): number | bigint {
  switch (code) {
    case 'f4':
      return view.getFloat32(at, true);
    case 'f8':
      return view.getFloat64(at, true);
    case 'i8':
      return view.getBigInt64(at, true);
    case 'u8':
      return view.getBigUint64(at, true);
    case 'i4':
      return view.getInt32(at, true);
    case 'u4':
      return view.getUint32(at, true);
    case 'i2':
      return view.getInt16(at, true);
    case 'u2':
      return view.getUint16(at, true);
    case 'i1':
      return view.getInt8(at);
    case 'b1':
      return view.getUint8(at) !== 0 ? 1 : 0;
    default:
      return view.getUint8(at);
  }
}
