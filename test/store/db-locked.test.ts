/**
 * A database another process keeps locked: the bot does not hang at start, it exits 1 with one line naming
 * the database file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { startBotProcess } from '../support/bot-process.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('a locked database at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-locked-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN another process holds a write lock THEN start exits 1 with one line naming the path', async () => {
    const path = join(dir, 'shepherd.db');
    const { prisma } = await openDatabase(`file:${path}`);
    await prisma.$disconnect();
    // Another process takes the write lock and keeps it until killed.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(path)}); d.exec('BEGIN EXCLUSIVE'); d.prepare("UPDATE User SET name = name").run(); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
        holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
      });
      writeFileSync(join(dir, 'shepherd.yml'), '{}');
      const bot = startBotProcess({ SHEPHERD_CONFIG: join(dir, 'shepherd.yml'), DATABASE_URL: `file:${path}`, LOG_LEVEL: 'warn', WEB_PORT: '0' });
      bot.child.stdin?.end();
      expect(await bot.exited).toBe(1);
      const lines = bot.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path);
      expect(lines[0]).toMatch(/^shepherd: could not start: database .* is locked by another process/);
    } finally {
      holder.kill('SIGKILL');
    }
  }, 120_000);
});
