/**
 * How freezes, promotion and the audit trail read in chat (status, `audit`), shaped in one place like
 * push/messages.ts.
 *
 *   auditLine(row, 'Europe/Berlin', 'irc') // '#41 12-01 17:03 alice: deploy web to production — refused: production is frozen …'
 */
import { who } from '../format.js';
import type { AuditRow } from '../store/audit.js';
import { formatClock, formatDateTime } from '../zoned-time.js';
import type { ActiveFreeze, UpcomingFreeze } from './freeze-window.js';
import { frozenText } from './freeze.js';

const OUTCOME: Record<string, string> = {
  ok: 'ok',
  refused: 'refused',
  error: 'error',
  unknown: 'unknown command',
  override: 'override',
  asked: 'asked',
  proceed: 'passed',
  waiting: 'waits',
  approved: 'approved',
  expired: 'expired',
};

/** One compact line per audit row: id, local time, who, what, how it ended and why. */
export function auditLine(row: AuditRow, zone: string, provider?: string): string {
  const at = formatDateTime(row.createdAt, zone).slice(5);
  const name = row.user ? who(row.user, provider) : row.identity || 'the bot';
  const detail = row.detail ? `: ${row.detail.split('\n')[0]!.slice(0, 160)}` : '';
  if (row.kind === 'gate') {
    const where = `${row.app ? `${row.app}/` : ''}${row.environment ?? '?'}${row.deployId ? ` #${row.deployId}` : ''}`;
    return `#${row.id} ${at} ${name}: ${row.command} ${where} — ${row.gate} gate ${OUTCOME[row.outcome] ?? row.outcome}${detail}`;
  }
  const text = row.text.length > 80 ? `${row.text.slice(0, 79)}…` : row.text;
  return `#${row.id} ${at} ${name}: ${text} — ${OUTCOME[row.outcome] ?? row.outcome}${row.outcome === 'ok' ? '' : detail}`;
}

/** '❄️ production is frozen until mon 08:00: weekend (shepherd.yml)'. */
export function activeFreezeLine(environment: string, freeze: ActiveFreeze, now: Date, zone: string): string {
  return `❄️ ${frozenText(environment, freeze, now, zone)}${freeze.source === 'config' ? ' (shepherd.yml)' : ''}`;
}

/** 'production: fri 16:00 → mon 08:00 weekend'. */
export function upcomingFreezeLine(freeze: UpcomingFreeze, now: Date, zone: string): string {
  return `${freeze.environments.join(', ')}: from ${formatClock(freeze.from, now, zone)} until ${formatClock(freeze.until, now, zone)} — ${freeze.reason}`;
}
