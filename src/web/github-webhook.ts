/**
 * `POST /github/webhook`: GitHub's deliveries in, checked in this order, each answer saying why:
 * signature (X-Hub-Signature-256, HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET, constant time) → 401;
 * body (JSON, or GitHub's form encoding `payload=`) → 400; `ping` → 200; a repository no app names → 404;
 * a delivery id seen before → 200 "already handled"; else 202 at once and the event is handled in the
 * background (GitHub gives up after 10 s). The route is exempt from WEB_AUTH: the signature is its check.
 *
 *   registerGitHubWebhook(app, { secret, knowsRepository, deliveries, onEvent, logger });
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export const WEBHOOK_PATH = '/github/webhook';

/** One delivery, verified and parsed. */
export interface WebhookEvent {
  /** X-GitHub-Event: 'check_suite', 'status', 'workflow_run', 'push', … */
  name: string;
  /** X-GitHub-Delivery. */
  delivery: string;
  /** 'owner/name' from payload.repository.full_name. */
  repository: string;
  payload: Record<string, unknown>;
}

export interface GitHubWebhookOptions {
  /** GITHUB_WEBHOOK_SECRET; without it every delivery is refused (401), since none can be verified. */
  secret: string | undefined;
  /** True when an app in shepherd.yml names this repository (case-insensitive, as GitHub's names are). */
  knowsRepository(fullName: string): boolean;
  /** Records a delivery id; false when it was seen before. */
  deliveries: { claim(input: { id: string; event: string; repository: string | null; at: Date }): Promise<boolean> };
  /** Handles a new event in the background; its errors are logged, never answered (the reply went already). */
  onEvent(event: WebhookEvent): Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** GitHub's largest payload is 25 MB. */
const BODY_LIMIT = 25 * 1024 * 1024;

/** True when `header` is `sha256=<hex>` of the body under `secret`; the comparison takes the same time whatever differs. */
export function validSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.slice(7), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Registers the route in its own scope (its raw-body parser stays there). */
export function registerGitHubWebhook(app: FastifyInstance, options: GitHubWebhookOptions): void {
  const now = options.now ?? (() => new Date());
  const log = options.logger.child({ component: 'webhook' });
  void app.register(async (scope) => {
    // The signature covers the exact bytes GitHub sent: keep them unparsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post(WEBHOOK_PATH, { config: { webAuth: false }, bodyLimit: BODY_LIMIT }, async (req, reply) => {
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!options.secret) return reply.code(401).send({ error: 'webhooks are off: GITHUB_WEBHOOK_SECRET is not set on this Shepherd' });
      const signature = header('x-hub-signature-256');
      if (!signature) return reply.code(401).send({ error: 'missing X-Hub-Signature-256: set the webhook secret in GitHub to GITHUB_WEBHOOK_SECRET' });
      if (!validSignature(options.secret, raw, signature)) {
        log.warn({ delivery: header('x-github-delivery') }, 'webhook with a wrong signature refused');
        return reply.code(401).send({ error: 'X-Hub-Signature-256 does not match: the webhook secret differs from GITHUB_WEBHOOK_SECRET' });
      }
      const name = header('x-github-event');
      const delivery = header('x-github-delivery');
      if (!name || !delivery) return reply.code(400).send({ error: 'missing X-GitHub-Event or X-GitHub-Delivery header' });
      const payload = parsePayload(raw, String(req.headers['content-type'] ?? ''));
      if (!payload) return reply.code(400).send({ error: 'the body is not a JSON object (send it as application/json)' });
      if (name === 'ping') return reply.code(200).send({ ok: true, pong: typeof payload.zen === 'string' ? payload.zen : true });
      const repository = repositoryOf(payload);
      if (!repository) return reply.code(400).send({ error: `a ${name} event without repository.full_name` });
      if (!options.knowsRepository(repository)) {
        return reply.code(404).send({ error: `no app in shepherd.yml has repo: ${repository} — add it, or remove this webhook` });
      }
      const fresh = await options.deliveries.claim({ id: delivery, event: name, repository, at: now() });
      if (!fresh) return reply.code(200).send({ ok: true, note: `delivery ${delivery} was handled already` });
      // Answer first: GitHub waits 10 s at most. The work goes on without the request.
      void options.onEvent({ name, delivery, repository, payload }).catch((err) => log.error({ err, delivery, event: name }, 'webhook event failed'));
      return reply.code(202).send({ ok: true, accepted: name });
    });
  });
}

function parsePayload(raw: Buffer, type: string): Record<string, unknown> | null {
  let text = raw.toString('utf8');
  if (type.startsWith('application/x-www-form-urlencoded')) text = new URLSearchParams(text).get('payload') ?? '';
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function repositoryOf(payload: Record<string, unknown>): string | null {
  const repo = payload.repository as { full_name?: unknown } | undefined;
  return repo && typeof repo.full_name === 'string' ? repo.full_name : null;
}
