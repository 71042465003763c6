import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { WasmContext } from '../src/wasm/context.js';
import { poolModule } from '../src/wasm/pool-kernels.js';
import { expectClose, randomTensor, runKernel, tensor } from './harness.js';
import { runKernelInWasm } from './wasm-harness.js';
import { ModelBuilder } from './onnx-builder.js';
import { InferenceSession, Tensor } from '../src/index.js';

// MaxPool on the wasm backend (interior on WebAssembly SIMD, border in JS) against a naive 2-D max pool,
// exactly (max is exact), and against the JS backend bit for bit, including NaN and ±0.

const wasmCtx = WasmContext.create();
const SKIP = 'WebAssembly SIMD is not available in this engine: wasm MaxPool cases skipped';
if (wasmCtx === undefined) console.warn(SKIP);

interface Pool {
  k: [number, number];
  s: [number, number];
  pads?: [number, number, number, number];
  ceil?: boolean;
}

/** [OH, OW] by ONNX's pooling size rule; with ceil_mode a window starting in the end padding is dropped. */
function outputSize(H: number, W: number, o: Pool): [number, number] {
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const size = (n: number, k: number, s: number, p: number) => (o.ceil ? Math.ceil : Math.floor)((n + p - k) / s) + 1;
  let OH = size(H, o.k[0], o.s[0], pt + pb);
  let OW = size(W, o.k[1], o.s[1], pl + pr);
  if (o.ceil && (OH - 1) * o.s[0] >= H + pt) OH--;
  if (o.ceil && (OW - 1) * o.s[1] >= W + pl) OW--;
  return [OH, OW];
}

/** Max over the taps inside X of each window; −Infinity for a window with none. X [N, C, H, W]. */
function naiveMaxPool(x: TensorData, o: Pool): TensorData {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [pt, pl] = o.pads ?? [0, 0, 0, 0];
  const [OH, OW] = outputSize(H, W, o);
  const out: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let m = -Infinity;
        for (let kh = 0; kh < o.k[0]; kh++) {
          for (let kw = 0; kw < o.k[1]; kw++) {
            const ih = oh * o.s[0] - pt + kh;
            const iw = ow * o.s[1] - pl + kw;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) m = Math.max(m, Number(x.data[(p * H + ih) * W + iw]));
          }
        }
        out.push(m);
      }
    }
  }
  return tensor('float32', [N, C, OH, OW], out);
}

const attrsOf = (o: Pool) => ({ kernel_shape: o.k, strides: o.s, pads: o.pads ?? [0, 0, 0, 0], ceil_mode: o.ceil ? 1 : 0 });

describe.skipIf(wasmCtx === undefined)('MaxPool on wasm SIMD', () => {
  const CASES: [Pool, number[]][] = [
    [{ k: [3, 3], s: [2, 2], ceil: true }, [1, 3, 111, 111]], // squeezenet
    [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 112, 112]], // resnet / shufflenet stem
    [{ k: [2, 2], s: [2, 2] }, [2, 3, 9, 13]],
    [{ k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] }, [1, 4, 7, 11]],
    [{ k: [5, 5], s: [1, 1], pads: [2, 2, 2, 2] }, [1, 2, 13, 17]], // YOLO SPPF
    [{ k: [3, 2], s: [2, 2], pads: [0, 1, 2, 0], ceil: true }, [1, 2, 10, 21]],
    [{ k: [3, 3], s: [2, 2] }, [1, 1, 3, 3]], // a single full window
    [{ k: [7, 7], s: [2, 2], pads: [3, 3, 3, 3] }, [1, 2, 20, 27]],
    [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 2, 2]], // no interior at all
  ];
  CASES.forEach(([o, shape], i) => {
    it(`${JSON.stringify(o)} on [${shape}] equals the naive pool`, () => {
      const x = randomTensor(shape, 40 + i);
      const got = runKernelInWasm(wasmCtx!, 'MaxPool', [x], attrsOf(o))[0]!;
      expectClose(got, naiveMaxPool(x, o), 0, 0);
    });
  });

  it('matches the JS backend bit for bit on NaN, ±0 and infinities', () => {
    const vals = [NaN, 0, -0, Infinity, -Infinity, 1, -1, 2.5];
    const x = randomTensor([1, 2, 19, 23], 7);
    for (let i = 0; i < x.data.length; i += 3) (x.data as Float32Array)[i] = vals[(i / 3) % vals.length]!;
    for (const o of [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] }, { k: [3, 3], s: [1, 1] }] as Pool[]) {
      const js = runKernel('MaxPool', [x], attrsOf(o))[0]!.data as Float32Array;
      const wasm = runKernelInWasm(wasmCtx!, 'MaxPool', [x], attrsOf(o))[0]!.data as Float32Array;
      expect(Array.from(wasm, (v) => Object.is(v, -0) ? '-0' : String(v))).toEqual(Array.from(js, (v) => Object.is(v, -0) ? '-0' : String(v)));
    }
  });

  it('really runs the interior on wasm (the generated kernel is called)', () => {
    const spec = poolModule('max', 3, 3, 2);
    let calls = 0;
    // A context whose cached 3×3 s2 kernel counts its calls (use() caches per key).
    const w = WasmContext.create()!;
    w.use({ ...spec, bind: (e) => { const real = spec.bind(e); return (...a: Parameters<typeof real>) => { calls++; real(...a); }; } });
    const x = randomTensor([1, 2, 15, 15], 3);
    const o: Pool = { k: [3, 3], s: [2, 2] };
    expectClose(runKernelInWasm(w, 'MaxPool', [x], attrsOf(o))[0]!, naiveMaxPool(x, o), 0, 0);
    expect(calls).toBe(1);
  });
});

describe.skipIf(wasmCtx === undefined)('GlobalAveragePool on wasm SIMD and its JS loop', () => {
  /** Per-plane mean in float64. */
  function naiveMean(x: TensorData): TensorData {
    const [N, C] = x.shape as [number, number];
    const size = x.data.length / (N * C);
    const out: number[] = [];
    for (let p = 0; p < N * C; p++) {
      let s = 0;
      for (let i = 0; i < size; i++) s += Number(x.data[p * size + i]);
      out.push(s / size);
    }
    return tensor('float32', [N, C, ...x.shape.slice(2).map(() => 1)], out);
  }
  // Plane sizes around the 16-float vector step and the 4-float step: 1, 3, 7×7 = 49, 13×13 = 169, 15 + 16.
  for (const shape of [[1, 3, 1, 1], [2, 5, 3], [1, 7, 7, 7], [1, 4, 13, 13], [1, 2, 31], [1, 1, 2, 2, 8]]) {
    it(`[${shape}] on both backends equals the float64 mean (rtol 1e-5)`, () => {
      const x = randomTensor(shape, shape.length * 11 + shape[1]!, -2, 3);
      expectClose(runKernelInWasm(wasmCtx!, 'GlobalAveragePool', [x], {})[0]!, naiveMean(x), 1e-5, 1e-6);
      expectClose(runKernel('GlobalAveragePool', [x], {})[0]!, naiveMean(x), 1e-5, 1e-6);
    });
  }
});

describe.skipIf(wasmCtx === undefined)('AveragePool on wasm SIMD', () => {
  /** Mean over the taps inside X, or over the taps inside the padded input (count_include_pad). */
  function naiveAveragePool(x: TensorData, o: Pool, includePad: boolean): TensorData {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
    const [OH, OW] = outputSize(H, W, o);
    const out: number[] = [];
    for (let p = 0; p < N * C; p++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = 0, n = 0, padded = 0;
          for (let kh = 0; kh < o.k[0]; kh++) {
            for (let kw = 0; kw < o.k[1]; kw++) {
              const ih = oh * o.s[0] - pt + kh;
              const iw = ow * o.s[1] - pl + kw;
              if (ih < H + pb && iw < W + pr) padded++;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) { s += Number(x.data[(p * H + ih) * W + iw]); n++; }
            }
          }
          out.push(s / (includePad ? padded : n));
        }
      }
    }
    return tensor('float32', [N, C, OH, OW], out);
  }

  const CASES: [Pool, number[]][] = [
    [{ k: [2, 2], s: [2, 2] }, [1, 4, 28, 28]], // DenseNet transition
    [{ k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] }, [1, 3, 17, 17]], // Inception branch
    [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1], ceil: true }, [2, 2, 15, 20]],
    [{ k: [5, 5], s: [1, 1], pads: [2, 2, 2, 2] }, [1, 2, 9, 13]],
  ];
  CASES.forEach(([o, shape], i) => {
    for (const includePad of [false, true]) {
      it(`${JSON.stringify(o)} on [${shape}], count_include_pad ${includePad ? 1 : 0}, equals the naive mean (rtol 1e-5)`, () => {
        const x = randomTensor(shape, 60 + i, -2, 3);
        const got = runKernelInWasm(wasmCtx!, 'AveragePool', [x], { ...attrsOf(o), count_include_pad: includePad ? 1 : 0 })[0]!;
        expectClose(got, naiveAveragePool(x, o, includePad), 1e-5, 1e-6);
      });
    }
  });
});

describe('MaxPool on 8-bit planes (QDQ models pool their uint8/int8 tensors)', () => {
  for (const dtype of ['uint8', 'int8'] as const) {
    for (const [o, shape] of [[{ k: [3, 3], s: [2, 2], ceil: true }, [1, 3, 13, 13]], [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 12, 15]], [{ k: [2, 2], s: [2, 2] }, [2, 2, 6, 7]]] as [Pool, number[]][]) {
      it(`${dtype} ${JSON.stringify(o)} on [${shape}] equals the naive pool on both backends`, () => {
        const f = randomTensor(shape, 77, dtype === 'uint8' ? 0 : -128, dtype === 'uint8' ? 255 : 127);
        const data = dtype === 'uint8' ? Uint8Array.from(f.data as Float32Array, Math.round) : Int8Array.from(f.data as Float32Array, Math.round);
        const x: TensorData = { dtype, shape, data };
        const want = naiveMaxPool({ dtype: 'float32', shape, data: Float32Array.from(data) }, o);
        const js = runKernel('MaxPool', [x], attrsOf(o))[0]!;
        expect(js.dtype).toBe(dtype);
        expect(Array.from(js.data as ArrayLike<number>)).toEqual(Array.from(want.data as Float32Array));
        // In a session on the wasm backend the 8-bit plane lives in wasm memory: the float kernel must not take it.
        const b = new ModelBuilder({ opset: 13 });
        const xin = b.input('x', dtype, shape);
        const zero = b.initializer('zero', { dtype, shape: [], data: dtype === 'uint8' ? new Uint8Array(1) : new Int8Array(1) });
        const [sum] = b.node('Add', [xin, zero]);
        b.output(b.node('MaxPool', [sum!], attrsOf(o))[0]!);
        const session = InferenceSession.createSync(b.toBytes(), { backend: 'auto' });
        const y = session.runSync({ x: new Tensor(dtype, data, shape) })[session.outputNames[0]!]!;
        expect(Array.from(y.data as ArrayLike<number>)).toEqual(Array.from(want.data as Float32Array));
      });
    }
  }
});

describe.skipIf(wasmCtx === undefined)('MaxPool on 8-bit planes on wasm SIMD (16 outputs per step)', () => {
  for (const dtype of ['uint8', 'int8'] as const) {
    const CASES: [Pool, number[]][] = [
      [{ k: [3, 3], s: [2, 2], ceil: true }, [1, 2, 9, 75]], // squeezenet-like, 37 outputs per row
      [{ k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 8, 66]],
      [{ k: [2, 2], s: [2, 2] }, [1, 3, 6, 70]],
      [{ k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] }, [1, 2, 5, 40]],
    ];
    CASES.forEach(([o, shape], ci) => {
      it(`${dtype} ${JSON.stringify(o)} on [${shape}] equals the naive pool, and the byte kernel ran`, () => {
        const lo = dtype === 'uint8' ? 0 : -128;
        const f = randomTensor(shape, 90 + ci, lo, lo + 255);
        const data = dtype === 'uint8' ? Uint8Array.from(f.data as Float32Array, Math.round) : Int8Array.from(f.data as Float32Array, Math.round);
        const x: TensorData = { dtype, shape, data };
        const want = naiveMaxPool({ dtype: 'float32', shape, data: Float32Array.from(data) }, o);
        const spec = poolModule('max', o.k[0], o.k[1], o.s[0] as 1 | 2, dtype === 'uint8' ? 'u8' : 's8');
        let calls = 0;
        const w = WasmContext.create()!;
        w.use({ ...spec, bind: (e) => { const real = spec.bind(e); return (...a: Parameters<typeof real>) => { calls++; real(...a); }; } });
        const got = runKernelInWasm(w, 'MaxPool', [x], attrsOf(o))[0]!;
        expect(got.dtype).toBe(dtype);
        expect(Array.from(got.data as ArrayLike<number>)).toEqual(Array.from(want.data as Float32Array));
        expect(calls).toBe(1);
      });
    });
  }
});
