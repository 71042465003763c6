// The classify example in a web page: the model is fetched from a URL (default /model.onnx, served by serve.mjs),
// the image comes from the file picker or the server's sample, and the same preprocessing as classify.mjs runs here.
import { InferenceSession, Tensor } from '/dist/index.js';
import { decodeImage, preprocess, softmax, topK } from '/examples/classify/image.mjs';

const $ = (id) => document.getElementById(id);
const modelUrl = new URLSearchParams(location.search).get('model') ?? '/model.onnx';
$('model-url').textContent = modelUrl;

/** PPM/BMP through our decoders; other formats (PNG, JPEG, ...) through the browser's own decoder. */
async function readImage(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  try {
    return decodeImage(bytes);
  } catch {
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const rgb = new Uint8Array((rgba.length / 4) * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
    return { width: bitmap.width, height: bitmap.height, rgb };
  }
}

function drawPreview(image) {
  const canvas = $('preview');
  const scale = Math.min(canvas.width / image.width, canvas.height / image.height);
  const w = Math.round(image.width * scale), h = Math.round(image.height * scale);
  const data = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    data.data.set(image.rgb.subarray(3 * i, 3 * i + 3), 4 * i);
    data.data[4 * i + 3] = 255;
  }
  const full = new OffscreenCanvas(image.width, image.height);
  full.getContext('2d').putImageData(data, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(full, 0, 0, w, h);
}

const sessionPromise = InferenceSession.create(modelUrl);

async function classify(blob) {
  try {
    $('status').textContent = 'running…';
    const session = await sessionPromise;
    const image = await readImage(blob);
    drawPreview(image);
    const dims = session.inputMetadata[0].dims ?? [];
    const size = typeof dims[2] === 'number' ? dims[2] : 224;
    const t0 = performance.now();
    const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', preprocess(image, size), [1, 3, size, size]) });
    const ms = performance.now() - t0;
    const top = topK(softmax(outputs[session.outputNames[0]].data), 5);
    $('top5').innerHTML = top.map(({ index, score }) => `<tr><td>class ${index}</td><td>${score.toFixed(4)}</td></tr>`).join('');
    $('status').textContent = `${image.width}x${image.height} -> ${size}x${size}, ${ms.toFixed(0)} ms`;
    document.body.dataset.top5 = JSON.stringify(top); // read by test/examples.test.ts
  } catch (e) {
    $('status').textContent = `error: ${e.message}`;
    document.body.dataset.error = String(e.message);
  }
}

sessionPromise.then(
  () => ($('status').textContent = 'model loaded'),
  (e) => ($('status').textContent = `cannot load ${modelUrl}: ${e.message}`),
);
$('sample').onclick = async () => classify(await (await fetch('/sample.ppm')).blob());
$('file').onchange = (event) => event.target.files[0] && classify(event.target.files[0]);
if (new URLSearchParams(location.search).has('autorun')) $('sample').click();
