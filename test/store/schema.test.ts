/**
 * schema.prisma and prisma/migrations must describe the same database: the migrations applied by the bot
 * (exactly as at start) must give every model's columns with the right nullability, and every model must be
 * writable and readable through the generated client with every field set.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelName } from '../../src/generated/prisma/internal/prismaNamespace.js';
import { MIGRATIONS_DIRS } from '../../src/store/db.js';
import { readMigrations } from '../../src/store/migrate.js';
import { queryRows, TEST_DB, tempStore, type TempStore } from '../support/db.js';

interface SchemaField {
  name: string;
  optional: boolean;
}

/** Scalar fields per model from schema.prisma (relation fields, whose type is another model, are left out). */
function schemaModels(): Map<string, SchemaField[]> {
  const text = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
  const models = new Map<string, SchemaField[]>();
  const names = [...text.matchAll(/^model (\w+) \{/gm)].map((m) => m[1] as string);
  for (const block of text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const fields: SchemaField[] = [];
    for (const line of (block[2] as string).split('\n')) {
      const m = /^\s+(\w+)\s+(\w+)(\[\])?(\?)?/.exec(line);
      if (!m || line.trim().startsWith('//') || line.trim().startsWith('@@')) continue;
      const [, name, type, list, optional] = m;
      if (list || names.includes(type as string)) continue;
      fields.push({ name: name as string, optional: Boolean(optional) });
    }
    models.set(block[1] as string, fields);
  }
  return models;
}

interface Column {
  name: string;
  nullable: boolean;
}

/** The table's columns as the database reports them (SQLite: PRAGMA table_info; PostgreSQL: information_schema). */
async function columnsOf(url: string, table: string): Promise<Column[]> {
  if (TEST_DB === 'sqlite') {
    const rows = await queryRows<{ name: string; notnull: number; pk: number }>(url, `PRAGMA table_info("${table}")`);
    return rows.map((c) => ({ name: c.name, nullable: c.notnull === 0 && c.pk === 0 }));
  }
  const rows = await queryRows<{ name: string; nullable: string }>(
    url,
    `SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '${table}'`,
  );
  return rows.map((c) => ({ name: c.name, nullable: c.nullable === 'YES' }));
}

async function tablesOf(url: string): Promise<string[]> {
  const query =
    TEST_DB === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'"
      : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'";
  return (await queryRows<{ name: string }>(url, query)).map((r) => r.name);
}

describe(`schema.prisma and migrations agree (${TEST_DB})`, () => {
  let t: TempStore;
  beforeAll(async () => {
    t = await tempStore();
  });
  afterAll(async () => t.close());

  it('records every migration as Prisma does', async () => {
    const rows = await queryRows<{ migration_name: string; checksum: string; finished_at: unknown; applied_steps_count: number }>(
      t.url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    const files = readMigrations(MIGRATIONS_DIRS[TEST_DB]);
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    expect(rows.map((r) => r.checksum)).toEqual(files.map((f) => f.checksum));
    for (const r of rows) {
      expect(r.finished_at).not.toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
  });

  it('gives every model exactly its columns, with the same nullability', async () => {
    const models = schemaModels();
    expect([...models.keys()].sort()).toEqual(Object.keys(ModelName).sort());
    for (const [model, fields] of models) {
      const columns = await columnsOf(t.url, model);
      expect(columns.length, `table ${model} exists`).toBeGreaterThan(0);
      expect(columns.map((c) => c.name).sort(), `columns of ${model}`).toEqual(fields.map((f) => f.name).sort());
      for (const f of fields) {
        const column = columns.find((c) => c.name === f.name)!;
        expect(column.nullable, `${model}.${f.name} nullable`).toBe(f.optional);
      }
    }
    expect((await tablesOf(t.url)).sort()).toEqual(Object.keys(ModelName).sort());
  });

  it('writes and reads every model through the client with every field set', async () => {
    const db = t.store.db;
    const at = new Date('2026-11-22T10:00:00.000Z');
    const touched = new Set<string>();
    const roundTrip = async <T extends Record<string, unknown>>(model: string, created: T, read: T | null) => {
      touched.add(model);
      expect(read).toEqual(created);
    };
    const user = await db.user.create({ data: { name: 'alice', githubLogin: 'alice', karma: 3, createdAt: at } });
    await roundTrip('User', user, await db.user.findUnique({ where: { id: user.id } }));
    const actor = await db.user.create({ data: { name: 'rm' } });
    const identity = await db.identity.create({
      data: { provider: 'irc', externalId: 'alice', handle: 'Alice', userId: user.id, createdAt: at, lastSeenAt: at },
    });
    await roundTrip('Identity', identity, await db.identity.findUnique({ where: { id: identity.id } }));
    const karma = await db.karmaEvent.create({ data: { userId: user.id, actorId: actor.id, kind: 'unlike', before: 4, after: 3, reason: 'r', createdAt: at } });
    await roundTrip('KarmaEvent', karma, await db.karmaEvent.findUnique({ where: { id: karma.id } }));
    const deploy = await db.deploy.create({
      data: {
        app: 'web',
        environment: 'staging',
        ref: 'main',
        sha: 'a'.repeat(40),
        previousSha: 'b'.repeat(40),
        state: 'succeeded',
        kind: 'deploy',
        requesterId: user.id,
        room: '#d',
        threadRef: '1.2',
        force: true,
        releaseId: '20261122100000',
        error: 'e',
        githubDeploymentId: 7,
        createdAt: at,
        startedAt: at,
        finishedAt: at,
        heartbeatAt: at,
        approvalsNeeded: 2,
        approvalExpiresAt: at,
      },
    });
    await roundTrip('Deploy', deploy, await db.deploy.findUnique({ where: { id: deploy.id } }));
    const lock = await db.lock.create({ data: { app: '*', environment: 'staging', holderId: user.id, reason: 'why', deployId: deploy.id, createdAt: at } });
    await roundTrip('Lock', lock, await db.lock.findUnique({ where: { id: lock.id } }));
    const shift = await db.onCall.create({
      data: { team: 'web', userId: user.id, kind: 'rotation', startsAt: at, endsAt: at, setById: actor.id, createdAt: at },
    });
    await roundTrip('OnCall', shift, await db.onCall.findUnique({ where: { id: shift.id } }));
    const audit = await db.auditEvent.create({
      data: {
        kind: 'gate',
        userId: user.id,
        identity: 'irc:alice',
        room: '#d',
        command: 'deploy',
        text: 'freeze: override',
        outcome: 'override',
        detail: 'd',
        app: 'web',
        environment: 'production',
        deployId: deploy.id,
        gate: 'freeze',
        createdAt: at,
      },
    });
    await roundTrip('AuditEvent', audit, await db.auditEvent.findUnique({ where: { id: audit.id } }));
    const freeze = await db.freeze.create({
      data: { environment: 'production', reason: 'weekend', until: at, createdById: actor.id, createdAt: at, endedAt: at, endedById: user.id },
    });
    await roundTrip('Freeze', freeze, await db.freeze.findUnique({ where: { id: freeze.id } }));
    const approval = await db.approval.create({ data: { deployId: deploy.id, userId: actor.id, createdAt: at } });
    await roundTrip('Approval', approval, await db.approval.findUnique({ where: { id: approval.id } }));
    const host = await db.deployHost.create({
      data: {
        deployId: deploy.id,
        host: 'web-1',
        port: 22,
        user: 'deploy',
        stage: 1,
        state: 'succeeded',
        previousRelease: 'r0',
        error: 'e',
        startedAt: at,
        finishedAt: at,
      },
    });
    await roundTrip('DeployHost', host, await db.deployHost.findUnique({ where: { id: host.id } }));
    const chunk = await db.logChunk.create({
      data: { deployId: deploy.id, firstSeq: 1, lastSeq: 2, host: 'web-1', stream: 'stdout', text: 'hello ✓\nbye', at },
    });
    await roundTrip('LogChunk', chunk, await db.logChunk.findUnique({ where: { id: chunk.id } }));
    const push = await db.push.create({
      data: {
        app: 'web',
        state: 'shipped',
        branch: 'push/2026-11-22',
        baseRef: 'main',
        baseSha: 'c'.repeat(40),
        headSha: 'd'.repeat(40),
        startedById: actor.id,
        provider: 'irc',
        room: '#d',
        startedAt: at,
        confirmBy: at,
        remindedAt: at,
        deferredAt: at,
        environment: 'staging',
        deployId: deploy.id,
        endedAt: at,
        createdAt: at,
      },
    });
    await roundTrip('Push', push, await db.push.findUnique({ where: { id: push.id } }));
    const pickData = {
      pushId: push.id,
      prNumber: 12,
      sha: 'e'.repeat(40),
      title: 'Fix ✓',
      url: 'https://github.com/acme/web/pull/12',
      requesterId: user.id,
      authorId: user.id,
      authorName: 'alice',
      additions: 3,
      deletions: 1,
      files: 2,
      comments: 4,
      reviewComments: 5,
      state: 'conflict',
      reason: 'r',
      decidedById: actor.id,
      decidedAt: at,
      conflictFiles: 'a.txt\nb.txt',
      pickedSha: 'f'.repeat(40),
      requestedAt: at,
      updatedAt: at,
    };
    const first = await db.cherryPick.create({ data: { ...pickData, subject: '#12' } });
    const pick = await db.cherryPick.create({ data: { ...pickData, subject: 'e'.repeat(40), carriedFromId: first.id } });
    await roundTrip('CherryPick', pick, await db.cherryPick.findUnique({ where: { id: pick.id } }));
    const confirmation = await db.confirmation.create({ data: { pushId: push.id, userId: user.id, createdAt: at } });
    await roundTrip('Confirmation', confirmation, await db.confirmation.findUnique({ where: { id: confirmation.id } }));
    const delivery = await db.webhookDelivery.create({
      data: { id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', event: 'check_suite', repository: 'acme/web', receivedAt: at },
    });
    await roundTrip('WebhookDelivery', delivery, await db.webhookDelivery.findUnique({ where: { id: delivery.id } }));
    const lease = await db.chatLease.create({ data: { name: 'irc', holder: 'host:1:abc', expiresAt: at, acquiredAt: at } });
    await roundTrip('ChatLease', lease, await db.chatLease.findUnique({ where: { name: 'irc' } }));
    const out = await db.chatOutbox.create({
      data: { network: 'irc', room: '#deploys', asker: 'alice', text: 'deploy #1 succeeded', createdAt: at, deliveredAt: at, deliveredBy: 'host:1:abc' },
    });
    await roundTrip('ChatOutbox', out, await db.chatOutbox.findUnique({ where: { id: out.id } }));
    const event = await db.chatEvent.create({ data: { provider: 'slack', eventId: 'Ev0123456789', receivedAt: at } });
    await roundTrip('ChatEvent', event, await db.chatEvent.findUnique({ where: { provider_eventId: { provider: 'slack', eventId: 'Ev0123456789' } } }));
    const question = await db.chatQuestion.create({
      data: {
        id: 'f3b1c2d4-0000-4000-8000-000000000001',
        asker: 'slack:U1',
        room: 'C1',
        thread: '1700000000.000100',
        question: 'deploy web to production?',
        instance: 'host:1:abc',
        askedAt: at,
        expiresAt: at,
        answer: 'yes',
        answeredAt: at,
        answeredBy: 'host:2:def',
      },
    });
    await roundTrip('ChatQuestion', question, await db.chatQuestion.findUnique({ where: { id: question.id } }));
    expect([...touched].sort()).toEqual(Object.keys(ModelName).sort());
  });
});
