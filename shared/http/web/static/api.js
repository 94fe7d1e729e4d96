// The API client every page uses. The session id comes from a meta tag rendered by the
// server (the cookie is HttpOnly and never read here) and is sent as X-Session-Id: the
// API accepts the cookie alone only for GET/HEAD, as a CSRF defence.

import { el } from './format.js';

const sessionMeta = document.querySelector('meta[name="reel-session"]');
const userMeta = document.querySelector('meta[name="reel-user"]');

/** The signed-in user ({ name, id }), or null on the sign-in page. */
export const me = userMeta ? { name: userMeta.content, id: userMeta.dataset.id } : null;

/** An error reply of the API: HTTP status, `error_code` and the server's message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API with a JSON body (if any); resolves with the parsed JSON reply (null for
 * 204), rejects with an ApiError carrying the server's envelope.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (sessionMeta) headers['X-Session-Id'] = sessionMeta.content;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach Reel. Check your connection and try again.');
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    // A signed-in page whose session has ended: say so instead of the bare 401 text.
    const message = response.status === 401 && sessionMeta
      ? 'Your session has ended. Sign in again to continue.'
      : data?.error ?? `Request failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, data?.error_code ?? 'unknown', message);
  }
  return data;
}

/** Shows `message` in an error element, or hides the element when `message` is empty. */
export function showError(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

/** A short message in the corner of the page for failures that have no place of their own. */
export function toast(message) {
  let box = document.getElementById('toast');
  if (!box) {
    box = el('p', 'toast');
    box.id = 'toast';
    box.setAttribute('role', 'alert');
    document.body.append(box);
  }
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// Every signed-in page has the sign-out button in its header.
document.getElementById('sign-out')?.addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api('DELETE', `/user/${encodeURIComponent(me.name)}/session`);
  } catch (error) {
    // 401: the session was already gone, so the visitor is signed out anyway. Anything
    // else would leave the cookie valid and "/" would bounce back here: say so instead.
    if (error.status !== 401) {
      button.disabled = false;
      toast(`Could not sign out: ${error.message}`);
      return;
    }
  }
  location.assign('/');
});
