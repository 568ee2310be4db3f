/**
 * The approval page itself: one HTML document, its style sheet and its
 * script, served as separate files so the Content-Security-Policy can forbid
 * every inline script, style and event handler. The script draws with
 * textContent only (arguments are the agent's words: never markup), keeps the
 * bearer token in sessionStorage (never in a URL the server sees), and reads
 * the server-sent events through fetch, which, unlike EventSource, can send
 * the Authorization header.
 */

/** Nothing but the page's own script, style and API; no framing, no forms posting anywhere, no referrer. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portcullis approvals</title>
<link rel="stylesheet" href="page.css">
<script src="page.js" defer></script>
</head>
<body>
<header>
<h1>Held calls</h1>
<p id="status" role="status">connecting</p>
<p id="who" hidden>Approving as <input id="approver" autocomplete="username" aria-label="approver name"> <span id="signed-in"></span> <button type="button" id="sign-out">Sign out</button></p>
</header>
<form id="login" hidden>
<p id="login-why"></p>
<label>Token <input type="password" id="token" autocomplete="off"></label>
<button type="submit">Sign in</button>
<p class="hint" id="login-hint"></p>
</form>
<main id="calls" aria-live="polite"></main>
<noscript>This page needs JavaScript; <code>portcullis approve</code> decides without it.</noscript>
</body>
</html>
`;

export const PAGE_CSS = `body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1b1b1b;background:#fafafa}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:1rem}
h1{font-size:1.4rem;margin:0}
#status{color:#555}
.call{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.call.focus{border-color:#0a58ca;box-shadow:0 0 0 2px #0a58ca33}
.call h2{font-size:1.1rem;margin:0 0 .4rem}
.call h2 .server{color:#555;font-weight:normal}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
dt{color:#555}
dd{margin:0;overflow-wrap:anywhere}
code,pre{font:13px/1.35 ui-monospace,monospace}
pre{background:#f3f3f3;padding:.6rem;overflow:auto;max-height:24rem;margin:.4rem 0}
.actions{display:flex;gap:.6rem;align-items:center}
button{font:inherit;padding:.3rem .9rem;border-radius:4px;border:1px solid #888;background:#fff;cursor:pointer}
button.approve{background:#146c2e;border-color:#146c2e;color:#fff}
button.reject{background:#a61b1b;border-color:#a61b1b;color:#fff}
button:disabled{opacity:.5;cursor:default}
.result.error{color:#a61b1b}
.left.soon{color:#a61b1b;font-weight:bold}
.empty{color:#555}
.hint{color:#555;font-size:.9rem}
`;

export const PAGE_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'portcullis-approvals-token';
  const NAME = 'portcullis-approver';
  const s = { token: sessionStorage.getItem(KEY) || '', skew: 0, items: [], user: null, focus: '', generation: 0, results: new Map() };

  // #token=…&id=…: the token is taken out of the address at once (a fragment never reaches a server).
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    s.token = hash.get('token');
    sessionStorage.setItem(KEY, s.token);
  }
  // ?id= (the address an MCP client shows) or #id=: the call to show first.
  s.focus = hash.get('id') || new URLSearchParams(location.search).get('id') || '';
  if (location.hash) history.replaceState(null, '', location.pathname + location.search + (s.focus ? '#id=' + encodeURIComponent(s.focus) : ''));

  function headers(extra) {
    const h = Object.assign({ 'x-portcullis-page': '1' }, extra);
    if (s.token) h.authorization = 'Bearer ' + s.token;
    return h;
  }
  const status = (text) => { $('status').textContent = text; };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function left(expiresAt) {
    const ms = Date.parse(expiresAt) - (Date.now() + s.skew);
    if (ms <= 0) return ['expired', true];
    const t = Math.floor(ms / 1000);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    const text = (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + sec + ' s';
    return [text, ms < 60000];
  }

  function tick() {
    for (const span of document.querySelectorAll('.left')) {
      const [text, soon] = left(span.dataset.expires);
      span.textContent = text;
      span.classList.toggle('soon', soon);
    }
  }

  function row(dl, name, value, code) {
    dl.append(el('dt', '', name));
    const dd = el('dd');
    if (code) dd.append(el('code', '', value)); else dd.textContent = value;
    dl.append(dd);
    return dd;
  }

  function card(item) {
    const c = el('article', 'call');
    c.dataset.id = item.id;
    if (s.focus && (item.id === s.focus || item.requestId === s.focus)) c.classList.add('focus');
    const h = el('h2', '', item.tool + ' ');
    if (item.server) h.append(el('span', 'server', 'on ' + item.server));
    c.append(h, el('p', 'summary', item.summary));
    const dl = el('dl');
    const a = item.agent;
    const who = [a.namespace, a.pod].filter(Boolean).join('/');
    row(dl, 'Agent', (who || 'on this machine (no pod identity)') + (a.serviceAccount ? ' (service account ' + a.serviceAccount + ')' : ''));
    row(dl, 'Reason', item.reason || '(none given)');
    row(dl, 'Approvers', item.approvers.length ? item.approvers.join(', ') : 'anyone allowed');
    row(dl, 'Policy digest', item.policyDigest || 'unknown', true);
    row(dl, 'Input hash', item.inputHash, true);
    const l = el('span', 'left');
    l.dataset.expires = item.expiresAt;
    row(dl, 'Time left', '').append(l);
    row(dl, 'Approval', item.id, true);
    c.append(dl, el('h3', '', 'Arguments'), el('pre', 'args', JSON.stringify(item.arguments, null, 2)));
    const actions = el('div', 'actions');
    const approve = el('button', 'approve', 'Approve');
    const reject = el('button', 'reject', 'Reject');
    approve.type = reject.type = 'button';
    const result = el('span', 'result');
    const prior = s.results.get(item.id + ' ' + item.inputHash);
    if (prior) {
      result.textContent = prior.text;
      result.classList.toggle('error', prior.error);
      approve.disabled = reject.disabled = prior.busy;
    }
    approve.addEventListener('click', () => decide(item, 'approved', [approve, reject], result));
    reject.addEventListener('click', () => decide(item, 'rejected', [approve, reject], result));
    actions.append(approve, reject, result);
    c.append(actions);
    return c;
  }

  function render() {
    const main = $('calls');
    main.replaceChildren();
    if (s.items.length === 0) main.append(el('p', 'empty', 'No held call waits for you.'));
    for (const item of s.items) main.append(card(item));
    tick();
    const f = s.focus && main.querySelector('.focus');
    if (f && !render.scrolled) { f.scrollIntoView(); render.scrolled = true; }
  }

  async function decide(item, verdict, buttons, result) {
    const key = item.id + ' ' + item.inputHash;
    const approver = $('approver').value.trim();
    if (s.user && s.user.choosesName && !approver) {
      result.textContent = 'give your approver name first';
      result.classList.add('error');
      return;
    }
    if (approver) localStorage.setItem(NAME, approver);
    for (const b of buttons) b.disabled = true;
    s.results.set(key, { text: 'sending…', error: false, busy: true });
    result.textContent = 'sending…';
    result.classList.remove('error');
    let text, error = false;
    try {
      const res = await fetch('decide', {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ id: item.id, verdict, inputHash: item.inputHash, approver }),
      });
      const body = await res.json().catch(() => ({}));
      if (res.ok) text = verdict === 'approved' ? 'approved' : 'rejected';
      else {
        error = true;
        text = (body.error && body.error.code ? body.error.code + ': ' : '') + (body.error && body.error.message ? body.error.message : 'HTTP ' + res.status);
      }
    } catch (e) {
      error = true;
      text = 'not sent: ' + e.message;
    }
    s.results.set(key, { text, error, busy: !error });
    result.textContent = text;
    result.classList.toggle('error', error);
    if (error) for (const b of buttons) b.disabled = false;
  }

  function onEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== 'approvals' || data.length === 0) return;
    const m = JSON.parse(data.join('\\n'));
    s.skew = Date.parse(m.now) - Date.now();
    s.items = m.approvals;
    s.user = m.user;
    showUser();
    status('live: ' + s.items.length + ' held');
    render();
  }

  function showUser() {
    $('who').hidden = false;
    const input = $('approver');
    input.hidden = !s.user.choosesName;
    if (s.user.choosesName && !input.value) input.value = localStorage.getItem(NAME) || s.user.name || '';
    $('signed-in').textContent = s.user.choosesName ? '' : 'Signed in as ' + s.user.name;
    $('sign-out').hidden = !s.token;
  }

  function askToken(why, hint) {
    s.generation++;
    $('calls').replaceChildren();
    $('who').hidden = true;
    $('login').hidden = false;
    $('login-why').textContent = why;
    $('login-hint').textContent = hint || '';
    status('signed out');
    $('token').focus();
  }

  async function connect() {
    const generation = ++s.generation;
    $('login').hidden = true;
    status('connecting');
    let res;
    try {
      res = await fetch('events', { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store' });
    } catch {
      return retry(generation);
    }
    if (generation !== s.generation) return res.body && res.body.cancel();
    if (res.status === 401 || res.status === 403) {
      const body = await res.json().catch(() => ({}));
      return askToken((body.error && body.error.message) || 'Sign in.', body.hint);
    }
    if (!res.ok || !res.body) return retry(generation);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || generation !== s.generation) break;
        buf += value.replace(/\\r\\n/g, '\\n');
        let i;
        while ((i = buf.indexOf('\\n\\n')) >= 0) {
          onEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch {
      // The stream broke: connect again below.
    }
    reader.cancel().catch(() => {});
    retry(generation);
  }

  function retry(generation) {
    if (generation !== s.generation) return;
    status('disconnected; reconnecting');
    setTimeout(() => { if (generation === s.generation) connect(); }, 2000);
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    s.token = $('token').value.trim();
    $('token').value = '';
    sessionStorage.setItem(KEY, s.token);
    connect();
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    s.token = '';
    askToken('Signed out.');
  });
  setInterval(tick, 1000);
  connect();
})();
`;
