// transformers.js pipelines on tinfer: run this from an app whose package.json overrides onnxruntime-node with
// tinfer (see README.md and package.json here). Nothing in this file is tinfer-specific: transformers.js loads
// `onnxruntime-node`, and the override makes that tinfer.
//
//   node pipeline.mjs [--task feature-extraction|text-classification] [--model ID_OR_DIR] [--dtype fp32|q8|fp16]
//                     [--local DIR] [text ...]
//
// --model is a Hugging Face model id (downloaded once into transformers.js' cache) or, with --local DIR, a folder
// name under DIR in Hugging Face layout (config.json, tokenizer.json, onnx/model*.onnx) with no network at all.
import { pipeline, env } from '@huggingface/transformers';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args.splice(i, 2)[1];
};
const task = opt('--task', 'feature-extraction');
const dtype = opt('--dtype', 'q8');
const local = opt('--local');
const model = opt('--model', task === 'feature-extraction' ? 'Xenova/all-MiniLM-L6-v2' : 'Xenova/distilbert-base-uncased-finetuned-sst-2-english');
const texts = args.length ? args : ['The movie was great!', 'I loved this film.', 'The food was awful.'];

if (local) {
  env.allowRemoteModels = false;
  env.localModelPath = local.endsWith('/') ? local : `${local}/`;
}

const t0 = performance.now();
const pipe = await pipeline(task, model, { dtype, device: 'cpu', ...(local ? { local_files_only: true } : {}) });
const t1 = performance.now();
console.log(`${task} ${model} (${dtype}) loaded in ${(t1 - t0).toFixed(0)} ms`);

if (task === 'feature-extraction') {
  const emb = await pipe(texts, { pooling: 'mean', normalize: true });
  const [n, d] = emb.dims;
  const v = (i) => emb.data.subarray(i * d, (i + 1) * d);
  console.log(`${n} embeddings of ${d} dims in ${(performance.now() - t1).toFixed(0)} ms; cosine similarities:`);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += v(i)[k] * v(j)[k];
      console.log(`  ${dot.toFixed(3)}  "${texts[i]}" ~ "${texts[j]}"`);
    }
  }
} else {
  const out = await pipe(texts, { top_k: 1 });
  console.log(`classified in ${(performance.now() - t1).toFixed(0)} ms:`);
  texts.forEach((t, i) => {
    const best = Array.isArray(out[i]) ? out[i][0] : out[i];
    console.log(`  ${best.label} ${best.score.toFixed(3)}  "${t}"`);
  });
}
await pipe.dispose();
