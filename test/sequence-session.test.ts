/**
 * Sequences and optionals through a whole session (InferenceSession.runValues): eager graphs, static plans that
 * pass sequences through, If/Loop/SequenceMap bodies, feed checks, and outputs that share nothing with later runs.
 */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InputError, UnsupportedError } from '../src/errors.js';
import type { ValueType } from '../src/loader/model.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

const f32 = (shape: number[], values: number[]): TensorData => tensor('float32', shape, values);
const seqType = (dtype: 'float32' | 'int64' = 'float32'): ValueType => ({ kind: 'sequence', elem: { kind: 'tensor', dtype, shape: null } });
const seq = (...elems: TensorData[]): TensorData => ({ dtype: 'sequence', shape: [elems.length], data: elems, elemType: 'float32' });
const elems = (t: TensorData): TensorData[] => t.data as TensorData[];
const values = (t: TensorData): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);

describe('sequences in a session', () => {
  it('SplitToSequence -> SequenceMap (x * 2 + b, b broadcast) -> ConcatFromSequence equals the elementwise result', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3, 2]);
    const bias = b.input('b', 'float32', [2]);
    const [parts] = b.node('SplitToSequence', [x], { axis: 0 });
    const body = b.subgraph('body');
    const row = body.input('row', 'float32', null);
    const bb = body.input('bb', 'float32', [2]);
    const two = body.initializer('two', f32([], [2]));
    const [scaled] = body.node('Mul', [row, two]);
    const [sum] = body.node('Add', [scaled!, bb]);
    body.output(sum!, { dtype: 'float32', shape: null });
    const [mapped] = b.node('SequenceMap', [parts!, bias], { body });
    const [joined] = b.node('ConcatFromSequence', [mapped!], { axis: 0 });
    b.output(joined!, { dtype: 'float32', shape: [3, 2] });
    const s = InferenceSession.fromModel(b.toModel());
    const out = s.runValues(new Map([['x', f32([3, 2], [1, 2, 3, 4, 5, 6])], ['b', f32([2], [10, 20])]]));
    const y = out.get(joined!)!;
    expect(y.shape).toEqual([3, 2]);
    expect(values(y)).toEqual([12, 24, 16, 28, 20, 32]);
  });

  it('SequenceMap over two sequences gives one sequence per body output, and empty inputs give empty outputs', () => {
    const b = new ModelBuilder({ opset: 17 });
    const a = b.inputOfType('a', seqType());
    const c = b.inputOfType('c', seqType());
    const body = b.subgraph('body');
    const p = body.input('p', 'float32', null);
    const q = body.input('q', 'float32', null);
    const [sum] = body.node('Add', [p, q]);
    const [shape] = body.node('Shape', [p]);
    body.output(sum!, { dtype: 'float32', shape: null });
    body.output(shape!, { dtype: 'int64', shape: [1] });
    const [sums, shapes] = b.node('SequenceMap', [a, c], { body }, { outputs: 2 });
    b.output(sums!, seqType());
    b.output(shapes!, seqType('int64'));
    const s = InferenceSession.fromModel(b.toModel());
    const out = s.runValues(
      new Map([
        ['a', seq(f32([2], [1, 2]), f32([3], [3, 4, 5]))],
        ['c', seq(f32([2], [10, 20]), f32([3], [30, 40, 50]))],
      ]),
    );
    expect(elems(out.get(sums!)!).map(values)).toEqual([
      [11, 22],
      [33, 44, 55],
    ]);
    expect(elems(out.get(shapes!)!).map(values)).toEqual([[2], [3]]);
    const empty = s.runValues(new Map([['a', seq()], ['c', seq()]]));
    expect(empty.get(shapes!)!.shape).toEqual([0]);
    expect(empty.get(shapes!)!.elemType).toBe('int64');
    expect(() => s.runValues(new Map([['a', seq(f32([1], [1]))], ['c', seq()]]))).toThrow(/has 0 values/);
  });

  it('passes a sequence input through Identity on a static plan; outputs share nothing with the feeds or later runs', () => {
    const b = new ModelBuilder({ opset: 16 });
    const x = b.inputOfType('x', seqType());
    const [y] = b.node('Identity', [x]);
    b.output(y!, seqType());
    const s = InferenceSession.fromModel(b.toModel(), { optimize: false });
    const fed = f32([2], [1, 2]);
    const first = s.runValues(new Map([['x', seq(fed)]])).get(y!)!;
    expect(s.planKind).toBe('static');
    expect(elems(first).map(values)).toEqual([[1, 2]]);
    expect(elems(first)[0]).not.toBe(fed);
    expect(elems(first)[0]!.data).not.toBe(fed.data);
    (elems(first)[0]!.data as Float32Array)[0] = 99;
    const second = s.runValues(new Map([['x', seq(f32([2], [3, 4]))]])).get(y!)!;
    expect(elems(second).map(values)).toEqual([[3, 4]]);
    expect(values(elems(first)[0]!)).toEqual([99, 2]);
    expect(values(fed)).toEqual([1, 2]);
  });

  it('If picks a branch that returns a sequence, with the condition known only at run time', () => {
    const b = new ModelBuilder({ opset: 13 });
    const cond = b.input('cond', 'bool', []);
    const branch = (v: number): ReturnType<typeof b.subgraph> => {
      const g = b.subgraph(`b${v}`);
      const c = g.initializer(`c${v}`, f32([2], [v, v + 1]));
      const [s] = g.node('SequenceConstruct', [c]);
      g.output(s!, seqType());
      return g;
    };
    const [res] = b.node('If', [cond], { then_branch: branch(1), else_branch: branch(5) });
    b.output(res!, seqType());
    const s = InferenceSession.fromModel(b.toModel());
    const run = (c: number): number[][] => elems(s.runValues(new Map([['cond', tensor('bool', [], [c])]])).get(res!)!).map(values);
    expect(run(1)).toEqual([[1, 2]]);
    expect(run(0)).toEqual([[5, 6]]);
    expect(run(1)).toEqual([[1, 2]]);
  });

  it('Loop carries a growing sequence (SequenceInsert of iter) and ConcatFromSequence joins it', () => {
    const b = new ModelBuilder({ opset: 13 });
    const trips = b.input('n', 'int64', []);
    const [empty] = b.node('SequenceEmpty', [], { dtype: 7 });
    const body = b.subgraph('body');
    const iter = body.input('iter', 'int64', []);
    const condIn = body.input('cond_in', 'bool', []);
    const acc = body.inputOfType('acc', seqType('int64'));
    const [condOut] = body.node('Identity', [condIn]);
    const axes = body.initializer('axes', tensor('int64', [1], [0]));
    const [iter1] = body.node('Unsqueeze', [iter, axes]);
    const [next] = body.node('SequenceInsert', [acc, iter1!]);
    body.output(condOut!, { dtype: 'bool', shape: [] });
    body.output(next!, seqType('int64'));
    const [final] = b.node('Loop', [trips, '', empty!], { body });
    const [joined] = b.node('ConcatFromSequence', [final!], { axis: 0 });
    const [len] = b.node('SequenceLength', [final!]);
    b.output(joined!, { dtype: 'int64', shape: null });
    b.output(len!, { dtype: 'int64', shape: [] });
    const s = InferenceSession.fromModel(b.toModel());
    const out = s.runValues(new Map([['n', tensor('int64', [], [4])]]));
    expect(values(out.get(joined!)!)).toEqual([0, 1, 2, 3]);
    expect(values(out.get(len!)!)).toEqual([4]);
  });
});

describe('optionals in a session', () => {
  it('an empty Optional of a declared type has no element; one built from a value does', () => {
    const b = new ModelBuilder({ opset: 15 });
    const x = b.input('x', 'float32', [2]);
    const type: ValueType = { kind: 'tensor', dtype: 'float32', shape: [2] };
    const [none] = b.node('Optional', [], { type: { attribute: { type: 'type_proto', value: type } } });
    const [some] = b.node('Optional', [x]);
    const [hasNone] = b.node('OptionalHasElement', [none!]);
    const [hasSome] = b.node('OptionalHasElement', [some!]);
    const [got] = b.node('OptionalGetElement', [some!]);
    b.output(none!, { kind: 'optional', elem: type });
    b.output(hasNone!, { dtype: 'bool', shape: [] });
    b.output(hasSome!, { dtype: 'bool', shape: [] });
    b.output(got!, { dtype: 'float32', shape: [2] });
    const s = InferenceSession.fromModel(b.toModel());
    const out = s.runValues(new Map([['x', f32([2], [7, 8])]]));
    expect(out.get(none!)!).toMatchObject({ dtype: 'optional', shape: [0], elemType: 'float32' });
    expect(values(out.get(hasNone!)!)).toEqual([0]);
    expect(values(out.get(hasSome!)!)).toEqual([1]);
    expect(values(out.get(got!)!)).toEqual([7, 8]);
  });
});

describe('feeds', () => {
  function identityModel(): InferenceSession {
    const b = new ModelBuilder({ opset: 16 });
    const x = b.inputOfType('x', { kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32', shape: [2] } });
    const [y] = b.node('Identity', [x]);
    b.output(y!, seqType());
    return InferenceSession.fromModel(b.toModel());
  }

  it('runValues checks a sequence feed: its kind, its length and its elements against the declared type', () => {
    const s = identityModel();
    expect(() => s.runValues(new Map([['x', f32([2], [1, 2])]]))).toThrow(InputError);
    expect(() => s.runValues(new Map([['x', { dtype: 'sequence', shape: [2], data: [f32([2], [1, 2])] }]]))).toThrow(InputError);
    expect(() => s.runValues(new Map([['x', seq(f32([3], [1, 2, 3]))]]))).toThrow(/dim 0 should be 2/);
    expect(() => s.runValues(new Map([['x', seq(tensor('int64', [2], [1, 2]))]]))).toThrow(/expected type float32/);
    expect(() => s.runValues(new Map())).toThrow(/missing input 'x'/);
  });

  it('run() with Tensors refuses a sequence input and points at runValues', () => {
    const s = identityModel();
    expect(() => s.runSync({ x: new Tensor('float32', new Float32Array(2), [2]) })).toThrow(UnsupportedError);
    expect(() => s.runSync({ x: new Tensor('float32', new Float32Array(2), [2]) })).toThrow(/runValues/);
  });

  it('run() refuses to return a sequence output as a Tensor and points at runValues', () => {
    const b = new ModelBuilder({ opset: 16 });
    const x = b.input('x', 'float32', [2]);
    const [y] = b.node('SequenceConstruct', [x]);
    b.output(y!, seqType());
    const s = InferenceSession.fromModel(b.toModel());
    expect(() => s.runSync({ x: new Tensor('float32', new Float32Array(2), [2]) })).toThrow(/is a sequence.*runValues/);
  });
});

describe('static plans', () => {
  it('a folded empty sequence keeps its element type on a static plan', () => {
    const b = new ModelBuilder({ opset: 16 });
    const x = b.input('x', 'float32', [2]);
    const [y] = b.node('Relu', [x]);
    const [e] = b.node('SequenceEmpty', [], { dtype: 6 });
    b.output(y!, { dtype: 'float32', shape: [2] });
    b.output(e!, seqType());
    const s = InferenceSession.fromModel(b.toModel());
    const out = s.runValues(new Map([['x', f32([2], [-1, 3])]]));
    expect(s.planKind).toBe('static');
    expect(values(out.get(y!)!)).toEqual([0, 3]);
    expect(out.get(e!)!).toMatchObject({ dtype: 'sequence', shape: [0], elemType: 'int32' });
  });
});
