// The user's home: their videos (newest first), the player with comments, uploads with
// progress straight to the presigned URL, and deletion with confirmation.

import { api, me, showError } from './api.js';
import { mountComments } from './comments.js';
import { el, formatBytes, formatSpeed } from './format.js';

const PAGE = 12;
const home = document.getElementById('home');
const maxUpload = Number(home.dataset.maxUpload);
const userPath = `/user/${encodeURIComponent(me.name)}`;

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

function renderVideo(video) {
  const item = el('li', 'video-item');
  item.dataset.id = video.id;
  item.dataset.status = video.status;
  const open = el('button', 'video-open');
  open.type = 'button';
  open.append(el('span', 'video-thumb', '▶'), el('span', 'video-name', video.name));
  open.disabled = video.status !== 'ready';
  open.title = video.status === 'ready' ? `Play ${video.name}` : 'Not ready yet';
  open.addEventListener('click', () => play(video));
  const meta = el('p', 'video-meta muted');
  meta.append(
    el('span', `badge ${video.status}`, video.status === 'ready' ? 'Ready' : 'Processing'),
    document.createTextNode(` ${video.display_ctime}${video.size ? ` · ${formatBytes(video.size)}` : ''}`),
  );
  const actions = el('div', 'video-actions');
  const watch = el('a', 'button ghost small', 'Watch page');
  watch.href = `/watch/${video.id}`;
  const remove = el('button', 'button danger small', 'Delete');
  remove.type = 'button';
  remove.setAttribute('aria-label', `Delete ${video.name}`);
  remove.addEventListener('click', () => confirmDelete(video, item));
  actions.append(watch, remove);
  item.append(open, meta, actions);
  return item;
}

async function loadVideos() {
  more.disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `${userPath}/videos?${query}`);
    list.append(...page.videos.map(renderVideo));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    showError(listError, '');
  } catch (e) {
    showError(listError, `Could not load your videos: ${e.message}`);
  } finally {
    loading.hidden = true;
    more.disabled = false;
    refreshEmptyState();
  }
}

more.addEventListener('click', loadVideos);

// ---- the player ----

const playerCard = document.getElementById('player-card');
const player = document.getElementById('player');
let playing = null;

function play(video) {
  playing = video.id;
  playerCard.hidden = false;
  document.getElementById('player-title').textContent = video.name;
  document.getElementById('player-meta').textContent = `${video.display_ctime} · ${formatBytes(video.size)}`;
  document.getElementById('player-watch-link').href = `/watch/${video.id}`;
  player.src = `/videos/${video.id}`;
  player.dataset.videoId = video.id;
  mountComments(document.getElementById('player-comments'), video.id, video.author_id);
  playerCard.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function stopPlayer() {
  player.pause();
  player.removeAttribute('src');
  player.load();
  playerCard.hidden = true;
  playing = null;
}

// ---- deletion ----

const dialog = document.getElementById('confirm-delete');

function confirmDelete(video, item) {
  document.getElementById('confirm-delete-name').textContent = video.name;
  dialog.returnValue = '';
  dialog.showModal();
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'delete') return;
    try {
      await api('DELETE', `${userPath}/videos/${video.id}`);
      item.remove();
      if (playing === video.id) stopPlayer();
      refreshEmptyState();
    } catch (e) {
      showError(listError, `Could not delete “${video.name}”: ${e.message}`);
    }
  }, { once: true });
}

// ---- uploads ----

const form = document.getElementById('upload-form');
const fileInput = document.getElementById('upload-file');
const nameInput = document.getElementById('upload-name');
const startButton = document.getElementById('upload-start');
const cancelButton = document.getElementById('upload-cancel');
const progressRow = document.getElementById('upload-progress-row');
const progress = document.getElementById('upload-progress');
const percent = document.getElementById('upload-percent');
const speed = document.getElementById('upload-speed');
const status = document.getElementById('upload-status');
let inFlight = null;

fileInput.addEventListener('change', () => {
  const file = fileInput.files[0];
  if (file && !nameInput.value.trim()) nameInput.value = file.name.replace(/\.[^.]+$/, '');
  status.textContent = '';
});

function setStatus(message, kind = '') {
  status.textContent = message;
  status.className = `status ${kind}`;
}

/** Why this file cannot be uploaded, or null. Checked before any byte is sent. */
function refusal(file) {
  if (!file) return 'Choose a video file first.';
  if (!file.type.startsWith('video/')) return `“${file.name}” is not a video file.`;
  if (file.size === 0) return `“${file.name}” is empty.`;
  if (file.size > maxUpload) return `“${file.name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(maxUpload)}.`;
  return null;
}

/** PUTs the file to the presigned URL, reporting progress; resolves when stored. */
function put(grant, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    inFlight = xhr;
    const started = performance.now();
    xhr.open(grant.method, grant.url);
    for (const [name, value] of Object.entries(grant.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      const done = Math.round((event.loaded / event.total) * 100);
      progress.value = done;
      percent.textContent = `${done}%`;
      const seconds = (performance.now() - started) / 1000;
      if (seconds > 0) speed.textContent = formatSpeed(event.loaded / seconds);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress.value = 100;
        percent.textContent = '100%';
        resolve();
      } else {
        let message = `the store answered ${xhr.status}`;
        try { message = JSON.parse(xhr.responseText).error || message; } catch { /* not JSON */ }
        reject(new Error(message));
      }
    });
    xhr.addEventListener('error', () => reject(new Error('the connection failed')));
    xhr.addEventListener('abort', () => reject(new Error('cancelled')));
    xhr.send(file);
  });
}

async function waitUntilReady(id) {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const video = await api('GET', `/videos/${id}/info`);
    if (video.status === 'ready') return video;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('the video did not become ready in time');
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = fileInput.files[0];
  const problem = refusal(file);
  if (problem) {
    setStatus(problem, 'error');
    return;
  }
  const name = nameInput.value.trim() || file.name;
  startButton.disabled = true;
  cancelButton.hidden = false;
  progressRow.hidden = false;
  progress.value = 0;
  percent.textContent = '0%';
  speed.textContent = '';
  setStatus(`Uploading “${name}”…`);
  let video = null;
  try {
    video = await api('POST', `${userPath}/videos`, { name });
    const grant = await api('POST', `/upload/${video.id}`, { size: file.size, content_type: file.type });
    await put(grant, file);
    setStatus('Processing…');
    const ready = await waitUntilReady(video.id);
    list.prepend(renderVideo(ready));
    refreshEmptyState();
    setStatus(`Ready: “${ready.name}” is uploaded.`, 'ok');
    form.reset();
  } catch (e) {
    if (video && e.message === 'cancelled') {
      // Do not leave an empty, never-ready video behind.
      await api('DELETE', `${userPath}/videos/${video.id}`).catch(() => {});
      setStatus('Upload cancelled.');
    } else {
      setStatus(`Upload failed: ${e.message}`, 'error');
    }
  } finally {
    inFlight = null;
    startButton.disabled = false;
    cancelButton.hidden = true;
  }
});

cancelButton.addEventListener('click', () => inFlight?.abort());

loadVideos();
