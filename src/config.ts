/**
 * Configuration: environment variables + shepherd.yml → one typed, frozen object.
 * loadConfig(process.env) throws a ConfigError that lists every bad key at once.
 *
 *   const config = loadConfig({ SHEPHERD_CONFIG: 'shepherd.yml', DATABASE_URL: 'file:./x.db' });
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseWeekly } from './policy/freeze-window.js';
import { isTimeZone, machineTimeZone } from './zoned-time.js';

export const DEFAULT_CONFIG_FILE = 'shepherd.example.yml';

/** Names of apps, environments and teams: they end up in paths, lock keys and chat, so keep them plain. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const name = (what: string) => z.string().regex(NAME, `${what} names use letters, digits, '.', '_' and '-' (at most 63, starting alphanumeric)`);

const duration = z.union([z.string(), z.number().int().positive()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 10m or 1h30m, got "${v}"` });
    return z.NEVER;
  }
  return ms;
});

/** Run a refinement even when other keys already failed, so one start reports every problem. */
const ALWAYS = { when: () => true };

const hostEntry = z.union([
  z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/, 'expected host or host:port'),
  z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535).optional(), user: z.string().min(1).optional() }).strict(),
]);

const roleName = z.enum(['developer', 'release_manager']);

/** A `validate: url:` as it will be fetched for one host: {host} filled in. */
export function validationUrl(template: string, host: string): string {
  return template.replaceAll('{host}', host.includes(':') ? `[${host}]` : host);
}

/**
 * `validate:` of an environment: after every host switched, `check` (a command run on each host, in `current`)
 * or `url` (fetched per host, `{host}` filled in) every `every` for `for`; a host failing more than
 * `max_failures` times rolls every switched host back. `timeout` bounds one check (default: every, at least 5s).
 */
const validateSchema = z
  .object({
    for: duration,
    every: duration,
    check: z.string().min(1).optional(),
    url: z
      .string()
      .refine((v) => v.includes('{host}'), 'expected {host} where the host name goes, like "http://{host}:8080/health"')
      .refine((v) => {
        try {
          return ['http:', 'https:'].includes(new URL(validationUrl(v, 'host.example')).protocol);
        } catch {
          return false;
        }
      }, 'expected an http:// or https:// URL like "http://{host}:8080/health"')
      .optional(),
    max_failures: z.number().int().min(0).default(0),
    timeout: duration.optional(),
  })
  .strict()
  .check(
    z.superRefine((v: Record<string, unknown>, ctx) => {
      if (v.check === undefined && v.url === undefined) ctx.addIssue({ code: 'custom', path: ['check'], message: 'give check (a command) or url' });
      if (v.check !== undefined && v.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'give check or url, not both' });
      if (typeof v.every === 'number' && typeof v.for === 'number' && v.every > v.for) {
        ctx.addIssue({ code: 'custom', path: ['every'], message: 'must not be longer than for (the window)' });
      }
    }, ALWAYS),
  );

export type ValidateConfig = z.infer<typeof validateSchema>;

const environmentSchema = z
  .object({
    hosts: z.array(hostEntry).default([]),
    canary: z.number().int().min(0).default(0),
    concurrency: z.number().int().min(1).max(1000).default(10),
    max_failures: z.number().int().min(0).default(0),
    allowed_roles: z.array(roleName).default(['developer', 'release_manager']),
    require_green_ci: z.boolean().default(false),
    confirm: z.boolean().default(false),
    channel: z.string().optional(),
    /** Where the environment is reached: shown in chat and the dashboard, sent to GitHub as environment_url. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    /** Promotion order: only SHAs that succeeded in this environment (of the same app) deploy here. */
    requires: name('environment').optional(),
    /** Whether unmerged pull requests may deploy here (`deploy web/#22`); default: see allowsPullRequests(). */
    allow_prs: z.boolean().optional(),
    /** Refuse an open PR behind its base by more than this many commits ("merge main first"); unset: no limit. */
    outdated: z.number().int().min(0).optional(),
    /** A successful rollback leaves the environment locked by its requester until someone runs `unlock`. */
    lock_after_rollback: z.boolean().default(true),
    /** Release managers other than the requester who must `approve deploy <id>` before a deploy starts. */
    approvals: z.number().int().min(0).max(10).default(0),
    /** How long a deploy waits for its approvals before it is cancelled ("approval expired"). */
    approval_window: duration.default(1_800_000),
    /** Validation window after the switch, with automatic rollback (see validateSchema). */
    validate: validateSchema.optional(),
  })
  .strict();

const appSchema = z
  .object({
    repo: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/name')
      .optional(),
    repo_url: z.string().min(1).optional(),
    default_environment: name('environment').optional(),
    deploy_to: z.string().min(1),
    keep_releases: z.number().int().min(1).max(100).default(5),
    transport: z.enum(['ssh', 'local']).default('ssh'),
    ssh: z
      .object({
        user: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).default(22),
        private_key_path: z.string().min(1).optional(),
        // As OpenSSH's UserKnownHostsFile and StrictHostKeyChecking; accept-new records in <data dir>/known_hosts.
        known_hosts: z.string().min(1).default('~/.ssh/known_hosts'),
        host_key_checking: z.enum(['strict', 'accept-new', 'off']).default('accept-new'),
      })
      .strict()
      .default({ port: 22, known_hosts: '~/.ssh/known_hosts', host_key_checking: 'accept-new' }),
    steps: z.array(z.string().min(1)).default([]),
    healthcheck: z.string().min(1).optional(),
    step_timeout: duration.default(600_000),
    connect_timeout: duration.default(10_000),
    rollback_on_failure: z.boolean().default(true),
    environments: z.record(name('environment'), environmentSchema),
    /** Continuous delivery: when `branch`'s head turns green, it deploys to `to` (webhooks; `poll` as a fallback). */
    auto_deploy: z
      .object({
        branch: z.string().regex(/^[A-Za-z0-9._/+-]{1,200}$/, 'expected a branch name'),
        to: name('environment'),
        when: z.literal('green').default('green'),
        poll: duration.refine((ms) => ms >= 5000, 'poll accepts 5s and up').optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  // Cross-key checks run even when other keys are bad (`when`), so every problem is reported at once;
  // the value may then be partly invalid, hence the defensive reads.
  .check(
    z.superRefine((app: Record<string, unknown>, ctx) => {
      const environments = app.environments && typeof app.environments === 'object' ? Object.keys(app.environments) : [];
      if (app.environments && typeof app.environments === 'object' && environments.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['environments'], message: 'needs at least one environment' });
      }
      if (typeof app.default_environment === 'string' && environments.length > 0 && !environments.includes(app.default_environment)) {
        ctx.addIssue({
          code: 'custom',
          path: ['default_environment'],
          message: `"${app.default_environment}" is not one of its environments (${environments.join(', ')})`,
        });
      }
      const auto = app.auto_deploy as { to?: unknown } | undefined;
      if (auto && typeof auto.to === 'string' && environments.length > 0 && !environments.includes(auto.to)) {
        ctx.addIssue({ code: 'custom', path: ['auto_deploy', 'to'], message: `"${auto.to}" is not one of its environments (${environments.join(', ')})` });
      }
      if (app.environments && typeof app.environments === 'object') requiresProblems(app.environments as Record<string, unknown>, ctx);
      if (!app.repo && !app.repo_url) ctx.addIssue({ code: 'custom', path: ['repo'], message: 'give repo (owner/name) or repo_url' });
      // Every host of a local app is this machine: two would build releases/<id> and swap `current` in one
      // directory at once. One host per environment; several machines need ssh.
      if (app.transport === 'local' && app.environments && typeof app.environments === 'object') {
        for (const [env, value] of Object.entries(app.environments as Record<string, { hosts?: unknown }>)) {
          if (Array.isArray(value?.hosts) && value.hosts.length > 1) {
            ctx.addIssue({
              code: 'custom',
              path: ['environments', env, 'hosts'],
              message: `transport: local runs every host on this machine in one deploy_to (${String(app.deploy_to)}): list one host, or deploy over ssh`,
            });
          }
        }
      }
      if (typeof app.deploy_to === 'string' && app.transport !== 'local' && !isAbsolute(app.deploy_to) && !app.deploy_to.startsWith('~/')) {
        ctx.addIssue({ code: 'custom', path: ['deploy_to'], message: 'expected an absolute path (relative paths only with transport: local)' });
      }
    }, ALWAYS),
  );

/** `requires` names another environment of the same app, and following it never comes back (no cycles). */
function requiresProblems(environments: Record<string, unknown>, ctx: z.core.$RefinementCtx<Record<string, unknown>>): void {
  const requires = (env: string) => {
    const r = (environments[env] as { requires?: unknown } | undefined)?.requires;
    return typeof r === 'string' ? r : undefined;
  };
  const names = Object.keys(environments);
  for (const env of names) {
    const needed = requires(env);
    if (needed === undefined) continue;
    const path = ['environments', env, 'requires'];
    if (needed === env) ctx.addIssue({ code: 'custom', path, message: `"${env}" cannot require itself` });
    else if (!names.includes(needed)) ctx.addIssue({ code: 'custom', path, message: `"${needed}" is not one of its environments (${names.join(', ')})` });
    else {
      const seen = [env];
      for (let next: string | undefined = needed; next !== undefined; next = requires(next)) {
        if (seen.includes(next)) {
          if (next === env) ctx.addIssue({ code: 'custom', path, message: `promotion order has a cycle: ${[...seen, next].join(' → ')}` });
          break;
        }
        seen.push(next);
      }
    }
  }
}

/** A freeze window: a weekly schedule ("fri 16:00 - mon 08:00") or from/until ("2026-12-23 00:00"), read in `timezone`. */
const freezeDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}( \d{1,2}:\d{2})?$/, 'expected a local date and time like "2026-12-23 00:00"');
const freezeSchema = z
  .object({
    environments: z.array(name('environment')).min(1, 'name at least one environment'),
    weekly: z
      .string()
      .refine((v) => parseWeekly(v) !== null, { message: 'expected a weekly window like "fri 16:00 - mon 08:00"' })
      .optional(),
    from: freezeDateTime.optional(),
    until: freezeDateTime.optional(),
    reason: z.string().min(1).max(200),
  })
  .strict()
  .check(
    z.superRefine((f: Record<string, unknown>, ctx) => {
      const dated = f.from !== undefined || f.until !== undefined;
      if (f.weekly !== undefined && dated) ctx.addIssue({ code: 'custom', path: ['weekly'], message: 'give either weekly or from/until, not both' });
      else if (f.weekly === undefined && !dated)
        ctx.addIssue({ code: 'custom', path: ['weekly'], message: 'give weekly: "fri 16:00 - mon 08:00" or from/until' });
      else if (dated && (f.from === undefined || f.until === undefined)) {
        ctx.addIssue({ code: 'custom', path: [f.from === undefined ? 'from' : 'until'], message: 'from and until go together' });
      } else if (typeof f.from === 'string' && typeof f.until === 'string' && f.from.localeCompare(f.until, 'en', { numeric: true }) >= 0) {
        ctx.addIssue({ code: 'custom', path: ['until'], message: `"${f.until}" is not after from ("${f.from}")` });
      }
    }, ALWAYS),
  );

/** Who holds a role: a GitHub login (`alice`) or a chat identity (`slack:U024BE7LH`, `irc:alice`, `shell:*`). */
const principal = z
  .string()
  .regex(
    /^(shell:\*|(slack|irc|shell):[^\s*]+|[A-Za-z0-9-]+)$/,
    'expected a GitHub login or provider:id (slack:, irc:, shell:); only shell:* may use a wildcard',
  );

export const fileSchema = z
  .object({
    release_managers: z.array(principal).default([]),
    developers: z.array(principal).optional(),
    karma: z
      .object({ initial: z.number().int().min(1).max(5).default(4), block_at: z.number().int().min(0).max(5).default(2) })
      .strict()
      .default({ initial: 4, block_at: 2 }),
    push: z
      .object({
        app: name('app').optional(),
        branch_prefix: z
          .string()
          .regex(/^[A-Za-z0-9._/-]*$/)
          .default('push/'),
        trunk: z.string().min(1).default('main'),
        confirm_window: duration.default(1_800_000),
        reminder_interval: duration.default(600_000),
        risk: z
          .object({ lines: z.number().int().min(0).default(200), comments: z.number().int().min(0).default(10) })
          .strict()
          .default({ lines: 200, comments: 10 }),
        // Picks scored at or below max_risk (0-100) are approved by the bot; absent: release managers decide all.
        auto_approve: z
          .object({ max_risk: z.number().int().min(0).max(100) })
          .strict()
          .optional(),
      })
      .strict()
      .default({ branch_prefix: 'push/', trunk: 'main', confirm_window: 1_800_000, reminder_interval: 600_000, risk: { lines: 200, comments: 10 } }),
    /** IANA zone for clock times (freezes, `until mon 09:00`); default the machine's. */
    timezone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone like Europe/Berlin or UTC' }).default(machineTimeZone),
    freezes: z.array(freezeSchema).default([]),
    /** How often a running deploy's owner heartbeats; a deploy silent for 3 intervals is interrupted. */
    heartbeat_interval: duration.default(10_000),
    /** On SIGTERM/SIGINT, how long running deploys get to wind down before they are recorded interrupted. */
    shutdown_grace: duration.default(10_000),
    apps: z.record(name('app'), appSchema).default({}),
    teams: z.record(name('team'), z.object({ channel: z.string().optional() }).strict().default({})).default({}),
  })
  .strict()
  .check(
    z.superRefine((file: Record<string, unknown>, ctx) => {
      const push = file.push as { app?: unknown } | undefined;
      const apps = file.apps && typeof file.apps === 'object' ? Object.keys(file.apps) : [];
      if (typeof push?.app === 'string' && !apps.includes(push.app)) {
        ctx.addIssue({ code: 'custom', path: ['push', 'app'], message: `"${push.app}" is not one of apps (${apps.join(', ') || 'none'})` });
      }
      // A freeze names environments some app has; a typo would otherwise freeze nothing, silently.
      const known = new Set(
        Object.values((file.apps as Record<string, { environments?: unknown }>) ?? {}).flatMap((a) =>
          a?.environments && typeof a.environments === 'object' ? Object.keys(a.environments) : [],
        ),
      );
      if (Array.isArray(file.freezes) && known.size > 0) {
        file.freezes.forEach((f: { environments?: unknown }, i) => {
          if (!Array.isArray(f?.environments)) return;
          f.environments.forEach((env, j) => {
            if (typeof env === 'string' && !known.has(env)) {
              ctx.addIssue({ code: 'custom', path: ['freezes', i, 'environments', j], message: `"${env}" is no app's environment (${[...known].join(', ')})` });
            }
          });
        });
      }
    }, ALWAYS),
  );

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const envSchema = z.object({
  SHEPHERD_CONFIG: z.string().default(DEFAULT_CONFIG_FILE),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'expected file:./data/shepherd.db (SQLite) or postgresql://user:pass@host:5432/db')
    .default('file:./data/shepherd.db'),
  // Files beside the database (git cache, push clone, known_hosts) when it is PostgreSQL; SQLite uses its folder.
  SHEPHERD_DATA_DIR: optional,
  SLACK_BOT_TOKEN: optional,
  SLACK_APP_TOKEN: optional,
  SLACK_SIGNING_SECRET: optional,
  SLACK_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  SLACK_API_URL: optional,
  IRC_SERVER: optional,
  IRC_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  IRC_TLS: z.stringbool().default(false),
  IRC_NICK: z
    .string()
    .regex(/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/, 'expected an IRC nick')
    .default('shepherd'),
  IRC_CHANNELS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[#&][^\s,]+$/, 'expected channels like #deploys,#web'))),
  IRC_PASSWORD: optional,
  GITHUB_TOKEN: optional,
  GITHUB_API_URL: z.url().default('https://api.github.com'),
  // An OAuth app's client id (public, not a secret): `iam github` proves logins through GitHub's device flow.
  GITHUB_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected an OAuth app client id like Ov23liAbCdEf12345678')
    .optional(),
  // Signs webhook deliveries (X-Hub-Signature-256); without it POST /github/webhook refuses every delivery.
  GITHUB_WEBHOOK_SECRET: optional,
  WEB_HOST: z.string().min(1).default('127.0.0.1'),
  WEB_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  WEB_BASE_URL: optional,
  WEB_AUTH: optional,
  // Unset: info, or warn for the shell chat so logs do not drown the conversation.
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

/** Checks across variables; on the raw strings, so they run even when a single variable is malformed. */
function envCrossChecks(env: Record<string, string | undefined>): string[] {
  const set = (k: string) => Boolean(env[k]?.trim());
  const problems: string[] = [];
  if (set('SLACK_BOT_TOKEN') && !set('SLACK_APP_TOKEN') && !set('SLACK_SIGNING_SECRET')) {
    problems.push('SLACK_APP_TOKEN: SLACK_BOT_TOKEN is set: also set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)');
  }
  if (!set('SLACK_BOT_TOKEN') && (set('SLACK_APP_TOKEN') || set('SLACK_SIGNING_SECRET'))) {
    problems.push('SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set');
  }
  if (set('IRC_SERVER') && !env.IRC_CHANNELS?.split(',').some((c) => c.trim())) {
    problems.push('IRC_CHANNELS: IRC_SERVER is set: name at least one channel (IRC_CHANNELS=#deploys)');
  }
  return problems.map((p) => `environment variable ${p}`);
}

export type FileConfig = z.infer<typeof fileSchema>;
export type EnvConfig = z.infer<typeof envSchema>;
export type AppConfig = FileConfig['apps'][string];
export type EnvironmentConfig = AppConfig['environments'][string];
export type RoleName = z.infer<typeof roleName>;

/**
 * allow_prs with its default: unmerged PRs may deploy everywhere except where only release managers may deploy.
 *
 *   allowsPullRequests({ allowed_roles: ['release_manager'] }) // false
 */
export function allowsPullRequests(env: Pick<EnvironmentConfig, 'allow_prs' | 'allowed_roles'>): boolean {
  if (env.allow_prs !== undefined) return env.allow_prs;
  return !(env.allowed_roles.length > 0 && env.allowed_roles.every((r) => r === 'release_manager'));
}

export interface Config extends FileConfig {
  env: EnvConfig;
  /** Absolute path of the shepherd.yml that was read. */
  configPath: string;
  /** Where the web viewer is reached, for links in chat: WEB_BASE_URL or http://WEB_HOST:WEB_PORT. */
  webBaseUrl: string;
}

/** Thrown when the environment or shepherd.yml is invalid; message lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(prefix: string, issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const key = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${prefix} ${key || '(top level)'}: ${message}`;
  });
}

/**
 * The entry named `key` of a config map (apps, environments, teams), own keys only: a name every JavaScript
 * object has (`constructor`, `__proto__`, `toString`) is not an app. Use it for every lookup by a typed name.
 *
 *   const app = configEntry(config.apps, 'web'); // AppConfig | undefined
 */
export function configEntry<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** A copy of `map` without a prototype, so even a plain `map[key]` finds nothing but configured names. */
function bare<T>(map: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, map);
}

/**
 * Keys (as dotted paths) whose value or name holds a NUL byte: YAML allows "\0", but a step, path or name
 * with one would be cut short by the shell or the OS, so a different thing would run than what was reviewed.
 */
function nulBytes(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return value.includes('\0') ? [key] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulBytes(v, `${key}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const path = key ? `${key}.${k}` : k;
      return k.includes('\0') ? [path.replace(/\0/g, '\\0')] : nulBytes(v, path);
    });
  }
  return [];
}

/** Expands `~/` in paths from the config file. */
export function expandHome(path: string): string {
  return path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : path;
}

/**
 * Reads and validates everything. `cwd` resolves a relative SHEPHERD_CONFIG. Throws ConfigError.
 */
export function loadConfig(rawEnv: Record<string, string | undefined> = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  // `NAME=` in .env means "not set", as it does for every dotenv user.
  const setEnv = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const env = envSchema.safeParse(setEnv);
  if (!env.success) problems.push(...describe('environment variable', env.error.issues));
  problems.push(...envCrossChecks(setEnv));

  const configPath = resolve(cwd, env.success ? env.data.SHEPHERD_CONFIG : (setEnv.SHEPHERD_CONFIG ?? DEFAULT_CONFIG_FILE));
  let raw: unknown = {};
  try {
    const doc = parseDocument(readFileSync(configPath, 'utf8'), { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) problems.push(...doc.errors.map((e) => `${configPath}: ${e.message.split('\n')[0]}`));
    else raw = doc.toJS() ?? {};
  } catch (err) {
    problems.push(`${configPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set SHEPHERD_CONFIG to your shepherd.yml`);
  }
  problems.push(...nulBytes(raw).map((key) => `${configPath}: ${key || '(top level)'}: contains a NUL byte (\\0) — remove it`));
  const file = fileSchema.safeParse(raw);
  if (!file.success) problems.push(...describe(`${configPath}:`, file.error.issues));

  if (problems.length > 0 || !env.success || !file.success) throw new ConfigError(problems);
  const e = env.data;
  const webBaseUrl = (e.WEB_BASE_URL ?? `http://${e.WEB_HOST.includes(':') ? `[${e.WEB_HOST}]` : e.WEB_HOST}:${e.WEB_PORT}`).replace(/\/+$/, '');
  const apps = bare(Object.fromEntries(Object.entries(file.data.apps).map(([name, app]) => [name, { ...app, environments: bare(app.environments) }])));
  return deepFreeze({ ...file.data, apps, teams: bare(file.data.teams), env: e, configPath, webBaseUrl });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
