// The comments panel of a video: newest first, "load more" by cursor, post with Enter,
// delete one's own comments (or any, on one's own video).

import { api, me, showError } from './api.js';
import { el, relativeTime } from './format.js';

const PAGE = 20;

/** Renders the panel into `container` for the video `videoId` owned by `ownerId`. */
export function mountComments(container, videoId, ownerId) {
  container.replaceChildren();
  const heading = el('h2', 'comments-title', 'Comments');
  const form = el('form', 'comment-form');
  const label = el('label', 'visually-hidden', 'Add a comment');
  label.htmlFor = `comment-input-${videoId}`;
  const input = el('textarea', 'comment-input');
  input.id = label.htmlFor;
  input.rows = 2;
  input.maxLength = 2000;
  input.placeholder = 'Add a comment — Enter to post, Shift+Enter for a new line';
  const post = el('button', 'button primary', 'Post');
  post.type = 'submit';
  const error = el('p', 'error');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  form.append(label, input, post);
  const list = el('ul', 'comment-list');
  const empty = el('p', 'empty', 'No comments yet — be the first.');
  empty.hidden = true;
  const more = el('button', 'button ghost', 'Load more comments');
  more.type = 'button';
  more.hidden = true;
  container.append(heading, form, error, empty, list, more);

  let cursor = null;

  const render = (comment) => {
    const item = el('li', 'comment');
    item.dataset.id = comment.id;
    const head = el('div', 'comment-head');
    head.append(el('strong', 'comment-author', comment.author));
    const time = el('time', 'muted', relativeTime(comment.time));
    time.dateTime = comment.time;
    time.title = new Date(comment.time).toLocaleString();
    head.append(time);
    if (me && (comment.author_id === me.id || ownerId === me.id)) {
      const remove = el('button', 'link-button', 'Delete');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Delete comment by ${comment.author}`);
      remove.addEventListener('click', async () => {
        remove.disabled = true;
        try {
          await api('DELETE', `/videos/${videoId}/comments/${comment.id}`);
          item.remove();
          empty.hidden = list.children.length > 0;
        } catch (e) {
          remove.disabled = false;
          showError(error, e.message);
        }
      });
      head.append(remove);
    }
    item.append(head, el('p', 'comment-content', comment.content));
    return item;
  };

  const load = async () => {
    more.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) query.set('cursor', cursor);
      const page = await api('GET', `/videos/${videoId}/comments?${query}`);
      list.append(...page.comments.map(render));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
      showError(error, '');
    } catch (e) {
      showError(error, `Could not load comments: ${e.message}`);
    } finally {
      more.disabled = false;
    }
  };

  const submit = async () => {
    const content = input.value.trim();
    if (!content) return;
    post.disabled = true;
    try {
      const comment = await api('POST', `/videos/${videoId}/comments`, { content });
      list.prepend(render(comment));
      input.value = '';
      empty.hidden = true;
      showError(error, '');
    } catch (e) {
      showError(error, e.message);
    } finally {
      post.disabled = false;
      input.focus();
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  more.addEventListener('click', load);
  load();
}
