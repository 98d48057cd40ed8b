/**
 * The store: one object per aggregate over one Prisma client.
 *
 *   const store = createStore(prisma, { karmaInitial: 4, mask: (t) => masker.text(t) });
 */
import { Approvals } from './approvals.js';
import type { MaskText } from '../deploy/mask.js';
import { Audit } from './audit.js';
import { ChatQuestions } from './chat-questions.js';
import type { Db } from './db.js';
import { Deploys } from './deploys.js';
import { Freezes } from './freezes.js';
import { Karma } from './karma.js';
import { Locks } from './locks.js';
import { LogLines, type LogReader } from './log-lines.js';
import { OnCallStore } from './oncall.js';
import { Promotion } from './promotion.js';
import { PushStore } from './push.js';
import { Users } from './users.js';

export interface Store {
  db: Db;
  users: Users;
  karma: Karma;
  locks: Locks;
  oncall: OnCallStore;
  audit: Audit;
  push: PushStore;
  deploys: Deploys;
  freezes: Freezes;
  promotion: Promotion;
  approvals: Approvals;
  /** Yes/no questions of ctx.confirm, so an answer on any instance counts (chat-questions.ts). */
  questions: ChatQuestions;
  /** Deploy logs, read (written by a LineSink on a connection of its own, see log-lines.ts). */
  logs: LogReader;
}

/** `mask`: applied to error texts and audit rows as they are written (default: the rules without configured values). */
export function createStore(db: Db, options: { karmaInitial: number; mask?: MaskText }): Store {
  const audit = new Audit(db, options.mask);
  return {
    db,
    users: new Users(db),
    karma: new Karma(db, options.karmaInitial, options.mask),
    locks: new Locks(db, options.mask),
    oncall: new OnCallStore(db),
    audit,
    push: new PushStore(db),
    deploys: new Deploys(db, options.mask),
    freezes: new Freezes(db),
    promotion: new Promotion(db),
    approvals: new Approvals(db, audit),
    questions: new ChatQuestions(db),
    logs: new LogLines(db),
  };
}
