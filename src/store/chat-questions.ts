/**
 * Yes/no questions a command asked (ctx.confirm), in the database so that an answer arriving on any instance
 * counts: Slack delivers each event (a typed `yes`, a click on Yes) to one of the app's connections, not
 * necessarily the asking instance's. Every way a question ends (an answer, its timeout, a newer question, a stop)
 * is one conditional write on `answer IS NULL`, so the first one wins on every instance and the others read it.
 *
 *   await questions.ask({ id, asker: 'slack:U1', room: 'C1', question: 'deploy?', instance: 'A', expiresAt });
 *   const r = await questions.answer('slack:U1', 'C1', 'yes', 'B'); // { kind: 'recorded', id, instance: 'A' }
 *   const final = await questions.settle(id, 'timeout', 'A');         // 'yes': B's answer came first
 */
import type { Answer } from '../chat/types.js';
import type { Db } from './db.js';

export interface NewQuestion {
  id: string;
  /** provider:id of the asked user. */
  asker: string;
  room: string;
  thread?: string | undefined;
  question: string;
  /** The instance that waits for the answer. */
  instance: string;
  askedAt?: Date;
  expiresAt: Date;
}

/** What became of an answer: recorded on an open question, too late for one, or there was none. */
export type AnswerResult = { kind: 'recorded'; id: string; instance: string } | { kind: 'expired'; id: string; waitedMs: number } | { kind: 'none' };

/** How long after its expiry a late answer is still told "that question expired" rather than "no question". */
export const LATE_ANSWER_MS = 60 * 60 * 1000;
/** Questions are kept a day (to look into what was asked), then pruned. */
const KEEP_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY = 200;

export interface ChatQuestionsOptions {
  /** Test seam: runs after an answer found its open question and before the conditional write. */
  beforeAnswerWrite?: () => Promise<void>;
}

export class ChatQuestions {
  private asked = 0;

  constructor(
    private readonly db: Db,
    private readonly options: ChatQuestionsOptions = {},
  ) {}

  /**
   * Records a new open question. Older open questions of this user in this room end as `no` (one open question per
   * user and room); returns them, so their instances can be woken.
   */
  async ask(q: NewQuestion): Promise<{ id: string; instance: string }[]> {
    const now = q.askedAt ?? new Date();
    if (++this.asked % PRUNE_EVERY === 0) await this.prune(new Date(now.getTime() - KEEP_MS)).catch(() => 0);
    const older = await this.db.chatQuestion.findMany({ where: { asker: q.asker, room: q.room, answer: null }, select: { id: true, instance: true } });
    const replaced: { id: string; instance: string }[] = [];
    for (const o of older) if ((await this.close(o.id, 'no', q.instance, now)) === 'no') replaced.push(o);
    await this.db.chatQuestion.create({
      data: {
        id: q.id,
        asker: q.asker,
        room: q.room,
        thread: q.thread ?? null,
        question: q.question,
        instance: q.instance,
        askedAt: now,
        expiresAt: q.expiresAt,
      },
    });
    return replaced;
  }

  /**
   * Records `answer` on this user's newest open question in this room, if it has not expired; the first answer wins
   * (a second one, on any instance, finds the question closed). `by` is the instance the answer arrived on.
   */
  async answer(asker: string, room: string, answer: 'yes' | 'no', by: string, now = new Date()): Promise<AnswerResult> {
    const latest = await this.db.chatQuestion.findFirst({ where: { asker, room }, orderBy: { askedAt: 'desc' } });
    if (!latest) return { kind: 'none' };
    const expired = () => ({ kind: 'expired' as const, id: latest.id, waitedMs: latest.expiresAt.getTime() - latest.askedAt.getTime() });
    const late = now.getTime() - latest.expiresAt.getTime();
    if (latest.answer === 'timeout' || (latest.answer === null && late >= 0)) return late < LATE_ANSWER_MS ? expired() : { kind: 'none' };
    if (latest.answer !== null) return { kind: 'none' };
    await this.options.beforeAnswerWrite?.();
    const won = await this.close(latest.id, answer, by, now, latest.expiresAt);
    if (won === answer) return { kind: 'recorded', id: latest.id, instance: latest.instance };
    // Another answer, the timeout or a newer question came first.
    return won === 'timeout' || won === null ? expired() : { kind: 'none' };
  }

  /** Ends a question as `answer` unless it ended before; returns how it ended (the earlier answer, if any). */
  settle(id: string, answer: Answer, by: string, now = new Date()): Promise<Answer | null> {
    return this.close(id, answer, by, now);
  }

  /** The answer a question ended with, or null while it is open (or unknown). */
  async answerOf(id: string): Promise<Answer | null> {
    const row = await this.db.chatQuestion.findUnique({ where: { id }, select: { answer: true } });
    return asAnswer(row?.answer);
  }

  /** Answers of the given questions that have ended (for the poll that backs up the wake-ups). */
  async answered(ids: string[]): Promise<Map<string, Answer>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.chatQuestion.findMany({ where: { id: { in: ids }, answer: { not: null } }, select: { id: true, answer: true } });
    const out = new Map<string, Answer>();
    for (const r of rows) {
      const a = asAnswer(r.answer);
      if (a) out.set(r.id, a);
    }
    return out;
  }

  /** Questions asked before `before` are removed. */
  async prune(before: Date): Promise<number> {
    const { count } = await this.db.chatQuestion.deleteMany({ where: { askedAt: { lt: before } } });
    return count;
  }

  /**
   * The conditional write: sets the answer where there is none yet (and, for a user's answer, only before the
   * expiry); returns the answer the row ends up with (null: no such row, or an answer too late and none stored).
   */
  private async close(id: string, answer: Answer, by: string, now: Date, before?: Date): Promise<Answer | null> {
    const { count } = await this.db.chatQuestion.updateMany({
      where: { id, answer: null, ...(before ? { expiresAt: { gt: now } } : {}) },
      data: { answer, answeredAt: now, answeredBy: by },
    });
    if (count === 1) return answer;
    return this.answerOf(id);
  }
}

function asAnswer(value: string | null | undefined): Answer | null {
  return value === 'yes' || value === 'no' || value === 'timeout' ? value : null;
}
