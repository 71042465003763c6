/**
 * Integer Div / Mod with negative operands, the pattern PyTorch exports for `n // k` and `n % k` on int tensors
 * (Div, then Mod fmod=0). ONNX integer Div truncates toward zero (as C and onnxruntime do); Mod fmod=0 takes the
 * divisor's sign (Python's %), fmod=1 the dividend's (C's fmod). Checked on both backends against naive references.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';

const A = [-9, -7, -6, -5, -3, -1, 0, 1, 2, 5, 7, 9, 11, -11];
const B = [4, -4, 3, -3, 3, 2, 5, -5, 3, -2, 2, 4, -3, 4];

// `|| 0`: integers have no -0.
const truncDiv = (a: number, b: number): number => Math.trunc(a / b) || 0;
const pythonMod = (a: number, b: number): number => a - Math.floor(a / b) * b || 0;
const cFmod = (a: number, b: number): number => a - Math.trunc(a / b) * b || 0;

function model(dtype: 'int32' | 'int64'): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('a', dtype, [A.length]);
  const y = b.input('b', dtype, [B.length]);
  b.node('Div', [x, y], {}, { outputs: ['div'] });
  b.node('Mod', [x, y], { fmod: 0 }, { outputs: ['mod'] });
  b.node('Mod', [x, y], { fmod: 1 }, { outputs: ['fmod'] });
  for (const o of ['div', 'mod', 'fmod']) b.output(o);
  return b.toBytes();
}

function feed(dtype: 'int32' | 'int64', v: number[]): Tensor {
  return dtype === 'int32' ? new Tensor('int32', Int32Array.from(v), [v.length]) : new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);
}

describe.each(['wasm', 'js'] as const)('integer Div / Mod with negative operands (%s)', (backend) => {
  it.each(['int32', 'int64'] as const)('%s: Div truncates, Mod fmod=0 follows the divisor, fmod=1 the dividend', (dtype) => {
    const s = InferenceSession.createSync(model(dtype), { backend });
    const out = s.runSync({ a: feed(dtype, A), b: feed(dtype, B) });
    const values = (name: string): number[] => Array.from(out[name]!.data as ArrayLike<number | bigint>, Number);
    expect(values('div')).toEqual(A.map((a, i) => truncDiv(a, B[i]!)));
    expect(values('mod')).toEqual(A.map((a, i) => pythonMod(a, B[i]!)));
    expect(values('fmod')).toEqual(A.map((a, i) => cFmod(a, B[i]!)));
  });

  it('float Mod fmod=1 keeps the dividend sign (what torch.fmod exports)', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('a', 'float32', [A.length]);
    const y = b.input('b', 'float32', [B.length]);
    b.node('Mod', [x, y], { fmod: 1 }, { outputs: ['fmod'] });
    b.output('fmod');
    const s = InferenceSession.createSync(b.toBytes(), { backend });
    const a = Float32Array.from(A, (v) => v * 0.75);
    const d = Float32Array.from(B, (v) => v * 0.5);
    const got = s.runSync({ a: new Tensor('float32', a, [A.length]), b: new Tensor('float32', d, [B.length]) })['fmod']!.data as Float32Array;
    Array.from(a).forEach((v, i) => expect(got[i]).toBeCloseTo(cFmod(v, d[i]!), 6));
  });
});
