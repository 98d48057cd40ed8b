/**
 * Confirmation questions in the database (on SQLite and PostgreSQL): an answer recorded by any instance ends the
 * question once (the first answer wins, whatever the interleaving), the asker's timeout and a user's answer
 * cannot both win, a newer question closes the older as `no`, and a late answer is told the question expired.
 * Races are forced through the store's seam: both writers have read the open question before either writes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatQuestions, LATE_ANSWER_MS } from '../../src/store/chat-questions.js';
import { TEST_DB, type TempStore, tempStore } from '../support/db.js';

const ITERATIONS = Math.min(50, Number(process.env.RACE_ITERATIONS ?? 50));

/** Lets `parties` callers through only once all of them arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return async () => {
    if (++arrived === parties) open();
    await gate;
  };
}

describe(`confirmation questions across instances (${TEST_DB})`, () => {
  let t: TempStore;
  let room = 0;
  beforeAll(async () => {
    t = await tempStore();
  });
  afterAll(async () => {
    await t.close();
  });

  const t0 = new Date('2026-12-03T09:00:00Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  /** A question A asks in a room of its own, open for a minute from t0. */
  async function asked(questions = new ChatQuestions(t.store.db), asker = 'slack:U1') {
    const q = { id: randomUUID(), asker, room: `C${++room}`, question: 'deploy web to production?', instance: 'A', askedAt: t0, expiresAt: at(60_000) };
    expect(await questions.ask(q)).toEqual([]);
    return q;
  }

  it('GIVEN A asked THEN a yes arriving on B is recorded for A once; a second answer finds nothing open and A’s timeout reads the yes', async () => {
    const questions = new ChatQuestions(t.store.db);
    const q = await asked(questions);
    expect(await questions.answered([q.id])).toEqual(new Map());
    expect(await questions.answer('slack:U1', q.room, 'yes', 'B', at(5_000))).toEqual({ kind: 'recorded', id: q.id, instance: 'A' });
    expect(await questions.answer('slack:U1', q.room, 'no', 'C', at(6_000))).toEqual({ kind: 'none' });
    expect(await questions.settle(q.id, 'timeout', 'A', at(60_000))).toBe('yes');
    expect(await questions.answered([q.id])).toEqual(new Map([[q.id, 'yes']]));
    const row = await t.store.db.chatQuestion.findUnique({ where: { id: q.id } });
    expect(row).toMatchObject({ answer: 'yes', answeredBy: 'B', answeredAt: at(5_000) });
    // Someone else, or the same user in another room, answers nothing.
    const other = await asked(questions);
    expect(await questions.answer('slack:U2', other.room, 'yes', 'B', at(1_000))).toEqual({ kind: 'none' });
    expect(await questions.answer('slack:U1', 'C-elsewhere', 'yes', 'B', at(1_000))).toEqual({ kind: 'none' });
    expect(await questions.answerOf(other.id)).toBeNull();
  });

  it(`GIVEN a yes on B and a no on C, both past the read before either writes THEN exactly one is recorded (${ITERATIONS} times)`, async () => {
    for (let i = 0; i < ITERATIONS; i++) {
      const wait = barrier(2);
      const b = new ChatQuestions(t.store.db, { beforeAnswerWrite: wait });
      const c = new ChatQuestions(t.store.db, { beforeAnswerWrite: wait });
      const q = await asked();
      const [yes, no] = await Promise.all([b.answer('slack:U1', q.room, 'yes', 'B', at(1_000)), c.answer('slack:U1', q.room, 'no', 'C', at(1_000))]);
      const recorded = [yes, no].filter((r) => r.kind === 'recorded');
      expect(recorded).toEqual([{ kind: 'recorded', id: q.id, instance: 'A' }]);
      expect([yes, no].filter((r) => r.kind === 'none')).toHaveLength(1);
      const stored = await b.answerOf(q.id);
      expect(stored).toBe(yes.kind === 'recorded' ? 'yes' : 'no');
    }
  });

  it('GIVEN A’s timeout written between the answer’s read and its write THEN the answer is told the question expired and the timeout stands', async () => {
    const setup = new ChatQuestions(t.store.db);
    const q = await asked(setup);
    const b = new ChatQuestions(t.store.db, {
      beforeAnswerWrite: async () => {
        expect(await setup.settle(q.id, 'timeout', 'A', at(59_000))).toBe('timeout');
      },
    });
    expect(await b.answer('slack:U1', q.room, 'yes', 'B', at(59_500))).toEqual({ kind: 'expired', id: q.id, waitedMs: 60_000 });
    expect(await setup.answerOf(q.id)).toBe('timeout');
    // Asked again, the late yes is still told it expired.
    expect(await b.answer('slack:U1', q.room, 'yes', 'B', at(61_000))).toMatchObject({ kind: 'expired' });
  });

  it('GIVEN no timeout written yet (the asker died) THEN an answer after the expiry is refused as expired and not recorded; long after, there is no question', async () => {
    const questions = new ChatQuestions(t.store.db);
    const q = await asked(questions);
    expect(await questions.answer('slack:U1', q.room, 'yes', 'B', at(60_000))).toEqual({ kind: 'expired', id: q.id, waitedMs: 60_000 });
    expect(await questions.answerOf(q.id)).toBeNull();
    expect(await questions.answer('slack:U1', q.room, 'yes', 'B', at(60_000 + LATE_ANSWER_MS))).toEqual({ kind: 'none' });
  });

  it('GIVEN a newer question of the same user in the same room (asked on B) THEN the older ends as no and the answer goes to the newer', async () => {
    const questions = new ChatQuestions(t.store.db);
    const first = await asked(questions);
    const second = { ...first, id: randomUUID(), instance: 'B', askedAt: at(1_000), expiresAt: at(61_000) };
    expect(await questions.ask(second)).toEqual([{ id: first.id, instance: 'A' }]);
    expect(await questions.answerOf(first.id)).toBe('no');
    expect(await questions.answer('slack:U1', first.room, 'yes', 'A', at(2_000))).toEqual({ kind: 'recorded', id: second.id, instance: 'B' });
    expect(await questions.answered([first.id, second.id])).toEqual(
      new Map([
        [first.id, 'no'],
        [second.id, 'yes'],
      ]),
    );
  });
});
