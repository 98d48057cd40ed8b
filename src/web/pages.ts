/**
 * The two HTML pages: the dashboard (`/`) and one deploy (`/deploys/:id`). Server-rendered with escaped
 * templates; the deploy page's log is drawn by /static/viewer.js from the JSON API and the event stream.
 *
 *   reply.type('text/html').send(deployPage(detail, now));
 */
import { formatDuration } from '../duration.js';
import { ago } from '../format.js';
import { barChart } from './charts.js';
import type { DoraGroup, DoraReport } from './dora.js';
import { type Html, html, jsonForScript, layout } from './html.js';
import type { PolicyBoard } from './policy-board.js';
import { environmentsSection, freezesSection } from './policy-pages.js';
import type { PushBoard } from './push-board.js';
import { BOT_HOST, type DeployDetail, type DeploySummary, isActive, type LockRow, type OnCallRow } from './read-model.js';

export interface DashboardData {
  now: Date;
  active: DeploySummary[];
  recent: DeploySummary[];
  locks: LockRow[];
  oncall: OnCallRow[];
  /** undefined: no push workflow registered; null: none open. */
  push: PushBoard | null | undefined;
  metrics: DoraReport;
  /** Freezes and environments (URLs, promotion order); absent when the server has no config. */
  policy?: PolicyBoard | undefined;
}

function time(at: Date | null | undefined, now: Date): Html {
  if (!at) return html`<span class="muted">—</span>`;
  return html`<time datetime="${at.toISOString()}" title="${at.toISOString()}">${ago(at, now)}</time>`;
}

function duration(ms: number | null): string {
  return ms === null ? '—' : formatDuration(ms);
}

export function stateBadge(state: string): Html {
  return html`<span class="badge s-${state.replace(/[^a-z_]/g, '')}">${state.replace('_', ' ')}</span>`;
}

function deployLink(d: Pick<DeploySummary, 'id'>): Html {
  return html`<a href="/deploys/${d.id}">#${d.id}</a>`;
}

function deployRows(deploys: DeploySummary[], now: Date): Html {
  return html`${deploys.map(
    (d) => html`<tr>
<td>${deployLink(d)}</td><td>${stateBadge(d.state)}</td><td><b>${d.app}</b> → ${d.environment}${d.kind === 'rollback' ? html` <span class="tag">rollback</span>` : ''}</td>
<td><code title="${d.sha}">${d.ref}@${d.sha.slice(0, 8)}</code></td><td>${d.requester}</td><td>${time(d.createdAt, now)}</td><td class="num">${duration(d.durationMs)}</td><td class="num">${d.hostCount}</td>
</tr>`,
  )}`;
}

function deployTable(deploys: DeploySummary[], now: Date, empty: string): Html {
  if (deploys.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="grid"><thead><tr><th>id</th><th>state</th><th>app → env</th><th>ref</th><th>by</th><th>asked</th><th class="num">took</th><th class="num">hosts</th></tr></thead>
<tbody>${deployRows(deploys, now)}</tbody></table>`;
}

function pushSection(push: PushBoard | null | undefined, now: Date): Html {
  // The push workflow fills this through services.push.board(); see push-board.ts.
  if (!push) return html`<section class="card" id="push"><h2>Push</h2><p class="empty">no push open</p></section>`;
  const confirmed = push.picks.filter((p) => p.confirmed).length;
  return html`<section class="card" id="push"><h2>Push <code>${push.branch}</code> ${stateBadge(push.state)}</h2>
<p class="meta">${push.manager ? html`run by ${push.manager} · ` : ''}${push.startedAt ? html`started ${time(push.startedAt, now)} · ` : ''}${confirmed}/${push.picks.length} authors confirmed${push.confirmDeadline ? html` · confirmations close ${time(push.confirmDeadline, now)}` : ''}</p>
${
  push.picks.length === 0
    ? html`<p class="empty">no picks requested yet</p>`
    : html`<table class="grid"><thead><tr><th>pick</th><th>change</th><th>author</th><th>karma</th><th class="num">risk</th><th class="num">lines</th><th class="num">comments</th><th>state</th><th>here?</th></tr></thead><tbody>
${push.picks.map(
  (
    p,
  ) => html`<tr class="${p.risky ? 'risky' : ''}"><td>${p.id}</td><td>${p.title}${p.risky ? html` <span class="tag bad">risky</span>` : ''}</td><td>${p.author}</td>
<td class="stars" title="${p.stars ?? 'unknown'}/5">${p.stars === null ? '?' : '★'.repeat(p.stars) + '☆'.repeat(Math.max(0, 5 - p.stars))}</td>
<td class="num risk" title="${p.riskReasons?.join(', ') ?? ''}">${p.risk === null || p.risk === undefined ? '?' : `${p.risk}/100`}</td>
<td class="num">${p.lines ?? '?'}</td><td class="num">${p.comments ?? '?'}</td><td>${stateBadge(p.state)}</td><td>${p.confirmed ? html`<span class="ok">✔ confirmed</span>` : html`<span class="warn">waiting</span>`}</td></tr>`,
)}</tbody></table>`
}${pushTallies(push.pushes)}</section>`;
}

/** Per push: picks requested / approved / conflicted / shipped (push-board.ts fills it). */
function pushTallies(pushes: PushBoard['pushes']): Html {
  if (!pushes?.length) return html``;
  return html`<table class="grid" id="push-tallies"><thead><tr><th>push</th><th>state</th><th class="num">requested</th><th class="num">approved</th><th class="num">conflicted</th><th class="num">shipped</th></tr></thead><tbody>
${pushes.map((p) => html`<tr><td>${p.name}</td><td>${stateBadge(p.state)}</td><td class="num">${p.requested}</td><td class="num">${p.approved}</td><td class="num">${p.conflicted}</td><td class="num">${p.shipped}</td></tr>`)}</tbody></table>`;
}

function locksSection(locks: LockRow[], now: Date): Html {
  return html`<section class="card" id="locks"><h2>Locks</h2>${
    locks.length === 0
      ? html`<p class="empty">no environment is locked</p>`
      : html`<table class="grid"><thead><tr><th>what</th><th>who</th><th>why</th><th>since</th></tr></thead><tbody>${locks.map(
          (l) =>
            html`<tr><td>${l.app === '*' ? html`<b>${l.environment}</b> (all apps)` : html`<b>${l.app}</b>/${l.environment}`}</td><td>${l.holder}${l.deployId ? html` (deploy ${deployLink({ id: l.deployId })})` : ''}</td><td>${l.reason ?? html`<span class="muted">—</span>`}</td><td>${time(l.since, now)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function oncallSection(rows: OnCallRow[], now: Date): Html {
  return html`<section class="card" id="oncall"><h2>On call now</h2>${
    rows.length === 0
      ? html`<p class="empty">nobody set — a release manager can <code>oncall set &lt;team&gt; @user</code></p>`
      : html`<table class="grid"><thead><tr><th>team</th><th>now</th><th>next</th></tr></thead><tbody>${rows.map(
          (r) =>
            html`<tr><td><b>${r.team}</b></td><td>${r.now ? html`${r.now.name}${r.now.kind === 'override' ? html` <span class="tag">override</span>` : ''}${r.now.until ? html` <span class="muted">until ${time(r.now.until, now)}</span>` : ''}` : html`<span class="warn">nobody</span>`}</td><td>${r.next ? html`${r.next.name} <span class="muted">from ${time(r.next.from, now)}</span>` : html`<span class="muted">—</span>`}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

function figure(label: string, value: string, sub: string, chart: Html): Html {
  return html`<div class="figure"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div>${chart}</div>`;
}

function doraGroup(g: DoraGroup, now: Date): Html {
  const labels = g.weeks.map((w) => w.start.toISOString().slice(5, 10));
  const freq = g.deploysPerDay >= 1 ? `${g.deploysPerDay.toFixed(1)}/day` : `${(g.deploysPerDay * 7).toFixed(1)}/week`;
  const leadSub =
    g.leadTime.count === 0
      ? 'no successful deploy'
      : g.leadTime.fromCommit === g.leadTime.count
        ? `median of ${g.leadTime.count}, from commit`
        : `median of ${g.leadTime.count}; ${g.leadTime.count - g.leadTime.fromCommit} from request (commit time unknown)`;
  return html`<div class="dora card"><h3>${g.app} → ${g.environment}</h3><div class="figures">
${figure('Deploy frequency', freq, `${g.deploys} successful in ${g.weeks.length} weeks`, barChart({ title: `${g.app}/${g.environment}: successful deploys per week`, values: g.weeks.map((w) => w.deploys), labels, format: String, tone: 'good' }))}
${figure('Lead time for changes', g.leadTime.medianMs === null ? '—' : formatDuration(g.leadTime.medianMs), leadSub, barChart({ title: `${g.app}/${g.environment}: median lead time per week`, values: g.weeks.map((w) => w.leadTimeMs), labels, format: formatDuration }))}
${figure(
  'Change failure rate',
  g.changeFailure.rate === null ? '—' : pct(g.changeFailure.rate),
  `${g.changeFailure.failed} of ${g.changeFailure.total} changes failed or rolled back`,
  barChart({
    title: `${g.app}/${g.environment}: change failure rate per week`,
    values: g.weeks.map((w) => (w.total ? w.failed / w.total : null)),
    labels,
    format: pct,
    tone: 'bad',
  }),
)}
${figure(
  'Time to restore',
  g.timeToRestore.medianMs === null ? '—' : formatDuration(g.timeToRestore.medianMs),
  g.timeToRestore.openSince
    ? `failing since ${ago(g.timeToRestore.openSince, now)}`
    : `median of ${g.timeToRestore.count} incident${g.timeToRestore.count === 1 ? '' : 's'}`,
  barChart({
    title: `${g.app}/${g.environment}: median time to restore per week`,
    values: g.weeks.map((w) => w.restoreMs),
    labels,
    format: formatDuration,
    tone: 'bad',
  }),
)}
</div></div>`;
}

function metricsSection(report: DoraReport, now: Date): Html {
  return html`<section id="metrics"><h2>DORA metrics <span class="muted small">last ${report.days} days, per week</span></h2>
${report.groups.length === 0 ? html`<p class="empty card">no finished deploys in the last ${report.days} days</p>` : report.groups.map((g) => doraGroup(g, now))}
<p class="note">Deploy frequency counts successful deploys (rollbacks ship no change). Lead time runs from the commit time when the deploy knew it (GitHub), else from the deploy request. A change failed when its deploy failed or it was rolled back before the next successful deploy; cancelled and interrupted deploys are left out. Time to restore runs from the failure (failed deploy, or the rolled-back change going live) to the next successful deploy or rollback.</p>
</section>`;
}

export function dashboardPage(d: DashboardData): string {
  const body = html`<h1>Dashboard</h1>
<section class="card" id="running"><h2>Running</h2>${deployTable(d.active, d.now, 'nothing is deploying right now')}</section>
${d.policy ? html`<div class="two">${freezesSection(d.policy, d.now)}${environmentsSection(d.policy)}</div>` : ''}
${pushSection(d.push, d.now)}
<div class="two">${locksSection(d.locks, d.now)}${oncallSection(d.oncall, d.now)}</div>
${metricsSection(d.metrics, d.now)}
<section class="card" id="recent"><h2>Recent deploys</h2>${deployTable(d.recent, d.now, 'no deploys yet — try `deploy demo` in chat')}</section>`;
  return layout({ title: 'Dashboard', body, scripts: ['dashboard.js'] });
}

export function deployPage(d: DeployDetail, now: Date): string {
  const hostNames = d.hosts.map((h) => h.host);
  const data = { id: d.id, state: d.state, active: isActive(d.state), lineCount: d.lineCount, hosts: hostNames, botHost: BOT_HOST };
  const body = html`<div class="deploy-head">
<h1>Deploy #${d.id} <span class="what"><b>${d.app}</b>/${d.ref} → ${d.environment}</span> <span id="state">${stateBadge(d.state)}</span></h1>
<dl class="meta">
<dt>sha</dt><dd><code title="${d.sha}">${d.sha.slice(0, 12)}</code>${d.previousSha ? html` <span class="muted">(was <code title="${d.previousSha}">${d.previousSha.slice(0, 12)}</code>)</span>` : ''}</dd>
<dt>by</dt><dd>${d.requester}${d.kind === 'rollback' ? html` <span class="tag">rollback</span>` : ''}</dd>
<dt>asked</dt><dd>${time(d.createdAt, now)}</dd>
${d.approvalsNeeded > 0 ? html`<dt>approved by</dt><dd id="approved-by">${d.approvedBy.length ? d.approvedBy.join(', ') : 'nobody yet'} <span class="muted">(${d.approvedBy.length}/${d.approvalsNeeded})</span></dd>` : ''}
<dt>took</dt><dd id="took">${duration(d.durationMs)}${isActive(d.state) ? ' so far' : ''}</dd>
<dt>release</dt><dd><code>${d.releaseId}</code></dd>
</dl>
${d.error ? html`<p class="error" id="deploy-error">${d.error}</p>` : html`<p class="error" id="deploy-error" hidden></p>`}
${d.githubNotUpdated ? html`<p class="error" id="github-not-updated">GitHub not updated: it refused this deploy's final status</p>` : ''}
</div>
<section class="card"><h2>Hosts</h2>${
    d.hosts.length === 0
      ? html`<p class="empty">no hosts yet</p>`
      : html`<table class="grid" id="hosts"><thead><tr><th>host</th><th>stage</th><th>state</th><th class="num">took</th><th>error</th></tr></thead><tbody>${d.hosts.map(
          (h) =>
            html`<tr data-host="${h.host}"><td><code>${h.user ? `${h.user}@` : ''}${h.host}${h.port !== 22 ? `:${h.port}` : ''}</code></td><td>${h.stage}</td><td class="host-state">${stateBadge(h.state)}</td><td class="num host-took">${duration(h.durationMs)}</td><td class="host-error">${h.error ?? ''}</td></tr>`,
        )}</tbody></table>`
  }</section>
<section class="card log-card">
<div class="toolbar">
<h2>Log</h2>
<label>host <select id="host-filter"><option value="">all hosts</option>${hostNames.map((h) => html`<option value="${h}">${h}</option>`)}<option value="${BOT_HOST}">shepherd (bot)</option></select></label>
<label><input type="checkbox" id="follow" checked> follow</label>
<span id="count" class="muted">${d.lineCount} lines</span>
<span id="live" class="live" hidden>● live</span>
<a href="/deploys/${d.id}/raw" download="deploy-${d.id}.log">raw log</a>
</div>
<div id="log" class="log" tabindex="0" role="log" aria-label="deploy log"><div class="spacer"></div><div class="rows"></div></div>
<noscript><p>The log needs JavaScript; the <a href="/deploys/${d.id}/raw">raw log</a> does not.</p></noscript>
</section>
<script type="application/json" id="deploy-data">${jsonForScript(data)}</script>`;
  return layout({ title: `Deploy #${d.id} ${d.app} → ${d.environment}`, body, scripts: ['viewer.js'] });
}

export function notFoundPage(what: string): string {
  return layout({ title: 'Not found', body: html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the dashboard</a></p>` });
}
