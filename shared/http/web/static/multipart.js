// Resumable multipart uploads (API.md, "Multipart uploads"). A file above the server's
// single-PUT threshold goes to storage in parts, a few at a time, each retried on its
// own, so a dropped connection costs only the parts in flight. The upload is remembered
// in localStorage per file, so picking the same file again after a closed tab carries on
// from the parts storage already holds.

import { api, me } from './api.js';

const PARALLEL = 4; // enough to fill a link without one slow part holding up the rest
const SIGN_BATCH = 100; // the most part numbers one signing request may name
const MAX_ATTEMPTS = 6; // per part: about 30 s of backoff, then the upload stops (resumable)
const RESIGN_MARGIN_MS = 60_000; // a URL this close to expiring may lapse mid-PUT: sign anew
const SPEED_WINDOW_MS = 5_000; // speed over the last few seconds, not since the start

/** Thrown when a pause or cancel aborted the part in flight (not a failure). */
export class Stopped extends Error {}

/** A failed request; `retry` when another try may succeed (network, 5xx, expired URL). */
class PartError extends Error {
  constructor(message, retry, expired = false) {
    super(message);
    this.retry = retry;
    this.expired = expired;
  }
}

// ---- what this browser remembers ----

// The file's name, size and last-modified time identify it across page loads (a File
// cannot be stored); the user id keeps two accounts in one browser apart.
const memoryKey = (file) => `reel.upload.${me.id}.${file.size}.${file.lastModified}.${file.name}`;

/** The remembered upload of `file`: `{ video_id, upload_id, part_size, part_count, name,
 *  visibility }`, or null. */
export function recall(file) {
  try {
    return JSON.parse(localStorage.getItem(memoryKey(file)) || 'null');
  } catch {
    return null; // storage disabled or a damaged entry: nothing to resume
  }
}

export function remember(file, record) {
  try {
    localStorage.setItem(memoryKey(file), JSON.stringify(record));
  } catch {
    /* storage full or disabled: the upload still runs, it just cannot resume later */
  }
}

export function forget(file) {
  try {
    localStorage.removeItem(memoryKey(file));
  } catch { /* nothing remembered */ }
}

const uploadPath = (videoId) => `/upload/${encodeURIComponent(videoId)}`;

/** The parts storage holds of a remembered upload, or null when that upload is gone
 *  (404: aborted, expired or the video deleted; 409: the video's bytes are already in). */
export async function storedParts(record) {
  const query = new URLSearchParams({ upload_id: record.upload_id });
  try {
    return (await api('GET', `${uploadPath(record.video_id)}/parts?${query}`)).parts;
  } catch (e) {
    if (e.status === 404 || e.status === 409) return null;
    throw e;
  }
}

/** Discards the upload's parts (Cancel). Best effort: deleting the video does it too. */
export async function abortUpload(record) {
  const query = new URLSearchParams({ upload_id: record.upload_id });
  await api('DELETE', `${uploadPath(record.video_id)}?${query}`).catch(() => {});
}

// ---- sending the parts ----

/**
 * Sends the parts of `record`'s upload that `stored` (GET parts) lacks, then completes
 * it; `run()` resolves with the video. `onProgress({ done, total, speed, eta })` is
 * called as bytes move: `done` counts stored parts plus the parts in flight, `speed`
 * (bytes/s) and `eta` (s) are null until a few bytes have been timed.
 */
export class PartUploader {
  constructor(file, record, stored, onProgress) {
    this.file = file;
    this.record = record;
    this.onProgress = onProgress;
    this.etags = new Map(); // part number -> ETag of a part storage holds
    for (const part of stored) {
      // A part of another length cannot be completed with: send it again.
      if (part.size === this.partLength(part.part_number)) this.etags.set(part.part_number, part.etag);
    }
    this.inFlight = new Map(); // part number -> { xhr, loaded }
    this.urls = new Map(); // part number -> signed { url, method, headers, expires_at }
    this.signing = null; // the signing request in flight, shared by the workers
    this.paused = false;
    this.stopped = null; // set once cancelled or failed: every worker ends
    this.gate = null; // { promise, open } while paused
    this.samples = []; // [{ t, sent }] for the speed
    this.sent = 0; // bytes transferred this session, lost ones included (the speed)
    this.wakers = new Set(); // workers waiting out a backoff or for the network
  }

  /** Bytes of the parts storage already held when this began (the "Resuming" note). */
  storedBytes() {
    let bytes = 0;
    for (const n of this.etags.keys()) bytes += this.partLength(n);
    return bytes;
  }

  partLength(n) {
    const { part_size: size, part_count: count } = this.record;
    return n < count ? size : this.file.size - size * (count - 1);
  }

  async run() {
    const queue = [];
    for (let n = 1; n <= this.record.part_count; n += 1) if (!this.etags.has(n)) queue.push(n);
    this.report();
    const workers = Array.from({ length: Math.min(PARALLEL, queue.length) }, () => this.work(queue));
    try {
      await Promise.all(workers);
    } catch (e) {
      // One part gave up: stop the others rather than let them run on unseen.
      this.halt(e);
      throw e;
    }
    return this.complete();
  }

  /** One of the parallel senders: takes the next missing part until none is left. */
  async work(queue) {
    while (queue.length) {
      await this.whilePaused();
      if (this.stopped) throw this.stopped;
      const n = queue.shift();
      try {
        await this.sendPart(n);
      } catch (e) {
        // Paused mid-part: its bytes go again on resume, first in line.
        if (e instanceof Stopped && !this.stopped) {
          queue.unshift(n);
          continue;
        }
        throw e;
      }
    }
  }

  /** One part, retried with exponential backoff on network errors, 5xx and expiry. */
  async sendPart(n) {
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) throw this.stopped;
      try {
        const target = await this.urlFor(n);
        this.etags.set(n, await this.put(n, target));
        return;
      } catch (e) {
        if (e instanceof Stopped || !retryable(e)) throw e;
        if (e.expired) this.urls.delete(n);
        // Offline, no try can succeed: wait for the network instead of using tries up.
        if (!navigator.onLine) {
          await this.untilOnline();
          attempt = 0;
          continue;
        }
        if (attempt >= MAX_ATTEMPTS) throw e;
        await this.sleep(Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** A signed URL for part `n` that will not lapse mid-PUT. */
  async urlFor(n) {
    const fresh = () => {
      const signed = this.urls.get(n);
      return signed && Date.parse(signed.expires_at) - Date.now() > RESIGN_MARGIN_MS ? signed : null;
    };
    // Another worker's batch probably covers this part: wait for it before asking.
    if (!fresh() && this.signing) await this.signing.catch(() => {});
    if (fresh()) return fresh();
    const batch = this.sign(n);
    this.signing = batch;
    try {
      await batch;
    } finally {
      if (this.signing === batch) this.signing = null;
    }
    return this.urls.get(n);
  }

  /** Signs part `n` and the missing parts after it, up to one request's worth, so four
   *  workers need one signing request per hundred parts rather than one per part. */
  async sign(n) {
    const numbers = [n];
    for (let m = n + 1; m <= this.record.part_count && numbers.length < SIGN_BATCH; m += 1) {
      if (!this.etags.has(m) && !this.inFlight.has(m)) numbers.push(m);
    }
    const reply = await api('POST', `${uploadPath(this.record.video_id)}/parts`, {
      upload_id: this.record.upload_id,
      part_numbers: numbers,
    });
    for (const part of reply.parts) this.urls.set(part.part_number, part);
  }

  /** PUTs part `n`'s exact bytes; resolves with the ETag storage answers. XHR rather
   *  than fetch for its upload progress events. */
  put(n, target) {
    if (this.paused || this.stopped) return Promise.reject(this.stopped || new Stopped('paused'));
    const start = (n - 1) * this.record.part_size;
    const body = this.file.slice(start, start + this.partLength(n));
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const flight = { xhr, loaded: 0 };
      this.inFlight.set(n, flight);
      const settle = (fn, value) => {
        this.inFlight.delete(n);
        this.report();
        fn(value);
      };
      xhr.open(target.method || 'PUT', target.url);
      for (const [name, value] of Object.entries(target.headers || {})) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (event) => {
        this.sent += event.loaded - flight.loaded;
        flight.loaded = event.loaded;
        this.report();
      });
      xhr.addEventListener('load', () => {
        const etag = xhr.getResponseHeader('ETag');
        if (xhr.status >= 200 && xhr.status < 300 && etag) settle(resolve, etag);
        else settle(reject, failure(xhr, etag));
      });
      xhr.addEventListener('error', () => settle(reject, new PartError('the connection to the storage failed', true)));
      xhr.addEventListener('timeout', () => settle(reject, new PartError('the storage did not answer', true)));
      xhr.addEventListener('abort', () => settle(reject, this.stopped || new Stopped('paused')));
      xhr.send(body);
    });
  }

  /** Assembles the parts; a network error or 5xx is tried again a few times, since the
   *  parts are all there and only the answer may have been lost. */
  async complete() {
    const parts = [...this.etags].sort(([a], [b]) => a - b).map(([part_number, etag]) => ({ part_number, etag }));
    const path = `${uploadPath(this.record.video_id)}/complete`;
    for (let attempt = 1; ; attempt += 1) {
      if (this.stopped) throw this.stopped;
      try {
        return await api('POST', path, { upload_id: this.record.upload_id, parts });
      } catch (e) {
        // A repeat whose first try did assemble the video: its bytes are in.
        if (attempt > 1 && e.status === 409) return api('GET', `/videos/${encodeURIComponent(this.record.video_id)}/info`);
        if (!retryable(e) || attempt >= MAX_ATTEMPTS) throw e;
        await this.sleep(Math.min(30_000, 500 * 2 ** attempt));
      }
    }
  }

  // ---- pause, resume, cancel ----

  /** Starts no new part and aborts those in flight; their bytes go again on resume. */
  pause() {
    if (this.paused || this.stopped) return;
    this.paused = true;
    let open;
    this.gate = { promise: new Promise((r) => { open = r; }), open: () => open() };
    for (const { xhr } of this.inFlight.values()) xhr.abort();
    this.samples = []; // the speed starts over after the pause
  }

  resume() {
    if (!this.paused) return;
    this.paused = false;
    this.gate.open();
    this.gate = null;
  }

  /** Ends every worker with `Stopped` (the caller aborts the upload itself). */
  cancel() {
    this.halt(new Stopped('cancelled'));
  }

  halt(reason) {
    if (this.stopped) return;
    this.stopped = reason;
    for (const { xhr } of this.inFlight.values()) xhr.abort();
    this.gate?.open();
    for (const wake of this.wakers) wake();
  }

  whilePaused() {
    return this.gate ? this.gate.promise : Promise.resolve();
  }

  /** Waits `ms`, cut short by a cancel (the worker then ends). */
  sleep(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Waits until the browser is back online, cut short by a cancel. */
  untilOnline() {
    return new Promise((resolve) => {
      const done = () => {
        window.removeEventListener('online', done);
        this.wakers.delete(done);
        resolve();
      };
      window.addEventListener('online', done);
      this.wakers.add(done);
    });
  }

  // ---- progress ----

  report() {
    let done = 0;
    for (const n of this.etags.keys()) done += this.partLength(n);
    for (const { loaded } of this.inFlight.values()) done += loaded;
    const now = performance.now();
    this.samples.push({ t: now, sent: this.sent });
    while (this.samples.length > 2 && now - this.samples[1].t > SPEED_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    const speed = seconds >= 0.5 ? (this.sent - first.sent) / seconds : null;
    const eta = speed > 0 ? (this.file.size - done) / speed : null;
    this.onProgress({ done: Math.min(done, this.file.size), total: this.file.size, speed, eta });
  }
}

/** Whether another try may succeed: no answer at all, a server error, an expired URL. */
function retryable(e) {
  if (e instanceof PartError) return e.retry;
  return e.status === 0 || e.status >= 500 || e.status === 429;
}

function failure(xhr, etag) {
  if (xhr.status >= 200 && xhr.status < 300 && !etag) {
    return new PartError('the storage did not say what it stored (no ETag)', false);
  }
  // Storage refuses an expired signature with 403: sign again and resend.
  const expired = xhr.status === 403;
  const retry = expired || xhr.status >= 500 || xhr.status === 408 || xhr.status === 429;
  let message = `the storage answered HTTP ${xhr.status}`;
  try { message = JSON.parse(xhr.responseText).error || message; } catch { /* S3 answers XML */ }
  return new PartError(message, retry, expired);
}
