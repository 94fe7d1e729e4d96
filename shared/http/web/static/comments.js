// The comments panel of a video, shared by the user home and the watch page: newest
// first, "load more" by cursor, post with Enter (Shift+Enter for a new line), delete
// one's own comments — or any comment, on one's own video (the server checks the same).

import { api, me, showError } from './api.js';
import { absoluteTime, el, relativeTime } from './format.js';

const PAGE = 20;
const MAX_LENGTH = 2000;

// "just now" should not stay "just now" for an hour: refresh every relative time shown.
setInterval(() => {
  for (const time of document.querySelectorAll('.comment time[datetime]')) {
    time.textContent = relativeTime(time.dateTime);
  }
}, 30_000);

/**
 * Renders the panel into `container` (replacing what was there) for video `videoId`,
 * owned by the user with id `ownerId`.
 */
export function mountComments(container, videoId, ownerId) {
  container.replaceChildren();
  const base = `/videos/${encodeURIComponent(videoId)}/comments`;
  const mayModerate = Boolean(me) && ownerId === me.id;

  const heading = el('h2', 'comments-title', 'Comments');
  const form = el('form', 'comment-form');
  const label = el('label', 'visually-hidden', 'Add a comment');
  label.htmlFor = `comment-input-${videoId}`;
  const input = el('textarea', 'comment-input');
  input.id = label.htmlFor;
  input.name = 'content';
  input.rows = 2;
  input.maxLength = MAX_LENGTH;
  input.placeholder = 'Add a comment — Enter to post, Shift+Enter for a new line';
  const post = el('button', 'button primary', 'Post');
  post.type = 'submit';
  form.append(label, input, post);
  // Signed out (a public or unlisted video): the comments are read-only.
  let signIn = null;
  if (!me) {
    form.hidden = true;
    signIn = el('p', 'muted sign-in-to-comment');
    const link = el('a', '', 'Sign in to comment');
    link.href = `/?next=${encodeURIComponent(location.pathname)}`;
    signIn.append(link);
  }
  const error = el('p', 'error');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const loading = el('p', 'muted loading', 'Loading comments…');
  const empty = el('p', 'empty', me ? 'No comments yet — be the first.' : 'No comments yet.');
  empty.hidden = true;
  const list = el('ul', 'comment-list');
  list.setAttribute('aria-live', 'polite');
  const more = el('button', 'button ghost more', 'Load more comments');
  more.type = 'button';
  more.hidden = true;
  container.append(heading, signIn ?? form, error, loading, empty, list, more);

  let cursor = null;

  const refreshEmpty = () => {
    empty.hidden = list.children.length > 0;
  };

  const render = (comment) => {
    const item = el('li', 'comment');
    item.dataset.id = comment.id;
    const head = el('div', 'comment-head');
    head.append(el('strong', 'comment-author', comment.author));
    const time = el('time', 'muted', relativeTime(comment.time));
    time.dateTime = comment.time;
    time.title = absoluteTime(comment.time);
    head.append(time);
    if (me && (comment.author_id === me.id || mayModerate)) {
      const remove = el('button', 'link-button', 'Delete');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Delete comment by ${comment.author}`);
      remove.addEventListener('click', async () => {
        remove.disabled = true;
        try {
          await api('DELETE', `${base}/${encodeURIComponent(comment.id)}`);
          item.remove();
          refreshEmpty();
          showError(error, '');
        } catch (e) {
          // Already gone (someone else deleted it): the list should not show it either.
          if (e.status === 404) {
            item.remove();
            refreshEmpty();
          } else {
            remove.disabled = false;
            showError(error, `Could not delete the comment: ${e.message}`);
          }
        }
      });
      head.append(remove);
    }
    // Text only, line breaks kept by CSS (white-space: pre-wrap).
    item.append(head, el('p', 'comment-content', comment.content));
    return item;
  };

  const has = (id) => [...list.children].some((item) => item.dataset.id === id);

  const load = async () => {
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) query.set('cursor', cursor);
      const page = await api('GET', `${base}?${query}`);
      // Comments posted here since the first page may come again on a later page.
      list.append(...page.comments.filter((c) => !has(c.id)).map(render));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      showError(error, '');
    } catch (e) {
      showError(error, `Could not load the comments: ${e.message}`);
    } finally {
      loading.hidden = true;
      more.disabled = false;
      more.textContent = 'Load more comments';
      refreshEmpty();
    }
  };

  const submit = async () => {
    const content = input.value.trim();
    if (!content) {
      showError(error, 'Write something first.');
      return;
    }
    if (post.disabled) return; // one post at a time, even on a fast double Enter
    post.disabled = true;
    input.setAttribute('aria-busy', 'true');
    try {
      const comment = await api('POST', base, { content });
      list.prepend(render(comment));
      input.value = '';
      refreshEmpty();
      showError(error, '');
    } catch (e) {
      // The text stays in the box, so nothing typed is lost.
      showError(error, `Could not post the comment: ${e.message}`);
    } finally {
      post.disabled = false;
      input.removeAttribute('aria-busy');
      input.focus();
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (event) => {
    // isComposing: Enter that confirms an IME composition is not a "send".
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => showError(error, ''));
  more.addEventListener('click', load);
  load();
}
