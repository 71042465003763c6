// Runs transformers.js pipelines on whatever `onnxruntime-node` resolves to from the current directory, and prints
// one JSON line per case (prefixed TJS_RESULT) with the outputs or the error. Run by harness.mjs inside a temp
// tree (node --preserve-symlinks), never directly. Input: the TJS_JOB environment variable, a JSON object
// { modelsDir, cases: [{ task, model, dtype }], texts, sessionOptions? }.
const job = JSON.parse(process.env.TJS_JOB);
const emit = (o) => process.stdout.write(`TJS_RESULT ${JSON.stringify(o)}\n`);
const describeError = (e) => ({
  name: e?.name,
  code: e?.code,
  message: String(e?.message ?? e),
  stack: String(e?.stack ?? '').split('\n').slice(0, 8).join('\n'),
});

let transformers;
try {
  transformers = await import('@huggingface/transformers');
} catch (e) {
  emit({ stage: 'import', error: describeError(e) });
  process.exit(0);
}
const { pipeline, env } = transformers;
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = job.modelsDir;
env.useFSCache = false;
emit({ stage: 'import', ok: true, onnx: Object.keys(env.backends?.onnx ?? {}).sort() });

for (const c of job.cases) {
  const t0 = performance.now();
  let pipe;
  try {
    const options = { local_files_only: true, dtype: c.dtype, device: 'cpu' };
    if (job.sessionOptions) options.session_options = job.sessionOptions;
    pipe = await pipeline(c.task, c.model, options);
  } catch (e) {
    emit({ ...c, stage: 'load', error: describeError(e) });
    continue;
  }
  const loadMs = performance.now() - t0;
  try {
    const out = {};
    if (c.task === 'feature-extraction') {
      const raw = await pipe(job.texts);
      out.raw = { dims: raw.dims, type: raw.type, data: Array.from(raw.data) };
      const mean = await pipe(job.texts, { pooling: 'mean', normalize: true });
      out.mean = { dims: mean.dims, type: mean.type, data: Array.from(mean.data) };
    } else if (c.task === 'text-generation') {
      // Greedy, one text at a time (no padding side to agree on): the texts must match token for token.
      out.text = [];
      for (const t of job.texts) {
        const [r] = await pipe(t, { max_new_tokens: 8, do_sample: false });
        out.text.push(r.generated_text);
      }
    } else {
      const res = await pipe(job.texts, { top_k: null });
      // Scores by label, in the fixed id2label order, one row per text.
      const labels = Object.values(pipe.model.config.id2label);
      out.scores = {
        dims: [res.length, labels.length],
        data: res.flatMap((r) => labels.map((l) => r.find((x) => x.label === l).score)),
        top: res.map((r) => r[0].label),
      };
    }
    emit({ ...c, stage: 'run', ok: true, loadMs, runMs: performance.now() - t0 - loadMs, out });
  } catch (e) {
    emit({ ...c, stage: 'run', error: describeError(e) });
  }
  await pipe.dispose?.().catch(() => {});
}
emit({ stage: 'calls', calls: globalThis.__tjsCalls ?? null });
