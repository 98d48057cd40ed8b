// The deploy log viewer: loads the stored log page by page from the JSON API, streams new lines over
// server-sent events (the browser resumes with Last-Event-ID after a drop), and draws only the rows in view,
// so a 100k-line log opens at once and scrolls smoothly. Lines are indexed by seq (1-based, gap-free).
import { AnsiUp } from './ansi_up.js';

history.scrollRestoration = 'manual';

const data = JSON.parse(document.getElementById('deploy-data').textContent);
const ROW = 20; // px; must match .log .l height in style.css
const OVERSCAN = 40;
const PAGE = 5000;

const logEl = document.getElementById('log');
const spacer = logEl.querySelector('.spacer');
const rowsEl = logEl.querySelector('.rows');
const filterEl = document.getElementById('host-filter');
const followEl = document.getElementById('follow');
const countEl = document.getElementById('count');
const liveEl = document.getElementById('live');

/** lines[seq - 1] = { seq, host, stream, text, at, html } (holes until loaded). */
const lines = [];
let maxSeq = data.lineCount;
let loaded = 0;
let filter = '';
/** With a filter: the seqs that match, in order; without: null (row i is seq i + 1). */
let view = null;
let highlighted = null;
let pendingTarget = null;
let programmaticScroll = false;
let renderQueued = false;

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.round(ms / 1000);
  const parts = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ]) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join('');
}

/** ANSI colours → HTML. A fresh converter per line: rows are drawn out of order, colour must not leak. */
function lineHtml(line) {
  if (line.html === undefined) {
    const au = new AnsiUp();
    au.use_classes = true; // escape_html stays on: markup in a log line is shown as text
    line.html = au.ansi_to_html(line.text);
  }
  return line.html;
}

const hostKey = (line) => (line.host === null ? data.botHost : line.host);
const matches = (line) => !filter || hostKey(line) === filter;

function rebuildView() {
  if (!filter) {
    view = null;
    return;
  }
  view = [];
  for (let i = 0; i < maxSeq; i++) {
    const line = lines[i];
    if (line && matches(line)) view.push(line.seq);
  }
}

const total = () => (view ? view.length : maxSeq);
const seqAt = (row) => (view ? view[row] : row + 1);
function rowOf(seq) {
  if (!view) return seq - 1;
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (view[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  return view[lo] === seq ? lo : -1;
}

function render() {
  renderQueued = false;
  const n = total();
  spacer.style.height = `${n * ROW}px`;
  if (followEl.checked && pendingTarget === null) scrollToRow(n - 1, 'end');
  const top = logEl.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(n, Math.ceil((top + logEl.clientHeight) / ROW) + OVERSCAN);
  let out = '';
  for (let row = first; row < last; row++) {
    const seq = seqAt(row);
    const line = lines[seq - 1];
    if (!line) {
      out += `<div class="l pending" data-seq="${seq}"><a class="n" href="#L${seq}">${seq}</a><span class="t">…</span></div>`;
      continue;
    }
    const cls = `l ${line.stream}${seq === highlighted ? ' hl' : ''}`;
    const host = line.host === null ? '<span class="h bot">shepherd</span>' : `<span class="h">${escapeHtml(line.host)}</span>`;
    out += `<div class="${cls}" id="L${seq}" data-seq="${seq}"><a class="n" href="#L${seq}">${seq}</a>${host}<span class="t">${lineHtml(line)}</span></div>`;
  }
  rowsEl.style.transform = `translateY(${first * ROW}px)`;
  rowsEl.innerHTML = out;
  countEl.textContent = view ? `${view.length} of ${maxSeq} lines` : `${maxSeq} lines${loaded < data.lineCount ? ` (loading ${loaded})` : ''}`;
}

function queueRender() {
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(render);
  }
}

function scrollToRow(row, where) {
  if (row < 0) return;
  // The spacer may still have the height of the previous filter; the browser would clamp scrollTop to it.
  spacer.style.height = `${total() * ROW}px`;
  const target = where === 'end' ? row * ROW + ROW - logEl.clientHeight : row * ROW - logEl.clientHeight / 2 + ROW / 2;
  const top = Math.max(0, Math.min(target, total() * ROW - logEl.clientHeight));
  if (Math.abs(logEl.scrollTop - top) < 1) return;
  programmaticScroll = true;
  logEl.scrollTop = top;
}

logEl.addEventListener('scroll', () => {
  if (programmaticScroll) {
    programmaticScroll = false;
  } else {
    // The reader scrolled: follow only while they stay at the bottom.
    followEl.checked = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - ROW;
  }
  queueRender();
});
window.addEventListener('resize', queueRender);
followEl.addEventListener('change', queueRender);

function add(line) {
  if (lines[line.seq - 1]) return false;
  lines[line.seq - 1] = line;
  if (line.seq > maxSeq) maxSeq = line.seq;
  return true;
}

/** #L123: show that line (clearing a filter that hides it), centre and highlight it. */
function goToHash() {
  const m = /^#L(\d+)$/.exec(location.hash);
  if (!m) return;
  const seq = Number(m[1]);
  followEl.checked = false;
  highlighted = seq;
  const line = lines[seq - 1];
  if (!line) {
    pendingTarget = seq;
    queueRender();
    return;
  }
  pendingTarget = null;
  if (!matches(line)) setFilter('');
  scrollToRow(rowOf(seq), 'center');
  // The browser's own jump to the #L element scrolls the whole page; keep the page still, the log scrolls.
  requestAnimationFrame(() => {
    const card = logEl.closest('.log-card');
    window.scrollTo({ top: Math.max(0, card.offsetTop + card.offsetHeight - window.innerHeight + 16) });
  });
  queueRender();
}
window.addEventListener('hashchange', goToHash);

function setFilter(value) {
  filter = value;
  filterEl.value = value;
  const url = new URL(location.href);
  if (value) url.searchParams.set('host', value);
  else url.searchParams.delete('host');
  history.replaceState(null, '', url);
  rebuildView();
  if (highlighted !== null && rowOf(highlighted) >= 0 && !followEl.checked) scrollToRow(rowOf(highlighted), 'center');
  queueRender();
}
filterEl.addEventListener('change', () => setFilter(filterEl.value));

/** The stored log, page by page, in the background (rows not yet loaded show as "…"). */
async function loadHistory() {
  let after = 0;
  while (after < data.lineCount) {
    const res = await fetch(`/api/deploys/${data.id}/lines?after=${after}&limit=${PAGE}`);
    if (!res.ok) throw new Error(`log page failed: ${res.status}`);
    const page = await res.json();
    for (const line of page.lines) add(line);
    loaded += page.lines.length;
    if (page.lines.length) after = page.lines[page.lines.length - 1].seq;
    if (page.next === null) break;
    if (filter) rebuildView();
    if (pendingTarget !== null && lines[pendingTarget - 1]) goToHash();
    queueRender();
  }
  loaded = data.lineCount;
  if (filter) rebuildView();
  if (pendingTarget !== null) goToHash();
  queueRender();
}

function badge(state) {
  return `<span class="badge s-${state.replace(/[^a-z_]/g, '')}">${escapeHtml(state.replace('_', ' '))}</span>`;
}

let refreshQueued = null;
/** State, durations and hosts from the API after a state or host event (debounced). */
function refreshDetails() {
  clearTimeout(refreshQueued);
  refreshQueued = setTimeout(async () => {
    const res = await fetch(`/api/deploys/${data.id}`);
    if (!res.ok) return;
    const d = await res.json();
    document.getElementById('state').innerHTML = badge(d.state);
    document.getElementById('took').textContent =
      d.durationMs === null ? '—' : `${formatDuration(d.durationMs)}${d.state === 'running' || d.state === 'queued' ? ' so far' : ''}`;
    const err = document.getElementById('deploy-error');
    err.textContent = d.error ?? '';
    err.hidden = !d.error;
    const body = document.querySelector('#hosts tbody');
    if (body) {
      body.innerHTML = d.hosts
        .map(
          (h) =>
            `<tr data-host="${escapeHtml(h.host)}"><td><code>${h.user ? `${escapeHtml(h.user)}@` : ''}${escapeHtml(h.host)}${h.port !== 22 ? `:${h.port}` : ''}</code></td><td>${h.stage}</td><td class="host-state">${badge(h.state)}</td><td class="num host-took">${h.durationMs === null ? '—' : formatDuration(h.durationMs)}</td><td class="host-error">${escapeHtml(h.error ?? '')}</td></tr>`,
        )
        .join('');
    }
    const known = new Set([...filterEl.options].map((o) => o.value));
    for (const h of d.hosts) {
      if (known.has(h.host)) continue;
      const option = new Option(h.host, h.host);
      filterEl.insertBefore(option, filterEl.querySelector(`option[value="${data.botHost}"]`));
    }
  }, 150);
}

/** Live lines from the line after what the page was rendered with; reconnects resume by themselves. */
function stream() {
  const events = new EventSource(`/deploys/${data.id}/events?after=${data.lineCount}`);
  events.addEventListener('open', () => {
    liveEl.hidden = false;
  });
  events.addEventListener('line', (e) => {
    const line = JSON.parse(e.data);
    if (!add(line)) return;
    if (view && matches(line)) view.push(line.seq);
    if (pendingTarget === line.seq) goToHash();
    queueRender();
  });
  events.addEventListener('state', (e) => {
    const { state } = JSON.parse(e.data);
    document.getElementById('state').innerHTML = badge(state);
    refreshDetails();
  });
  events.addEventListener('host', refreshDetails);
  events.addEventListener('end', () => {
    events.close();
    liveEl.hidden = true;
    refreshDetails();
  });
  events.addEventListener('error', () => {
    liveEl.hidden = true;
  });
}

const initialHost = new URL(location.href).searchParams.get('host');
if (initialHost && [...filterEl.options].some((o) => o.value === initialHost)) setFilter(initialHost);
if (/^#L\d+$/.test(location.hash)) goToHash();
render();
stream();
loadHistory().catch((err) => {
  countEl.textContent = `could not load the log: ${err.message}`;
});
