// The API client every page uses. The session id comes from a meta tag rendered by the
// server (the cookie is HttpOnly and never read here) and is sent as X-Session-Id, which
// the API requires for every state-changing request.

const sessionMeta = document.querySelector('meta[name="reel-session"]');
const userMeta = document.querySelector('meta[name="reel-user"]');

/** The signed-in user, or null on the sign-in page. */
export const me = userMeta ? { name: userMeta.content, id: userMeta.dataset.id } : null;

/** An error reply of the API, in its envelope. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; resolves with the parsed JSON (or null for 204), rejects with ApiError. */
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
    throw new ApiError(response.status, data?.error_code ?? 'unknown', data?.error ?? `Request failed (${response.status})`);
  }
  return data;
}

/** Shows `message` in an error element (or hides it when empty). */
export function showError(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

// Every signed-in page has the sign-out button in its header.
document.getElementById('sign-out')?.addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api('DELETE', `/user/${encodeURIComponent(me.name)}/session`);
  } catch {
    // Even if the server already forgot the session, leave the page.
  }
  location.assign('/');
});
