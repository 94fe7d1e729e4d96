// The user's home: their videos (newest first, "load more"), the player with the
// selected video's comments, uploads with progress straight to the presigned URL (large
// files in resumable parts, multipart.js), and deletion with a confirmation dialog.

import { api, me, showError } from './api.js';
import { mountComments } from './comments.js';
import { el, formatBytes, formatDuration, formatSpeed } from './format.js';
import { capturePoster } from './poster.js';
import { copyLink, saveEdit } from './edit.js';
import { fillThumbnail } from './cards.js';
import { PartUploader, Stopped, abortUpload, forget, recall, remember, storedParts } from './multipart.js';

const PAGE = 12;
const home = document.getElementById('home');
const maxUpload = Number(home.dataset.maxUpload) || Infinity;
const userPath = `/user/${encodeURIComponent(me.name)}`;
const videoPath = (id) => `${userPath}/videos/${encodeURIComponent(id)}`;

// ---- the list ----

const list = document.getElementById('video-list');
const loading = document.getElementById('videos-loading');
const empty = document.getElementById('videos-empty');
const listError = document.getElementById('videos-error');
const more = document.getElementById('videos-more');
let cursor = null;

function refreshEmptyState() {
  empty.hidden = list.children.length > 0;
}

const STATUS_LABELS = { ready: 'Ready', pending: 'Pending', rejected: 'Rejected' };

function renderVideo(video) {
  const ready = video.status === 'ready';
  const item = el('li', 'video-item');
  item.dataset.id = video.id;
  item.dataset.status = video.status;
  if (video.id === playing) item.classList.add('selected');

  const open = el('button', 'video-open');
  open.type = 'button';
  open.append(fillThumbnail(el('span', 'video-thumb'), video), el('span', 'video-name', video.name));
  open.disabled = !ready;
  open.title = ready ? `Play “${video.name}”` : video.status === 'rejected' ? 'Not a video Reel can play' : 'Not ready to play yet';
  open.addEventListener('click', () => play(video));

  const meta = el('p', 'video-meta muted');
  const time = el('time', '', video.display_ctime);
  time.dateTime = video.create_time;
  meta.append(el('span', `badge ${video.status}`, STATUS_LABELS[video.status] || video.status), time);
  meta.append(el('span', 'badge visibility', video.visibility));
  if (ready) meta.append(el('span', 'size', formatBytes(video.size)));
  if (ready && video.width && video.height) meta.append(el('span', 'size resolution', `${video.width}×${video.height}`));
  if (video.status === 'rejected') meta.append(el('span', 'reason', video.reason || 'not a video'));

  const actions = el('div', 'video-actions');
  const watch = el('a', 'button ghost small', 'Watch page');
  watch.href = `/watch/${encodeURIComponent(video.id)}`;
  const edit = el('button', 'button ghost small', 'Edit');
  edit.type = 'button';
  edit.setAttribute('aria-label', `Edit “${video.name}”`);
  edit.addEventListener('click', () => openEdit(video, item));
  const copy = el('button', 'button ghost small', 'Copy link');
  copy.type = 'button';
  const copyStatus = el('span', 'muted copy-status');
  copyStatus.setAttribute('role', 'status');
  const fallback = el('input', 'copy-fallback');
  fallback.readOnly = true;
  fallback.hidden = true;
  fallback.setAttribute('aria-label', 'Link to this video');
  copy.addEventListener('click', () => copyLink(new URL(watch.href, location.href).href, fallback, copyStatus));
  const remove = el('button', 'button danger small', 'Delete');
  remove.type = 'button';
  remove.setAttribute('aria-label', `Delete “${video.name}”`);
  remove.addEventListener('click', () => confirmDelete(video, item, remove));
  actions.append(watch, edit, copy, remove, copyStatus, fallback);

  item.append(open, meta, actions);
  return item;
}

/** Loads the next page of videos; `fresh` starts over from the newest. */
async function loadVideos(fresh = false) {
  more.disabled = true;
  more.textContent = 'Loading…';
  if (fresh) {
    cursor = null;
    loading.hidden = false;
  }
  try {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `${userPath}/videos?${query}`);
    const items = page.videos.map(renderVideo);
    if (fresh) list.replaceChildren(...items);
    else list.append(...items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    showError(listError, '');
  } catch (e) {
    showError(listError, `Could not load your videos: ${e.message}`);
  } finally {
    loading.hidden = true;
    more.disabled = false;
    more.textContent = 'Load more';
    refreshEmptyState();
  }
}

more.addEventListener('click', () => loadVideos());

// ---- the player ----

const playerCard = document.getElementById('player-card');
const player = document.getElementById('player');
const playerError = document.getElementById('player-error');
let playing = null;

function play(video) {
  playing = video.id;
  for (const item of list.children) item.classList.toggle('selected', item.dataset.id === video.id);
  playerCard.hidden = false;
  showError(playerError, '');
  document.getElementById('player-title').textContent = video.name;
  const facts = [video.display_ctime];
  if (video.duration_ms != null) facts.push(formatDuration(video.duration_ms / 1000));
  if (video.width && video.height) facts.push(`${video.width}×${video.height}`);
  facts.push(formatBytes(video.size));
  document.getElementById('player-meta').textContent = facts.join(' · ');
  if (video.poster_url) player.poster = video.poster_url;
  else player.removeAttribute('poster');
  document.getElementById('player-watch-link').href = `/watch/${encodeURIComponent(video.id)}`;
  // The cookie authenticates this GET; the server answers 307 to a Range-capable URL.
  player.src = `/videos/${encodeURIComponent(video.id)}`;
  player.dataset.videoId = video.id;
  // Chosen by a click, so the browser allows playback to start at once.
  player.play().catch(() => { /* blocked or interrupted: the controls are there */ });
  mountComments(document.getElementById('player-comments'), video.id, video.author_id);
  playerCard.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

player.addEventListener('error', () => {
  if (player.getAttribute('src')) showError(playerError, 'This video cannot be played right now. Try again in a moment.');
});

function stopPlayer() {
  player.pause();
  player.removeAttribute('src');
  player.load();
  playerCard.hidden = true;
  playing = null;
}

// ---- deletion ----

const dialog = document.getElementById('confirm-delete');
let pendingDelete = null;

function confirmDelete(video, item, button) {
  pendingDelete = { video, item, button };
  document.getElementById('confirm-delete-name').textContent = video.name;
  dialog.returnValue = '';
  dialog.showModal();
}

// One listener for the one dialog: "Delete" closes it with returnValue "delete"; "Keep
// it", Escape and the backdrop leave everything as it was.
dialog.addEventListener('close', async () => {
  const target = pendingDelete;
  pendingDelete = null;
  if (!target || dialog.returnValue !== 'delete') return;
  const { video, item, button } = target;
  button.disabled = true;
  item.classList.add('busy');
  try {
    await api('DELETE', videoPath(video.id));
    item.remove();
    if (playing === video.id) stopPlayer();
    refreshEmptyState();
    showError(listError, '');
  } catch (e) {
    button.disabled = false;
    item.classList.remove('busy');
    showError(listError, `Could not delete “${video.name}”: ${e.message}`);
  }
});

// ---- editing ----

const editDialog = document.getElementById('edit-video');
const editForm = document.getElementById('edit-form');
const editStatus = document.getElementById('edit-status');
let editing = null;

function openEdit(video, item) {
  editing = { video, item };
  editForm.elements.name.value = video.name;
  editForm.elements.description.value = video.description ?? '';
  editForm.elements.visibility.value = video.visibility;
  editStatus.textContent = '';
  editDialog.showModal();
}

// "Save" sends the changes and keeps the dialog open on an error; the list item is
// replaced by the edited video's.
editForm.addEventListener('submit', async (event) => {
  if (event.submitter?.value !== 'save' || !editing) return;
  event.preventDefault();
  const save = document.getElementById('edit-save');
  save.disabled = true;
  editStatus.textContent = 'Saving…';
  editStatus.className = 'status';
  try {
    const video = await saveEdit(editing.video.id, editing.video, editForm);
    const fresh = renderVideo(video);
    editing.item.replaceWith(fresh);
    editing = null;
    editDialog.close();
  } catch (e) {
    editStatus.textContent = e.message;
    editStatus.className = 'status error';
  } finally {
    save.disabled = false;
  }
});

// ---- uploads ----

const uploadCard = document.getElementById('upload-card');
const form = document.getElementById('upload-form');
const fileInput = document.getElementById('upload-file');
const nameInput = document.getElementById('upload-name');
const startButton = document.getElementById('upload-start');
const cancelButton = document.getElementById('upload-cancel');
const pauseButton = document.getElementById('upload-pause');
const resumeButton = document.getElementById('upload-resume');
const progressRow = document.getElementById('upload-progress-row');
const progress = document.getElementById('upload-progress');
const percent = document.getElementById('upload-percent');
const speed = document.getElementById('upload-speed');
const eta = document.getElementById('upload-eta');
const status = document.getElementById('upload-status');
let upload = null; // { xhr, parts, cancelled } while an upload runs (parts: a PartUploader)
let autoName = ''; // the name we filled in from the file, replaced when the file changes

document.getElementById('upload-limit').textContent = Number.isFinite(maxUpload)
  ? `Any video file up to ${formatBytes(maxUpload)}.`
  : 'Any video file.';

function setStatus(message, kind = '') {
  status.textContent = message;
  status.className = `status ${kind}`.trim();
}

function chose(file) {
  setStatus('');
  if (!file) return;
  // Default the name to the file name without its extension, unless the user typed one.
  if (!nameInput.value.trim() || nameInput.value === autoName) {
    autoName = file.name.replace(/\.[^.]+$/, '') || file.name;
    nameInput.value = autoName;
  }
  const problem = refusal(file);
  if (problem) setStatus(problem, 'error');
  else announceResume(file);
}

/**
 * The remembered upload of `file` and the parts storage holds of it, or null. A
 * remembered upload that is gone (aborted, expired, its video deleted or finished) is
 * forgotten, and its video removed if it is still waiting for bytes, so the file starts
 * afresh.
 */
async function findResume(file) {
  const record = recall(file);
  if (!record) return null;
  const stored = await storedParts(record);
  if (stored) return { record, stored };
  forget(file);
  const old = await api('GET', `/videos/${encodeURIComponent(record.video_id)}/info`).catch(() => null);
  if (old?.status === 'pending') await api('DELETE', videoPath(record.video_id)).catch(() => {});
  return null;
}

/** "Resuming: 1.2 GB of 3.1 GB already uploaded" for `stored` parts of `file`. */
function resumeNote(file, stored) {
  const bytes = stored.reduce((sum, part) => sum + part.size, 0);
  return `Resuming: ${formatBytes(bytes)} of ${formatBytes(file.size)} already uploaded`;
}

/** Tells, as soon as a file is picked, that it will carry on where it stopped. */
async function announceResume(file) {
  startButton.textContent = 'Upload';
  let resume = null;
  try {
    resume = await findResume(file);
  } catch { /* offline: the upload will say so */ }
  if (!resume || fileInput.files[0] !== file || upload) return;
  // The video exists already: show the name it was begun with, unless the user typed one.
  if (nameInput.value === autoName) {
    nameInput.value = resume.record.name;
    autoName = resume.record.name;
  }
  document.getElementById('upload-visibility').value = resume.record.visibility;
  startButton.textContent = 'Resume upload';
  setStatus(`${resumeNote(file, resume.stored)}. “Resume upload” sends the rest.`);
}

fileInput.addEventListener('change', () => chose(fileInput.files[0]));

// Dropping a file on the upload card is the same as choosing it.
uploadCard.addEventListener('dragover', (event) => {
  if (upload || !event.dataTransfer?.types.includes('Files')) return;
  event.preventDefault();
  uploadCard.classList.add('dropping');
});
uploadCard.addEventListener('dragleave', () => uploadCard.classList.remove('dropping'));
uploadCard.addEventListener('drop', (event) => {
  uploadCard.classList.remove('dropping');
  if (upload || !event.dataTransfer?.files.length) return;
  event.preventDefault();
  fileInput.files = event.dataTransfer.files;
  chose(fileInput.files[0]);
});

/** Why this file cannot be uploaded, or null. Checked before any byte is sent. */
function refusal(file) {
  if (!file) return 'Choose a video file first.';
  if (!file.type.startsWith('video/')) return `“${file.name}” is not a video file. Choose an MP4, WebM or other video.`;
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > maxUpload) {
    return `“${file.name}” is ${formatBytes(file.size)}; the largest video you can upload is ${formatBytes(maxUpload)}.`;
  }
  return null;
}

class Cancelled extends Error {}

/** Uploads the poster `capture` made for the video; a failure only costs the poster. */
async function sendPoster(videoId, capture) {
  const poster = await capture;
  if (!poster) return;
  try {
    const grant = await api('POST', `/upload/${encodeURIComponent(videoId)}/poster`, {
      size: poster.blob.size,
      content_type: poster.blob.type,
    });
    const response = await fetch(grant.url, { method: grant.method || 'PUT', headers: grant.headers, body: poster.blob });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    // Read by the browser tests (the README's poster figures).
    home.dataset.lastPoster = JSON.stringify({ bytes: poster.blob.size, type: poster.blob.type, ms: Math.round(poster.ms) });
  } catch (e) {
    console.warn('the poster could not be stored', e);
  }
}

/** PUTs the file to the presigned URL with the grant's headers, showing progress. */
function put(grant, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    let started = performance.now();
    // Average speed since the start; a floor of 1 ms keeps a tiny, instant upload finite.
    const showSpeed = (bytes) => {
      speed.textContent = formatSpeed(bytes / Math.max(0.001, (performance.now() - started) / 1000));
    };
    xhr.open(grant.method || 'PUT', grant.url);
    for (const [name, value] of Object.entries(grant.headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('loadstart', () => { started = performance.now(); });
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable || event.total === 0) return;
      const done = Math.floor((event.loaded / event.total) * 100);
      progress.value = done;
      percent.textContent = `${done}%`;
      showSpeed(event.loaded);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress.value = 100;
        percent.textContent = '100%';
        if (!speed.textContent) showSpeed(file.size);
        resolve();
        return;
      }
      let message = `the storage answered HTTP ${xhr.status}`;
      try { message = JSON.parse(xhr.responseText).error || message; } catch { /* S3 answers XML */ }
      reject(new Error(message));
    });
    xhr.addEventListener('error', () => reject(new Error('the connection to the storage failed')));
    xhr.addEventListener('abort', () => reject(new Cancelled('cancelled')));
    xhr.send(file);
  });
}

/** Shows a multipart upload's progress: one bar over the whole file, the speed over the
 *  last few seconds and the time left at that speed. */
function showParts({ done, total, speed: rate, eta: left }) {
  const share = Math.floor((done / total) * 100);
  progress.value = share;
  percent.textContent = `${share}%`;
  speed.textContent = rate == null ? '' : formatSpeed(rate);
  eta.textContent = left == null ? '' : `${formatDuration(left)} left`;
}

/** Sends `file` in parts for `record`'s upload, skipping the `stored` ones, with Pause
 *  and Resume shown while it runs; resolves with the completed video. */
async function sendParts(file, record, stored) {
  if (upload.cancelled) throw new Cancelled('cancelled');
  const parts = new PartUploader(file, record, stored, showParts);
  upload.parts = parts;
  pauseButton.hidden = false;
  try {
    return await parts.run();
  } catch (e) {
    throw e instanceof Stopped && upload.cancelled ? new Cancelled('cancelled') : e;
  } finally {
    pauseButton.hidden = true;
    resumeButton.hidden = true;
  }
}

class Rejected extends Error {}

/** Polls the video until the storage has told the server its bytes landed and the
 *  server has read what they are. */
async function waitUntilReady(id) {
  const deadline = Date.now() + 5 * 60 * 1000;
  let delay = 250;
  for (;;) {
    const video = await api('GET', `/videos/${encodeURIComponent(id)}/info`);
    if (video.status === 'ready') return video;
    if (video.status === 'rejected') throw new Rejected(video.reason || 'not a video');
    if (Date.now() > deadline) throw new Error('the video is still processing; it will appear here when ready');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 3000);
  }
}

function setBusy(busy) {
  startButton.disabled = busy;
  fileInput.disabled = busy;
  nameInput.disabled = busy;
  cancelButton.hidden = !busy;
  cancelButton.disabled = false;
  if (!busy) startButton.textContent = 'Upload';
}

// Leaving the page would silently drop a single PUT in flight: ask first. An upload in
// parts is remembered and resumes when the same file is picked again: no need.
window.addEventListener('beforeunload', (event) => {
  if (upload && !upload.parts) event.preventDefault();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (upload) return;
  const file = fileInput.files[0];
  const problem = refusal(file);
  if (problem) {
    setStatus(problem, 'error');
    return;
  }
  const name = nameInput.value.trim() || file.name;
  const visibility = document.getElementById('upload-visibility').value;
  const current = { xhr: null, parts: null, cancelled: false };
  upload = current;
  const checkCancelled = () => { if (current.cancelled) throw new Cancelled('cancelled'); };
  setBusy(true);
  progressRow.hidden = false;
  progress.value = 0;
  percent.textContent = '0%';
  speed.textContent = '';
  eta.textContent = '';
  setStatus(`Uploading “${name}”…`);
  let video = null;
  let landed = false;
  let record = null; // the multipart upload, once there is one
  try {
    const resume = await findResume(file);
    checkCancelled();
    let poster;
    if (resume) {
      ({ record } = resume);
      video = { id: record.video_id };
      setStatus(`${resumeNote(file, resume.stored)}. Uploading the rest of “${name}”…`);
      await renameIfChanged(record, name, visibility);
      poster = capturePoster(file);
      await sendParts(file, record, resume.stored);
    } else {
      video = await api('POST', `${userPath}/videos`, { name, visibility });
      checkCancelled();
      const grant = await api('POST', `/upload/${encodeURIComponent(video.id)}`, { size: file.size, content_type: file.type });
      checkCancelled();
      // The poster is made while the bytes travel, and sent once they have landed.
      poster = capturePoster(file);
      if (grant.upload_id) {
        // Above the server's threshold: in parts, remembered so a closed tab can resume.
        record = { video_id: video.id, upload_id: grant.upload_id, part_size: grant.part_size, part_count: grant.part_count, name, visibility };
        remember(file, record);
        await sendParts(file, record, []);
      } else {
        await put(grant, file);
      }
    }
    landed = true;
    forget(file);
    cancelButton.disabled = true; // the bytes are stored: nothing left to cancel
    setStatus('Processing…');
    await sendPoster(video.id, poster);
    const ready = await waitUntilReady(video.id);
    form.reset();
    autoName = '';
    await loadVideos(true);
    setStatus(`Ready — “${ready.name}” is in your videos.`, 'ok');
  } catch (e) {
    // An upload in parts that failed is kept, to resume by picking the file again;
    // cancelled, it is aborted and forgotten. Otherwise do not leave an empty,
    // never-ready video behind; if even that fails, say so and show it in the list,
    // where it can be deleted by hand.
    const resumable = record && !(e instanceof Cancelled) && !(e instanceof Rejected);
    if (record && !resumable) {
      forget(file);
      if (e instanceof Cancelled) await abortUpload(record);
    }
    let leftover = false;
    if (video && !landed && !resumable) {
      leftover = await api('DELETE', videoPath(video.id)).then(() => false, () => true);
      if (leftover) loadVideos(true);
    }
    const note = leftover ? ' The unfinished video could not be removed: delete it from your list.' : '';
    if (e instanceof Rejected) {
      form.reset();
      autoName = '';
      await loadVideos(true);
      setStatus(`“${name}” was not accepted: ${e.message}. It is marked in your list, where you can delete it.`, 'error');
    } else if (e instanceof Cancelled) {
      setStatus(leftover ? `Upload cancelled.${note}` : 'Upload cancelled. Nothing was kept.', leftover ? 'error' : '');
      progressRow.hidden = true;
    } else if (resumable) {
      setStatus(`Upload stopped: ${e.message.replace(/\.$/, '')}. What was sent is kept: choose the same file again to resume.`, 'error');
    } else {
      setStatus(`Upload failed: ${e.message.replace(/\.$/, '')}.${note}`, 'error');
    }
  } finally {
    upload = null;
    setBusy(false);
  }
});

cancelButton.addEventListener('click', () => {
  if (!upload) return;
  upload.cancelled = true;
  cancelButton.disabled = true;
  setStatus('Cancelling…');
  upload.xhr?.abort();
  upload.parts?.cancel();
});

// Pause starts no new part and aborts those in flight (they are sent again on resume).
pauseButton.addEventListener('click', () => {
  if (!upload?.parts) return;
  upload.parts.pause();
  pauseButton.hidden = true;
  resumeButton.hidden = false;
  speed.textContent = '';
  eta.textContent = '';
  setStatus(`Paused at ${percent.textContent}. Resume sends the rest.`);
  resumeButton.focus();
});

resumeButton.addEventListener('click', () => {
  if (!upload?.parts) return;
  upload.parts.resume();
  resumeButton.hidden = true;
  pauseButton.hidden = false;
  setStatus('Uploading…');
  pauseButton.focus();
});

/** A resumed upload's video keeps the name and visibility it was begun with unless the
 *  form now says otherwise. */
async function renameIfChanged(record, name, visibility) {
  const changes = {};
  if (name !== record.name) changes.name = name;
  if (visibility !== record.visibility) changes.visibility = visibility;
  if (Object.keys(changes).length) await api('PATCH', `/videos/${encodeURIComponent(record.video_id)}`, changes);
}

loadVideos(true);
