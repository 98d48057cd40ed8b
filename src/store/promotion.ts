/**
 * Promotion order in the database: did a SHA succeed in an environment, which SHA did last, and where a SHA
 * has been. "Succeeded" is the deploy's final state, reached only after the validation window when the
 * environment validates; a deploy whose validation was cancelled (release kept, `validation: cancelled`)
 * succeeded without passing it and does not count. So "passed there" is: succeeded, validation passed or none.
 *
 *   const ok = await promotion.passed('web', 'staging', sha);    // { id, sha, finishedAt } | null
 *   const last = await promotion.lastPassed('web', 'staging');   // the newest SHA that did
 */
import type { Db } from './db.js';

export interface PassedDeploy {
  id: number;
  app: string;
  environment: string;
  sha: string;
  finishedAt: Date | null;
}

/** Succeeded, and passed its validation window when its environment had one. */
const PASSED = { state: 'succeeded', OR: [{ validation: null }, { validation: 'passed' }] };

const select = { id: true, app: true, environment: true, sha: true, finishedAt: true } as const;

/** A full SHA is matched exactly; a shorter hex prefix (at least 7) by prefix. */
function shaWhere(sha: string) {
  const s = sha.toLowerCase();
  return s.length >= 40 ? { sha: s } : { sha: { startsWith: s } };
}

export class Promotion {
  constructor(private readonly db: Db) {}

  /** The newest deploy of `sha` that succeeded in app/environment, or null. */
  async passed(app: string, environment: string, sha: string): Promise<PassedDeploy | null> {
    return this.db.deploy.findFirst({ where: { app, environment, ...PASSED, ...shaWhere(sha) }, orderBy: { id: 'desc' }, select });
  }

  /** The newest deploy that succeeded in app/environment (its SHA is "the last that did"), or null. */
  async lastPassed(app: string, environment: string): Promise<PassedDeploy | null> {
    return this.db.deploy.findFirst({ where: { app, environment, ...PASSED }, orderBy: { id: 'desc' }, select });
  }

  /** Every environment (of any app) where `sha` succeeded: the first success per app/environment, oldest first. */
  async reached(sha: string): Promise<PassedDeploy[]> {
    const rows = await this.db.deploy.findMany({ where: { ...PASSED, ...shaWhere(sha) }, orderBy: { id: 'asc' }, select });
    const seen = new Set<string>();
    return rows.filter((r) => {
      const key = `${r.app}\0${r.environment}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
}
