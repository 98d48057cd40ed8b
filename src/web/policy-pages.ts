/**
 * The policy parts of the viewer: the dashboard's freezes and environments sections, and the /audit page
 * with its filter form. Escaped templates like pages.ts.
 *
 *   reply.type('text/html').send(auditPage({ events, filter, now, next }));
 */
import { formatClock, formatDateTime } from '../zoned-time.js';
import { type Html, html, layout } from './html.js';
import type { AuditEventView, PolicyBoard } from './policy-board.js';

export function freezesSection(board: PolicyBoard, now: Date): Html {
  const zone = board.timezone;
  const { active, upcoming } = board.freezes;
  const rows = [
    ...active.map(
      (f) =>
        html`<tr class="frozen"><td><b>${f.environment}</b></td><td><span class="tag bad">frozen</span></td><td>${f.until ? formatClock(f.until, now, zone) : html`until <code>unfreeze ${f.environment}</code>`}</td><td>${f.reason}</td><td>${f.source === 'config' ? 'shepherd.yml' : (f.by ?? 'chat')}</td></tr>`,
    ),
    ...upcoming.map(
      (f) =>
        html`<tr><td><b>${f.environments.join(', ')}</b></td><td><span class="tag">from ${formatClock(f.from, now, zone)}</span></td><td>${formatClock(f.until, now, zone)}</td><td>${f.reason}</td><td>shepherd.yml</td></tr>`,
    ),
  ];
  return html`<section class="card" id="freezes"><h2>Freezes <span class="muted small">${zone}</span></h2>${
    rows.length === 0
      ? html`<p class="empty">no freeze now or in the coming week</p>`
      : html`<table class="grid"><thead><tr><th>environment</th><th>state</th><th>until</th><th>why</th><th>set by</th></tr></thead><tbody>${rows}</tbody></table>`
  }</section>`;
}

export function environmentsSection(board: PolicyBoard): Html {
  if (board.environments.length === 0) return html``;
  return html`<section class="card" id="environments"><h2>Environments</h2><table class="grid"><thead><tr><th>app → env</th><th>url</th><th>requires</th></tr></thead><tbody>${board.environments.map(
    (e) =>
      html`<tr><td><b>${e.app}</b> → ${e.environment}</td><td>${e.url ? html`<a href="${e.url}" rel="noreferrer">${e.url}</a>` : html`<span class="muted">—</span>`}</td><td>${e.requires ?? html`<span class="muted">—</span>`}</td></tr>`,
  )}</tbody></table></section>`;
}

export interface AuditPageData {
  events: AuditEventView[];
  filter: { user?: string | undefined; environment?: string | undefined; deploy?: number | undefined; outcome?: string | undefined };
  outcomes: readonly string[];
  timezone: string;
  /** Query string of the next (older) page, or null. */
  next: string | null;
  /** A filter that could not be applied ("nobody called @zed"). */
  problem?: string | undefined;
}

export function auditPage(d: AuditPageData): string {
  const f = d.filter;
  const body = html`<h1>Audit trail</h1>
<form class="card filters" method="get" action="/audit">
<label>user <input name="user" value="${f.user ?? ''}" placeholder="alice"></label>
<label>environment <input name="environment" value="${f.environment ?? ''}" placeholder="production"></label>
<label>deploy <input name="deploy" value="${f.deploy ?? ''}" inputmode="numeric" placeholder="42"></label>
<label>outcome <select name="outcome"><option value="">any</option>${d.outcomes.map((o) => html`<option value="${o}"${o === f.outcome ? html` selected` : ''}>${o}</option>`)}</select></label>
<button type="submit">filter</button> <a href="/audit">clear</a> <a href="/api/audit">JSON</a>
</form>
${d.problem ? html`<p class="error">${d.problem}</p>` : ''}
<section class="card"><h2>Newest first <span class="muted small">${d.timezone}</span></h2>${
    d.events.length === 0
      ? html`<p class="empty">nothing recorded${f.user || f.environment || f.deploy || f.outcome ? ' for this filter' : ''}</p>`
      : html`<table class="grid" id="audit"><thead><tr><th>#</th><th>when</th><th>who</th><th>what</th><th>where</th><th>outcome</th><th>detail</th></tr></thead><tbody>${d.events.map(
          (e) =>
            html`<tr class="audit-row k-${e.kind}" data-outcome="${e.outcome}"><td>${e.id}</td><td><time datetime="${e.at.toISOString()}">${formatDateTime(e.at, d.timezone)}</time></td><td>${e.user ?? e.identity}</td><td>${e.kind === 'gate' ? html`${e.command}: <b>${e.gate}</b> gate` : html`<code>${e.text}</code>`}</td><td>${e.app ? `${e.app}/` : ''}${e.environment ?? ''}${e.deployId ? html` <a href="/deploys/${e.deployId}">#${e.deployId}</a>` : ''}${e.kind === 'command' ? html`<span class="muted">${e.room}</span>` : ''}</td><td>${e.outcome}</td><td>${e.detail ?? ''}</td></tr>`,
        )}</tbody></table>`
  }${d.next ? html`<p><a href="/audit?${d.next}">older</a></p>` : ''}</section>`;
  return layout({ title: 'Audit trail', body });
}
