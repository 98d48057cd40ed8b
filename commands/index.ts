/**
 * Every chat command, listed by hand (no folder scanning: hubot's loader broke on that repeatedly).
 * Adding a command: one file in commands/ and one line here. Order is the order of `help`.
 */
import type { Command } from '../src/command.js';
import help from './help.js';
import iam from './iam.js';
import karma from './karma.js';
import like from './like.js';
import lock from './lock.js';
import lockForce from './lock-force.js';
import locks from './locks.js';
import oncall from './oncall.js';
import status from './status.js';
import unlike from './unlike.js';
import unlock from './unlock.js';
import unlockForce from './unlock-force.js';
import whoami from './whoami.js';

export const commands: readonly Command[] = [help, status, locks, lock, unlock, lockForce, unlockForce, karma, like, unlike, oncall, whoami, iam];
