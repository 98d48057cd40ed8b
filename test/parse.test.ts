import { describe, expect, it } from 'vitest';
import { closest, parse } from '../src/parse.js';

describe('parse: GIVEN a command line THEN its name, args and flags', () => {
  it.each([
    ['deploy web/main to production --dry-run', { name: 'deploy', args: ['web/main', 'to', 'production'], flags: { 'dry-run': true } }],
    ['DEPLOY web', { name: 'deploy', args: ['web'], flags: {} }],
    ['deploy web --force --reason=hotfix', { name: 'deploy', args: ['web'], flags: { force: true, reason: 'hotfix' } }],
    ['  karma   @alice  ', { name: 'karma', args: ['@alice'], flags: {} }],
    ['lock staging "testing the migration"', { name: 'lock', args: ['staging', 'testing the migration'], flags: {} }],
    ["reject 12 'too big for today'", { name: 'reject', args: ['12', 'too big for today'], flags: {} }],
    ['reject 12 \u201csmart quotes\u201d', { name: 'reject', args: ['12', 'smart quotes'], flags: {} }],
    ['lock! staging', { name: 'lock!', args: ['staging'], flags: {} }],
    ['cp #1234', { name: 'cp', args: ['#1234'], flags: {} }],
    ['unlike <@U024BE7LH> broke it', { name: 'unlike', args: ['@U024BE7LH', 'broke', 'it'], flags: {} }],
    ['unlike <@U024BE7LH|bob>', { name: 'unlike', args: ['@U024BE7LH'], flags: {} }],
    ['lock "--force"', { name: 'lock', args: ['--force'], flags: {} }],
    ['help\tdeploy', { name: 'help', args: ['deploy'], flags: {} }],
  ])('%s', (input, expected) => {
    const result = parse(input);
    expect(result.ok).toBe(true);
    if (result.ok) expect({ name: result.command.name, args: result.command.args, flags: result.command.flags }).toEqual(expected);
  });

  it('keeps mentions and the free text after the command', () => {
    const result = parse('unlike @bob broke the   build');
    expect(result.ok && result.command.mentions).toEqual(['bob']);
    expect(result.ok && result.command.rest).toBe('@bob broke the   build');
  });
});

describe('parse: hostile input gets a clear error or a correct parse, never an exception', () => {
  it.each([
    ['shell metacharacters stay data', 'deploy web/main;touch /tmp/pwned', { name: 'deploy', args: ['web/main;touch', '/tmp/pwned'] }],
    ['command substitution stays data', 'deploy $(id) `id`', { name: 'deploy', args: ['$(id)', '`id`'] }],
    ['pipes and redirects stay data', 'lock staging | rm -rf / > x', { name: 'lock', args: ['staging', '|', 'rm', '-rf', '/', '>', 'x'] }],
    ['unicode arguments survive', 'lock staging déploiement 🚀 本番', { name: 'lock', args: ['staging', 'déploiement', '🚀', '本番'] }],
    ['IRC colour and bold codes are stripped', '\x02karma\x02 \x0304,01@alice\x03', { name: 'karma', args: ['@alice'] }],
    ['IRC reset/italic/underline codes are stripped', '\x1dlocks\x0f\x1f', { name: 'locks', args: [] }],
    ['NUL and other control bytes are dropped', 'lock\x00 staging\x07', { name: 'lock', args: ['staging'] }],
    ['zero-width spaces are dropped', 'kar\u200bma', { name: 'karma', args: [] }],
    ['decomposed unicode is normalised', 'lock cafe\u0301', { name: 'lock', args: ['café'] }],
  ])('%s', (_label, input, expected) => {
    const result = parse(input);
    expect(result.ok).toBe(true);
    if (result.ok) expect({ name: result.command.name, args: result.command.args }).toEqual(expected);
  });

  it.each([
    ['empty line', '', /empty command/],
    ['only spaces', '    ', /empty command/],
    ['only control codes', '\x02\x03\x0f', /empty command/],
    ['a 10 kB line', `lock ${'x'.repeat(10_000)}`, /too long/],
    ['a 100 kB line', 'y'.repeat(100_000), /too long/],
    ['an unterminated quote', 'lock staging "half', /unterminated quote/],
    ['a command word with metacharacters', ';rm -rf /', /is not a command/],
    ['a quoted command word', '"deploy" web', /is not a command/],
    ['a number', '42', /is not a command/],
    ['emoji only', '🚀🚀', /is not a command/],
  ])('%s → error', (_label, input, error) => {
    let result: ReturnType<typeof parse> | undefined;
    expect(() => {
      result = parse(input);
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result && !result.ok) {
      expect(result.error).toMatch(error);
      expect(result.error.length).toBeLessThan(120);
    }
  });

  it('survives random bytes', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rand() % 80 }, () => String.fromCharCode(rand() % 0x3000)).join('');
      expect(() => parse(text)).not.toThrow();
    }
  });
});

describe('closest', () => {
  it.each([
    ['karm', 'karma'],
    ['dpeloy', 'deploy'],
    ['stauts', 'status'],
    ['lcok', 'lock'],
    ['zzzzzz', undefined],
  ])('%s → %s', (word, expected) => {
    expect(closest(word, ['karma', 'deploy', 'status', 'lock', 'locks', 'help'])).toBe(expected);
  });
});
