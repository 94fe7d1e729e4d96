// A poster for a video being uploaded, made in the browser, which decodes the video
// anyway: one frame around 10% of the way in (at most 5 s; a black frame is skipped),
// 640 px wide, WebP (JPEG where the browser cannot encode WebP) of at most 150 KB.
// The server checks the image's header when it lands.

const WIDTH = 640;
const MAX_BYTES = 150_000;
const QUALITIES = [0.82, 0.7, 0.6, 0.5, 0.4, 0.3];
const TIMEOUT_MS = 15_000;

/** Resolves on `ok`, rejects on `error` or after the timeout. */
function once(target, ok) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ok} in time`)), TIMEOUT_MS);
    const done = (fn) => (event) => {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener('error', onError);
      fn(event);
    };
    const onOk = done(resolve);
    const onError = done(() => reject(new Error('the browser cannot decode this video')));
    target.addEventListener(ok, onOk);
    target.addEventListener('error', onError);
  });
}

/** Average luma of the frame, sampled small: under 16 of 255 reads as black. */
function isBlack(canvas) {
  const probe = document.createElement('canvas');
  probe.width = 32;
  probe.height = 18;
  const ctx = probe.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(canvas, 0, 0, probe.width, probe.height);
  const { data } = ctx.getImageData(0, 0, probe.width, probe.height);
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
  return sum / (data.length / 4) < 16;
}

function toBlob(canvas, type, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

/** The smallest encoding under the limit: WebP if the browser makes it, else JPEG. */
async function encode(canvas) {
  let type = 'image/webp';
  for (const quality of QUALITIES) {
    let blob = await toBlob(canvas, type, quality);
    if (blob && blob.type !== type) {
      type = 'image/jpeg'; // no WebP encoder: the browser fell back to PNG
      blob = await toBlob(canvas, type, quality);
    }
    if (blob && blob.size <= MAX_BYTES) return blob;
  }
  return null;
}

/**
 * A poster of the video `file`: `{ blob, width, height, ms }` (`ms`: the time it took),
 * or null when the browser cannot decode the file (the server decides about the video
 * itself; a video without a poster shows a placeholder).
 */
export async function capturePoster(file) {
  const started = performance.now();
  const url = URL.createObjectURL(file);
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  try {
    video.src = url;
    await once(video, 'loadeddata');
    if (!video.videoWidth || !video.videoHeight) return null;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = Math.max(1, Math.round((WIDTH * video.videoHeight) / video.videoWidth));
    const ctx = canvas.getContext('2d');
    let at = Math.min(duration * 0.1, 5);
    for (let attempt = 0; attempt < 4; attempt += 1) {
      video.currentTime = at;
      await once(video, 'seeked');
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      if (!isBlack(canvas)) break;
      const later = at + Math.max(0.5, duration * 0.1);
      if (later >= duration) break;
      at = later;
    }
    const blob = await encode(canvas);
    if (!blob) return null;
    return { blob, width: canvas.width, height: canvas.height, ms: performance.now() - started };
  } catch {
    return null;
  } finally {
    video.removeAttribute('src');
    video.load();
    URL.revokeObjectURL(url);
  }
}
