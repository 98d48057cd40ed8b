/**
 * Every chat command, listed by hand (no folder scanning: hubot's loader broke on that repeatedly).
 * Adding a command: one file in commands/ and one line here. Order is the order of `help`.
 */
import type { Command } from '../src/command.js';
import approve from './approve.js';
import audit from './audit.js';
import cancel from './cancel.js';
import cherryPick from './cherry-pick.js';
import deploy from './deploy.js';
import deploys from './deploys.js';
import freeze from './freeze.js';
import help from './help.js';
import here from './here.js';
import iam from './iam.js';
import karma from './karma.js';
import like from './like.js';
import lock from './lock.js';
import lockForce from './lock-force.js';
import locks from './locks.js';
import oncall from './oncall.js';
import picks from './picks.js';
import push from './push.js';
import reject from './reject.js';
import rollback from './rollback.js';
import status from './status.js';
import unfreeze from './unfreeze.js';
import unlike from './unlike.js';
import unlock from './unlock.js';
import unlockForce from './unlock-force.js';
import whoami from './whoami.js';

export const commands: readonly Command[] = [
  help,
  status,
  deploy,
  deploys,
  rollback,
  cancel,
  locks,
  lock,
  unlock,
  lockForce,
  unlockForce,
  freeze,
  unfreeze,
  cherryPick,
  picks,
  approve,
  reject,
  push,
  here,
  karma,
  like,
  unlike,
  oncall,
  whoami,
  iam,
  audit,
];
