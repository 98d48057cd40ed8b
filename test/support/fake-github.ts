/**
 * A local GitHub REST server (node:http on 127.0.0.1, random port) for tests: it answers the routes Shepherd
 * uses with GitHub's real response shapes, driven by a small in-memory model the test sets up. Repository and
 * user objects come from @octokit/fixtures' recorded api.github.com responses; the other bodies are typed with
 * Octokit's own response types, so tsc checks they have GitHub's shape. Every request is recorded.
 *
 *   const gh = await startFakeGitHub();
 *   const web = gh.repo('acme/web');
 *   const sha = web.commit({ branch: 'main', message: 'fix login', author: 'alice' });
 *   web.status(sha, { context: 'ci/build', state: 'success' });
 *   const client = createGitHub({ token: gh.token, baseUrl: gh.url });
 *   ...; expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(2); await gh.close();
 *
 * Routes: GET /repos/{o}/{r}, GET /repos/{o}/{r}/commits/{ref}[/status|/check-runs|/pulls],
 * GET /repos/{o}/{r}/compare/{base}...{head}, GET|POST /repos/{o}/{r}/deployments,
 * GET|POST /repos/{o}/{r}/deployments/{id}/statuses, GET /repos/{o}/{r}/pulls/{n}[/reviews]; and the OAuth device flow:
 * POST /login/device/code, POST /login/oauth/access_token, GET /user with the token it issued.
 *
 *   gh.oauthApp('Ov23liTestClient0001');           // device flow enabled for this client id
 *   gh.nextDevice({ script: ['slow_down'], decision: { approve: 'alice-gh' } }); // how the next user code behaves
 *   gh.approveDevice(userCode, 'alice-gh');         // or decide by hand, as the user at /login/device would
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Octokit } from 'octokit';

const run = promisify(execFile);

// ---- GitHub's response types, as Octokit declares them -------------------------------------------------------
type Rest = Octokit['rest'];
type Data<K extends (...args: never[]) => Promise<{ data: unknown }>> = Awaited<ReturnType<K>>['data'];
type RepoData = Data<Rest['repos']['get']>;
type CommitData = Data<Rest['repos']['getCommit']>;
type CombinedStatusData = Data<Rest['repos']['getCombinedStatusForRef']>;
type CheckRunsData = Data<Rest['checks']['listForRef']>;
type CheckRunData = CheckRunsData['check_runs'][number];
type CompareData = Data<Rest['repos']['compareCommitsWithBasehead']>;
type DeploymentData = Data<Rest['repos']['getDeployment']>;
type DeploymentStatusData = Data<Rest['repos']['getDeploymentStatus']>;
type PullData = Data<Rest['pulls']['get']>;
type ReviewData = Data<Rest['pulls']['listReviews']>[number];
type SimpleUser = NonNullable<CombinedStatusData['repository']['owner']>;

// ---- the in-memory model ------------------------------------------------------------------------------------
export type StatusState = 'error' | 'failure' | 'pending' | 'success';
export type CheckStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;

export interface FakeCommit {
  sha: string;
  parents: string[];
  message: string;
  /** GitHub login of the author, or null when the email is not linked to an account (GitHub's `author: null`). */
  login: string | null;
  name: string;
  email: string;
  date: string;
  /** When it was committed (git's committer date); default: `date`. */
  committerDate?: string;
  additions: number;
  deletions: number;
  files: string[];
}

export interface CommitInput {
  message?: string;
  /** GitHub login (also used for name and email unless given). */
  author?: string | null;
  name?: string;
  email?: string;
  date?: string;
  committerDate?: string;
  /** Parent SHAs; default: the head of `branch`, if any. */
  parents?: string[];
  /** Moves this branch to the new commit. */
  branch?: string;
  additions?: number;
  deletions?: number;
  files?: string[];
}

export interface FakeStatus {
  id: number;
  context: string;
  state: StatusState;
  description: string | null;
  targetUrl: string | null;
  at: string;
}

export interface FakeCheckRun {
  id: number;
  name: string;
  status: CheckStatus;
  conclusion: CheckConclusion;
  at: string;
}

export interface PullInput {
  number?: number;
  title: string;
  author: string;
  /** Head commit SHA. */
  head: string;
  headRef?: string;
  baseRef?: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeCommitSha?: string | null;
  additions?: number;
  deletions?: number;
  changedFiles?: number;
  commits?: number;
  comments?: number;
  reviewComments?: number;
  body?: string | null;
}

export interface FakePull extends Required<Omit<PullInput, 'mergeCommitSha' | 'body'>> {
  mergeCommitSha: string | null;
  body: string | null;
  id: number;
  at: string;
}

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface FakeReview {
  id: number;
  user: string;
  state: ReviewState;
  at: string;
}

export interface FakeDeployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  description: string | null;
  payload: unknown;
  productionEnvironment: boolean;
  transientEnvironment: boolean;
  /** The request body as GitHub received it. */
  body: Record<string, unknown>;
  statuses: { id: number; state: string; logUrl: string; environmentUrl: string; description: string; body: Record<string, unknown> }[];
  at: string;
}

/** What the person at /login/device does with a user code; until then every poll is authorization_pending. */
export type DeviceDecision = { approve: string } | 'deny' | 'expire';

export interface FakeDeviceAuthorization {
  clientId: string;
  deviceCode: string;
  userCode: string;
  scope: string;
  decision: DeviceDecision | null;
  /** Answers served first, one per poll, before the decision counts (e.g. ['slow_down']). */
  script: ('authorization_pending' | 'slow_down')[];
  interval: number;
  polls: number;
  /** Set once a token was issued: a code is good for one token. */
  token: string | null;
}

export interface FaultInput {
  kind: 'status' | 'hang' | 'malformed' | 'html';
  /** For 'status' and 'html'; default 500 (502 is GitHub's usual HTML page). */
  status?: number;
  message?: string;
  headers?: Record<string, string>;
  method?: string;
  /** Matched against the raw path. */
  path?: RegExp;
  /** Carry the request out, then answer with the fault. */
  after?: boolean;
  /** How many matching requests get it; default 1. */
  count?: number;
}

/** GitHub's 5xx page, abridged. */
const UNICORN =
  '<html>\n<head><title>Unicorn! &middot; GitHub</title></head>\n<body><h1>No server is currently available to service your request.</h1><p>Sorry about that. Please try refreshing and contact us if the problem persists.</p></body>\n</html>\n';

export interface RecordedRequest {
  method: string;
  /** The raw path as sent (percent-encoding intact), without the query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  status: number;
}

let nextId = 1000;
const id = () => ++nextId;
let clock = Date.parse('2026-11-22T09:00:00Z');
/** Monotonic fake timestamps, so "latest" is well defined without reading the wall clock. */
const stamp = () => {
  clock += 1000;
  return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** One repository's state. Obtain with `fake.repo('owner/name')`. */
export class FakeRepo {
  readonly commits = new Map<string, FakeCommit>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly statuses = new Map<string, FakeStatus[]>();
  readonly checkRuns = new Map<string, FakeCheckRun[]>();
  readonly pulls = new Map<number, FakePull>();
  readonly deployments: FakeDeployment[] = [];
  /** Reviews per PR number, oldest first. */
  readonly reviews = new Map<number, FakeReview[]>();
  readonly id = id();
  defaultBranch = 'main';
  private counter = 0;

  constructor(readonly fullName: string) {}

  /** Adds a commit and returns its SHA (deterministic for the same content and order). */
  commit(input: CommitInput = {}): string {
    const login = input.author === undefined ? 'octocat' : input.author;
    const parents = input.parents ?? (input.branch && this.branches.has(input.branch) ? [this.branches.get(input.branch)!] : []);
    for (const p of parents) if (!this.commits.has(p)) throw new Error(`fake-github: unknown parent ${p}`);
    const message = input.message ?? `commit ${this.counter + 1}`;
    const sha = createHash('sha1')
      .update(JSON.stringify([this.fullName, ++this.counter, parents, message, login]))
      .digest('hex');
    const files = input.files ?? [`file-${this.counter}.txt`];
    this.add({
      sha,
      parents,
      message,
      login,
      name: input.name ?? login ?? 'Unknown Author',
      email: input.email ?? `${login ?? 'unknown'}@example.com`,
      date: input.date ?? stamp(),
      ...(input.committerDate ? { committerDate: input.committerDate } : {}),
      additions: input.additions ?? 1,
      deletions: input.deletions ?? 0,
      files,
    });
    if (input.branch) this.branches.set(input.branch, sha);
    return sha;
  }

  /** Adds a commit with a given SHA (e.g. one read from a real git repository). */
  add(commit: FakeCommit): void {
    this.commits.set(commit.sha, commit);
  }

  branch(name: string, sha: string): this {
    this.requireCommit(sha);
    this.branches.set(name, sha);
    return this;
  }

  tag(name: string, sha: string): this {
    this.requireCommit(sha);
    this.tags.set(name, sha);
    return this;
  }

  /** Posts a legacy commit status (the latest per context counts, as on GitHub). */
  status(sha: string, input: { context?: string; state: StatusState; description?: string; targetUrl?: string }): this {
    this.requireCommit(sha);
    const list = this.statuses.get(sha) ?? [];
    list.push({
      id: id(),
      context: input.context ?? 'default',
      state: input.state,
      description: input.description ?? null,
      targetUrl: input.targetUrl ?? null,
      at: stamp(),
    });
    this.statuses.set(sha, list);
    return this;
  }

  /** Adds a check run (`filter=latest`, GitHub's default, shows only the newest run per name). */
  checkRun(sha: string, input: { name: string; status?: CheckStatus; conclusion?: CheckConclusion }): this {
    this.requireCommit(sha);
    const status = input.status ?? (input.conclusion ? 'completed' : 'queued');
    const list = this.checkRuns.get(sha) ?? [];
    list.push({ id: id(), name: input.name, status, conclusion: status === 'completed' ? (input.conclusion ?? 'success') : null, at: stamp() });
    this.checkRuns.set(sha, list);
    return this;
  }

  /** Adds a pull request and returns its number. */
  /** Adds a review of PR `number` by `user` (listed oldest first, as GitHub lists them). */
  review(number: number, user: string, state: ReviewState): this {
    const list = this.reviews.get(number) ?? [];
    list.push({ id: id(), user, state, at: stamp() });
    this.reviews.set(number, list);
    return this;
  }

  pull(input: PullInput): number {
    this.requireCommit(input.head);
    const number = input.number ?? Math.max(0, ...this.pulls.keys()) + 1;
    const merged = input.merged ?? false;
    this.pulls.set(number, {
      number,
      title: input.title,
      author: input.author,
      head: input.head,
      headRef: input.headRef ?? `pr-${number}`,
      baseRef: input.baseRef ?? this.defaultBranch,
      state: input.state ?? (merged ? 'closed' : 'open'),
      merged,
      mergeCommitSha: input.mergeCommitSha === undefined ? null : input.mergeCommitSha,
      additions: input.additions ?? 0,
      deletions: input.deletions ?? 0,
      changedFiles: input.changedFiles ?? 0,
      commits: input.commits ?? 1,
      comments: input.comments ?? 0,
      reviewComments: input.reviewComments ?? 0,
      body: input.body ?? null,
      id: id(),
      at: stamp(),
    });
    return number;
  }

  /**
   * Loads every commit, branch and tag of a real git repository, so the SHAs the fake reports are the ones a
   * deploy really checks out. Logins come from `logins` (email → login), else the email's local part.
   */
  async importGit(dir: string, logins: Record<string, string | null> = {}): Promise<this> {
    const git = (...args: string[]) => run('git', ['-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024 }).then((r) => r.stdout);
    const log = await git('log', '--all', '--reverse', '--topo-order', '--format=%x1e%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%B%x00', '--numstat');
    for (const record of log.split('\x1e').slice(1)) {
      const [sha, parents, name, email, date, committerDate, message, numstat = ''] = record.split('\x00');
      let additions = 0;
      let deletions = 0;
      const files: string[] = [];
      for (const line of numstat.split('\n')) {
        const m = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
        if (!m) continue;
        additions += m[1] === '-' ? 0 : Number(m[1]);
        deletions += m[2] === '-' ? 0 : Number(m[2]);
        files.push(m[3]!);
      }
      const mail = email ?? '';
      this.add({
        sha: sha!,
        parents: parents ? parents.split(' ') : [],
        name: name ?? '',
        email: mail,
        login: mail in logins ? logins[mail]! : mail.split('@')[0] || null,
        date: date ?? stamp(),
        ...(committerDate ? { committerDate } : {}),
        message: (message ?? '').replace(/\n+$/, ''),
        additions,
        deletions,
        files,
      });
    }
    const refs = await git('for-each-ref', '--format=%(refname)%00%(objectname)%00%(*objectname)', 'refs/heads', 'refs/tags');
    for (const line of refs.split('\n').filter(Boolean)) {
      const [ref, object, peeled] = line.split('\x00') as [string, string, string];
      if (ref.startsWith('refs/heads/')) this.branches.set(ref.slice(11), object);
      else this.tags.set(ref.slice(10), peeled || object);
    }
    const head = await git('symbolic-ref', '--quiet', '--short', 'HEAD').catch(() => '');
    if (head.trim()) this.defaultBranch = head.trim();
    return this;
  }

  /** Ref → commit the way GitHub's commits/{ref} does: SHA (full or ≥ 4 hex), branch, tag, heads/x, tags/x. */
  resolve(ref: string): FakeCommit | undefined {
    const exact = this.commits.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^refs\//, '');
    const viaRef =
      (name.startsWith('heads/') && this.branches.get(name.slice(6))) ||
      (name.startsWith('tags/') && this.tags.get(name.slice(5))) ||
      this.branches.get(name) ||
      this.tags.get(name);
    if (viaRef) return this.commits.get(viaRef);
    if (/^[0-9a-f]{4,39}$/.test(ref)) {
      const matches = [...this.commits.keys()].filter((sha) => sha.startsWith(ref));
      if (matches.length === 1) return this.commits.get(matches[0]!);
    }
    return undefined;
  }

  /** Commits reachable from `sha` (itself included). */
  ancestors(sha: string): Set<string> {
    const seen = new Set<string>();
    const todo = [sha];
    while (todo.length > 0) {
      const s = todo.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      todo.push(...(this.commits.get(s)?.parents ?? []));
    }
    return seen;
  }

  private requireCommit(sha: string): void {
    if (!this.commits.has(sha)) throw new Error(`fake-github: ${this.fullName} has no commit ${sha}`);
  }
}

// ---- recorded shapes from @octokit/fixtures -----------------------------------------------------------------
const fixturesDir = join(dirname(createRequire(import.meta.url).resolve('@octokit/fixtures/package.json')), 'scenarios', 'api.github.com');
const fixture = (scenario: string) => JSON.parse(readFileSync(join(fixturesDir, scenario, 'normalized-fixture.json'), 'utf8')) as { response: unknown }[];
const REPO_TEMPLATE = JSON.stringify(fixture('get-repository')[0]!.response);
const USER_TEMPLATE = JSON.stringify((fixture('create-status')[0]!.response as { creator: unknown }).creator);

export interface FakeGitHubOptions {
  /** The token clients must send; anything else gets 401 Bad credentials. */
  token?: string;
  /** Web host used in html_url fields. */
  htmlUrl?: string;
}

/** The running server plus its model. `url` is the API root to pass as Octokit's baseUrl. */
export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly repos = new Map<string, FakeRepo>();
  /** When set with remaining 0, every request gets GitHub's 403 rate-limit answer. */
  rateLimit: { limit: number; remaining: number; reset: number } = { limit: 5000, remaining: 4999, reset: Math.floor(clock / 1000) + 3600 };
  private failures: { status: number; message: string; headers: Record<string, string> }[] = [];
  private faults: (FaultInput & { left: number })[] = [];
  url = '';
  /** OAuth apps (client ids) with the device flow enabled; others get incorrect_client_credentials. */
  readonly oauthApps = new Set<string>();
  readonly deviceAuthorizations: FakeDeviceAuthorization[] = [];
  /** Tokens issued by the device flow → the login they belong to (GET /user answers with it). */
  readonly userTokens = new Map<string, string>();
  private nextDevices: { script?: FakeDeviceAuthorization['script']; decision?: DeviceDecision }[] = [];

  constructor(
    private readonly server: Server,
    readonly token: string,
    readonly htmlUrl: string,
  ) {}

  /** The repository named 'owner/name', created empty on first use. */
  repo(fullName: string): FakeRepo {
    let repo = this.repos.get(fullName.toLowerCase());
    if (!repo) {
      repo = new FakeRepo(fullName);
      this.repos.set(fullName.toLowerCase(), repo);
    }
    return repo;
  }

  /** The next `count` requests get this error (e.g. 502 for an outage, 403 + retry-after for a secondary limit). */
  failNext(status: number, message = 'Server Error', count = 1, headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, message, headers });
  }

  /** Registers an OAuth app with the device flow enabled. */
  oauthApp(clientId: string): void {
    this.oauthApps.add(clientId);
  }

  /** How the next device code behaves: scripted poll answers first, then the person's decision (if any). */
  nextDevice(behaviour: { script?: FakeDeviceAuthorization['script']; decision?: DeviceDecision }): void {
    this.nextDevices.push(behaviour);
  }

  /** The person at /login/device enters `userCode` signed in as `login` and approves. */
  approveDevice(userCode: string, login: string): void {
    this.device(userCode).decision = { approve: login };
  }

  denyDevice(userCode: string): void {
    this.device(userCode).decision = 'deny';
  }

  private device(userCode: string): FakeDeviceAuthorization {
    const found = this.deviceAuthorizations.find((d) => d.userCode === userCode);
    if (!found) throw new Error(`fake-github: no device authorization with user code ${userCode}`);
    return found;
  }

  /** Drops errors queued with failNext that were not served yet. */
  /**
   * The next `count` requests matching method/path get this fault instead of their answer: an error status
   * (GitHub's JSON error body), a hang (no answer at all), a 200 with cut-off JSON, or an HTML error page
   * (GitHub's "Unicorn!"). With `after: true` the request is carried out first (a POST creates its object) and
   * only the answer is replaced, as when GitHub fails after doing the work.
   */
  fault(input: FaultInput): void {
    this.faults.push({ ...input, left: input.count ?? 1 });
  }

  /** Drops errors queued with failNext and fault that were not served yet. */
  recover(): void {
    this.failures = [];
    this.faults = [];
  }

  /** Exhausts the primary rate limit until `resetEpochSeconds`. */
  exhaustRateLimit(resetEpochSeconds: number): void {
    this.rateLimit = { ...this.rateLimit, remaining: 0, reset: resetEpochSeconds };
  }

  /** Requests matching method and a path regex (raw path), e.g. `requestsTo('POST', /\/statuses$/)`. */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- the OAuth device flow (docs.github.com: "Authorizing OAuth apps", Device flow) ----
  private handleOAuth(
    req: IncomingMessage,
    url: URL,
    raw: string,
    record: RecordedRequest,
    reply: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ) {
    if (url.pathname === '/user' && req.method === 'GET') {
      const login = this.userTokens.get(bearer(req)) as string;
      return reply(200, authenticatedUser(this.url, this.htmlUrl, login));
    }
    // GitHub takes these parameters form-encoded, as JSON or in the query string.
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    const type = String(req.headers['content-type'] ?? '');
    if (raw && type.includes('json')) Object.assign(params, JSON.parse(raw) as Record<string, string>);
    else if (raw) Object.assign(params, Object.fromEntries(new URLSearchParams(raw)));
    record.body = params;
    // Without Accept: application/json GitHub answers form-encoded, with status 200 for these errors too.
    const answer = (body: Record<string, string | number>) => {
      if (/application\/json/.test(String(req.headers.accept ?? ''))) return reply(200, body);
      const form = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return reply(200, form, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    };
    const fail = (error: string, description: string, extra: Record<string, number> = {}) =>
      answer({
        error,
        error_description: description,
        error_uri: 'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow',
        ...extra,
      });
    if (req.method !== 'POST') return reply(404, { message: 'Not Found' });
    const clientId = params.client_id ?? '';

    if (url.pathname === '/login/device/code') {
      if (!this.oauthApps.has(clientId)) return fail('incorrect_client_credentials', 'The client_id is not valid.');
      const behaviour = this.nextDevices.shift() ?? {};
      const letters = 'BCDFGHJKLMNPQRSTVWXZ0123456789';
      const pick = () => letters[Math.floor(Math.random() * letters.length)];
      const userCode = `${Array.from({ length: 4 }, pick).join('')}-${Array.from({ length: 4 }, pick).join('')}`;
      const device: FakeDeviceAuthorization = {
        clientId,
        deviceCode: createHash('sha1').update(`${userCode}:${id()}`).digest('hex'),
        userCode,
        scope: params.scope ?? '',
        decision: behaviour.decision ?? null,
        script: [...(behaviour.script ?? [])],
        interval: 5,
        polls: 0,
        token: null,
      };
      this.deviceAuthorizations.push(device);
      return answer({
        device_code: device.deviceCode,
        user_code: device.userCode,
        verification_uri: `${this.htmlUrl}/login/device`,
        expires_in: 900,
        interval: device.interval,
      });
    }

    if (url.pathname === '/login/oauth/access_token') {
      if (params.grant_type !== 'urn:ietf:params:oauth:grant-type:device_code') return fail('unsupported_grant_type', 'The grant type is not supported.');
      if (!this.oauthApps.has(clientId)) return fail('incorrect_client_credentials', 'The client_id is not valid.');
      const device = this.deviceAuthorizations.find((d) => d.deviceCode === params.device_code && d.clientId === clientId);
      if (!device || device.token) return fail('incorrect_device_code', 'The device_code provided is not valid.');
      device.polls++;
      const scripted = device.script.shift();
      if (scripted === 'slow_down') {
        device.interval += 5;
        return fail('slow_down', 'Too many requests have been made in the same timeframe.', { interval: device.interval });
      }
      if (scripted === 'authorization_pending' || device.decision === null) return fail('authorization_pending', 'The authorization request is still pending.');
      if (device.decision === 'deny') return fail('access_denied', 'The authorization request was denied.');
      if (device.decision === 'expire') return fail('expired_token', 'The device code has expired.');
      device.token = `gho_${createHash('sha256').update(device.deviceCode).digest('hex').slice(0, 36)}`;
      this.userTokens.set(device.token, device.decision.approve);
      return answer({ access_token: device.token, token_type: 'bearer', scope: device.scope });
    }
    return reply(404, { message: 'Not Found' });
  }

  // ---- HTTP ----
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    this.requests.push(record);
    let after: FaultInput | null = null;
    const serveFault = (f: FaultInput): boolean => {
      if (f.kind === 'hang') return true; // never answered; close() ends the connection
      record.status = f.kind === 'malformed' ? 200 : (f.status ?? 500);
      if (f.kind === 'html') {
        res.writeHead(record.status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(UNICORN);
      } else if (f.kind === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"number": 14, "title": "Fix log');
      } else {
        res.writeHead(record.status, { 'content-type': 'application/json; charset=utf-8', ...(f.headers ?? {}) });
        res.end(JSON.stringify({ message: f.message ?? 'Server Error', documentation_url: 'https://docs.github.com/rest', status: String(record.status) }));
      }
      return true;
    };
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (after) {
        serveFault(after);
        return;
      }
      record.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': `0000:${String(this.requests.length).padStart(5, '0')}`,
        'x-ratelimit-limit': String(this.rateLimit.limit),
        'x-ratelimit-remaining': String(this.rateLimit.remaining),
        'x-ratelimit-reset': String(this.rateLimit.reset),
        'x-ratelimit-used': String(this.rateLimit.limit - this.rateLimit.remaining),
        'x-ratelimit-resource': 'core',
        ...headers,
      });
      res.end(text);
    };
    const error = (status: number, message: string, doc = 'https://docs.github.com/rest', headers: Record<string, string> = {}) =>
      reply(status, { message, documentation_url: doc, status: String(status) }, headers);

    if (url.pathname.startsWith('/login/') || (url.pathname === '/user' && this.userTokens.has(bearer(req)))) {
      return this.handleOAuth(req, url, raw, record, reply);
    }

    if (raw) {
      try {
        record.body = JSON.parse(raw);
      } catch {
        return error(400, 'Problems parsing JSON');
      }
    }
    const auth = req.headers.authorization ?? '';
    if (!/^(token|bearer) /i.test(auth) || auth.replace(/^(token|bearer) /i, '') !== this.token) return error(401, 'Bad credentials');
    if (this.rateLimit.remaining <= 0) {
      return error(403, 'API rate limit exceeded for user ID 1000.', 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api');
    }
    this.rateLimit.remaining--;
    const failure = this.failures.shift();
    if (failure) return error(failure.status, failure.message, 'https://docs.github.com/rest', failure.headers);
    const fault = this.faults.find((f) => f.left > 0 && (!f.method || f.method === record.method) && (!f.path || f.path.test(record.path)));
    if (fault) {
      fault.left--;
      if (fault.after) after = fault;
      else {
        serveFault(fault);
        return;
      }
    }

    let segments: string[];
    try {
      segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      return error(400, 'Bad path');
    }
    const [root, owner, name, kind, ...rest] = segments;
    const method = record.method;
    if (root !== 'repos' || !owner || !name) return error(404, 'Not Found');
    const repo = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!repo) return error(404, 'Not Found', 'https://docs.github.com/rest/repos/repos#get-a-repository');
    const ctx = new Shapes(this.url, this.htmlUrl, repo);
    const body = (record.body ?? {}) as Record<string, unknown>;
    const page = (items: unknown[], doc: string) => paginate(items, url, this.url, doc);

    if (kind === undefined && method === 'GET') return reply(200, ctx.repository());

    if (kind === 'commits' && rest.length > 0 && method === 'GET') {
      // commits/{ref}, commits/{ref}/status, commits/{ref}/check-runs, commits/{ref}/pulls; a ref may hold '/'.
      const last = rest[rest.length - 1]!;
      const sub = rest.length > 1 && ['status', 'check-runs', 'pulls', 'statuses'].includes(last) ? last : '';
      const ref = (sub ? rest.slice(0, -1) : rest).join('/');
      const commit = repo.resolve(ref);
      if (!commit) return error(422, `No commit found for SHA: ${ref}`, 'https://docs.github.com/rest/commits/commits#get-a-commit');
      if (sub === '') {
        const accept = String(req.headers.accept ?? '');
        if (/vnd\.github(\.v3)?\.sha/.test(accept)) {
          return reply(200, commit.sha, { 'content-type': 'application/vnd.github.sha; charset=utf-8', 'x-github-media-type': 'github.v3; param=sha' });
        }
        return reply(200, ctx.commit(commit, true));
      }
      if (sub === 'status') return reply(200, ctx.combinedStatus(commit.sha, ref));
      if (sub === 'statuses') {
        const { items, headers } = page(ctx.latestFirstStatuses(commit.sha), 'statuses');
        return reply(200, items, headers);
      }
      if (sub === 'check-runs') {
        const runs = ctx.checkRuns(commit.sha, url.searchParams.get('filter') ?? 'latest', url.searchParams.get('check_name'));
        const { items, headers } = page(runs, 'check-runs');
        const data: CheckRunsData = { total_count: runs.length, check_runs: items as CheckRunData[] };
        return reply(200, data, headers);
      }
      const pulls = [...repo.pulls.values()].filter((p) => p.head === commit.sha || p.mergeCommitSha === commit.sha);
      return reply(
        200,
        pulls.map((p) => ctx.pull(p)),
      );
    }

    if (kind === 'compare' && rest.length > 0 && method === 'GET') {
      const basehead = rest.join('/');
      const split = basehead.indexOf('...');
      if (split < 0) return error(404, 'Not Found', 'https://docs.github.com/rest/commits/commits#compare-two-commits');
      const base = repo.resolve(basehead.slice(0, split));
      const head = repo.resolve(basehead.slice(split + 3));
      if (!base || !head) return error(404, 'Not Found', 'https://docs.github.com/rest/commits/commits#compare-two-commits');
      return reply(200, ctx.compare(base, head, url.searchParams));
    }

    if (kind === 'deployments') {
      const deployment = rest[0] ? repo.deployments.find((d) => String(d.id) === rest[0]) : undefined;
      if (rest.length === 0 && method === 'POST') {
        if (typeof body.ref !== 'string')
          return error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.', 'https://docs.github.com/rest/deployments/deployments#create-a-deployment');
        const commit = repo.resolve(body.ref);
        if (!commit) return error(422, `No ref found for: ${body.ref}`, 'https://docs.github.com/rest/deployments/deployments#create-a-deployment');
        // Without required_contexts GitHub insists every status context is green (409); Shepherd sends [].
        const required = Array.isArray(body.required_contexts) ? (body.required_contexts as string[]) : [...ctx.latestStatuses(commit.sha).keys()];
        const failing = required.filter((c) => ctx.latestStatuses(commit.sha).get(c)?.state !== 'success');
        if (failing.length > 0) {
          return error(
            409,
            `Conflict: Commit status checks failed for ${body.ref}.`,
            'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
          );
        }
        const environment = typeof body.environment === 'string' ? body.environment : 'production';
        const created: FakeDeployment = {
          id: id(),
          sha: commit.sha,
          ref: body.ref,
          environment,
          description: typeof body.description === 'string' ? body.description : null,
          payload: body.payload ?? {},
          productionEnvironment: typeof body.production_environment === 'boolean' ? body.production_environment : environment === 'production',
          transientEnvironment: body.transient_environment === true,
          body,
          statuses: [],
          at: stamp(),
        };
        repo.deployments.push(created);
        return reply(201, ctx.deployment(created), { location: `${this.url}/repos/${repo.fullName}/deployments/${created.id}` });
      }
      if (rest.length === 0 && method === 'GET') {
        const env = url.searchParams.get('environment');
        const sha = url.searchParams.get('sha');
        const list = repo.deployments.filter((d) => (!env || d.environment === env) && (!sha || d.sha === sha)).reverse();
        const { items, headers } = page(
          list.map((d) => ctx.deployment(d)),
          'deployments',
        );
        return reply(200, items, headers);
      }
      if (!deployment) return error(404, 'Not Found', 'https://docs.github.com/rest/deployments/statuses');
      if (rest[1] === 'statuses' && rest.length === 2 && method === 'POST') {
        const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
        if (typeof body.state !== 'string' || !states.includes(body.state)) {
          return reply(422, {
            message: 'Validation Failed',
            errors: [{ resource: 'DeploymentStatus', code: 'custom', field: 'state', message: 'state is not included in the list' }],
            documentation_url: 'https://docs.github.com/rest/deployments/statuses#create-a-deployment-status',
            status: '422',
          });
        }
        const status = {
          id: id(),
          state: body.state,
          logUrl: typeof body.log_url === 'string' ? body.log_url : typeof body.target_url === 'string' ? body.target_url : '',
          environmentUrl: typeof body.environment_url === 'string' ? body.environment_url : '',
          description: typeof body.description === 'string' ? body.description : '',
          body,
        };
        deployment.statuses.push(status);
        return reply(201, ctx.deploymentStatus(deployment, status));
      }
      if (rest[1] === 'statuses' && rest.length === 2 && method === 'GET') {
        const { items, headers } = page(
          [...deployment.statuses].reverse().map((s) => ctx.deploymentStatus(deployment, s)),
          'deployments/statuses',
        );
        return reply(200, items, headers);
      }
      if (rest.length === 1 && method === 'GET') return reply(200, ctx.deployment(deployment));
    }

    if (kind === 'pulls' && rest.length === 2 && rest[1] === 'reviews' && method === 'GET') {
      const pull = repo.pulls.get(Number(rest[0]));
      if (!/^\d+$/.test(rest[0]!) || !pull) return error(404, 'Not Found', 'https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request');
      const { items, headers } = page(
        (repo.reviews.get(pull.number) ?? []).map((r) => ctx.review(pull, r)),
        'pulls/reviews',
      );
      return reply(200, items, headers);
    }

    if (kind === 'pulls' && rest.length === 1 && method === 'GET') {
      const pull = repo.pulls.get(Number(rest[0]));
      if (!/^\d+$/.test(rest[0]!) || !pull) return error(404, 'Not Found', 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request');
      return reply(200, ctx.pull(pull));
    }

    return error(404, 'Not Found');
  }
}

/** Starts the server on 127.0.0.1 at a random free port. Always `await fake.close()` in afterAll. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const server = createServer();
  const fake = new FakeGitHub(server, options.token ?? 'ghp_fakeTestToken000000000000000000000000', options.htmlUrl ?? 'https://github.com');
  server.on('request', (req, res) => {
    fake.handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ message: `fake-github: ${err.message}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

type AuthenticatedUser = Data<Rest['users']['getAuthenticated']>;

function bearer(req: IncomingMessage): string {
  return String(req.headers.authorization ?? '').replace(/^(token|bearer) /i, '');
}

/** GET /user: the simple-user fields plus the public profile, as GitHub answers for a token without scopes. */
function authenticatedUser(api: string, html: string, login: string): AuthenticatedUser {
  const simple = simpleUser(api, html, login);
  return {
    ...simple,
    name: login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 1,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2026-11-01T00:00:00Z',
  };
}

function simpleUser(api: string, html: string, login: string): SimpleUser {
  const userId = 5000 + (createHash('sha1').update(login).digest().readUInt16BE(0) % 50000);
  return JSON.parse(
    USER_TEMPLATE.replaceAll('octokit-fixture-user-a', login)
      .replaceAll('https://api.github.com', api)
      .replaceAll('https://github.com', html)
      .replaceAll('/u/1000?', `/u/${userId}?`),
  ) as SimpleUser;
}

/** per_page/page with GitHub's Link header (Octokit's paginate() follows rel="next"). */
function paginate(items: unknown[], url: URL, base: string, _doc: string): { items: unknown[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const u = new URL(url.pathname + url.search, base);
    u.searchParams.set('page', String(n));
    u.searchParams.set('per_page', String(perPage));
    return `<${u.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return { items: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(', ') } : {} };
}

/** Builds response bodies in GitHub's shapes for one repository. */
class Shapes {
  private readonly api: string;
  private readonly repoApi: string;
  private readonly repoHtml: string;

  constructor(
    api: string,
    private readonly html: string,
    private readonly repo: FakeRepo,
  ) {
    this.api = api;
    this.repoApi = `${api}/repos/${repo.fullName}`;
    this.repoHtml = `${html}/${repo.fullName}`;
  }

  user(login: string): SimpleUser {
    return simpleUser(this.api, this.html, login);
  }

  repository(): RepoData {
    const [owner, name] = this.repo.fullName.split('/') as [string, string];
    const data = JSON.parse(
      REPO_TEMPLATE.replaceAll('octokit-fixture-org/hello-world', this.repo.fullName)
        .replaceAll('octokit-fixture-org', owner)
        .replaceAll('"hello-world"', JSON.stringify(name))
        .replaceAll('https://api.github.com', this.api)
        .replaceAll('https://github.com', this.html),
    ) as RepoData;
    return { ...data, id: this.repo.id, default_branch: this.repo.defaultBranch };
  }

  commit(c: FakeCommit, withFiles: boolean): CommitData {
    const person = { name: c.name, email: c.email, date: c.date };
    // GitHub gives git dates in UTC, without fractions: 2011-04-14T16:00:49Z.
    const committer = { ...person, date: new Date(c.committerDate ?? c.date).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    const data: CommitData = {
      url: `${this.repoApi}/commits/${c.sha}`,
      sha: c.sha,
      node_id: Buffer.from(`Commit:${c.sha}`).toString('base64'),
      html_url: `${this.repoHtml}/commit/${c.sha}`,
      comments_url: `${this.repoApi}/commits/${c.sha}/comments`,
      commit: {
        url: `${this.repoApi}/git/commits/${c.sha}`,
        author: person,
        committer,
        message: c.message,
        comment_count: 0,
        tree: { sha: createHash('sha1').update(`tree:${c.sha}`).digest('hex'), url: `${this.repoApi}/git/trees/${c.sha}` },
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      author: c.login ? this.user(c.login) : null,
      committer: c.login ? this.user(c.login) : null,
      parents: c.parents.map((p) => ({ sha: p, url: `${this.repoApi}/commits/${p}`, html_url: `${this.repoHtml}/commit/${p}` })),
    };
    if (withFiles) {
      data.stats = { additions: c.additions, deletions: c.deletions, total: c.additions + c.deletions };
      // Spread the commit's line counts over its files so the per-file numbers add up like GitHub's do.
      data.files = c.files.map((filename, i) => {
        const additions = i === 0 ? c.additions - Math.floor(c.additions / c.files.length) * (c.files.length - 1) : Math.floor(c.additions / c.files.length);
        const deletions = i === 0 ? c.deletions - Math.floor(c.deletions / c.files.length) * (c.files.length - 1) : Math.floor(c.deletions / c.files.length);
        return {
          sha: createHash('sha1').update(`${c.sha}:${filename}`).digest('hex'),
          filename,
          status: 'modified' as const,
          additions,
          deletions,
          changes: additions + deletions,
          blob_url: `${this.repoHtml}/blob/${c.sha}/${filename}`,
          raw_url: `${this.repoHtml}/raw/${c.sha}/${filename}`,
          contents_url: `${this.repoApi}/contents/${filename}?ref=${c.sha}`,
        };
      });
    }
    return data;
  }

  latestStatuses(sha: string): Map<string, FakeStatus> {
    const latest = new Map<string, FakeStatus>();
    for (const s of this.repo.statuses.get(sha) ?? []) latest.set(s.context, s);
    return latest;
  }

  private statusItem(sha: string, s: FakeStatus) {
    return {
      url: `${this.repoApi}/statuses/${sha}`,
      avatar_url: 'https://avatars.githubusercontent.com/u/31898046?v=4',
      id: s.id,
      node_id: Buffer.from(`StatusContext:${s.id}`).toString('base64'),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.at,
      updated_at: s.at,
    };
  }

  latestFirstStatuses(sha: string) {
    return [...(this.repo.statuses.get(sha) ?? [])].reverse().map((s) => ({ ...this.statusItem(sha, s), creator: this.user('ci-bot') }));
  }

  combinedStatus(sha: string, ref: string): CombinedStatusData {
    const latest = [...this.latestStatuses(sha).values()];
    // GitHub: failure if any context errored or failed, pending if any is pending or there are none, else success.
    const state = latest.some((s) => s.state === 'error' || s.state === 'failure')
      ? 'failure'
      : latest.length === 0 || latest.some((s) => s.state === 'pending')
        ? 'pending'
        : 'success';
    const repository = this.repository();
    return {
      state,
      statuses: latest.map((s) => this.statusItem(sha, s)),
      sha,
      total_count: latest.length,
      repository: repository as unknown as CombinedStatusData['repository'],
      commit_url: `${this.repoApi}/commits/${sha}`,
      url: `${this.repoApi}/commits/${encodeURIComponent(ref)}/status`,
    };
  }

  checkRuns(sha: string, filter: string, checkName: string | null): CheckRunData[] {
    let runs = this.repo.checkRuns.get(sha) ?? [];
    if (filter !== 'all') {
      const latest = new Map<string, FakeCheckRun>();
      for (const r of runs) latest.set(r.name, r);
      runs = [...latest.values()];
    }
    if (checkName) runs = runs.filter((r) => r.name === checkName);
    return runs.map((r) => ({
      id: r.id,
      head_sha: sha,
      node_id: Buffer.from(`CheckRun:${r.id}`).toString('base64'),
      external_id: '',
      url: `${this.repoApi}/check-runs/${r.id}`,
      html_url: `${this.repoHtml}/runs/${r.id}`,
      details_url: `${this.repoHtml}/runs/${r.id}`,
      status: r.status,
      conclusion: r.conclusion,
      started_at: r.at,
      completed_at: r.status === 'completed' ? r.at : null,
      output: { title: null, summary: null, text: null, annotations_count: 0, annotations_url: `${this.repoApi}/check-runs/${r.id}/annotations` },
      name: r.name,
      check_suite: { id: r.id + 1 },
      app: null,
      pull_requests: [],
    }));
  }

  compare(base: FakeCommit, head: FakeCommit, params: URLSearchParams): CompareData {
    const fromBase = this.repo.ancestors(base.sha);
    const fromHead = this.repo.ancestors(head.sha);
    const order = [...this.repo.commits.keys()];
    const rank = (sha: string) => order.indexOf(sha);
    // Commits head has that base lacks, oldest first (GitHub sorts them chronologically).
    const ahead = [...fromHead].filter((s) => !fromBase.has(s)).sort((a, b) => rank(a) - rank(b));
    const behind = [...fromBase].filter((s) => !fromHead.has(s));
    const common = [...fromHead].filter((s) => fromBase.has(s)).sort((a, b) => rank(b) - rank(a))[0];
    const status = ahead.length === 0 && behind.length === 0 ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
    // Without page parameters GitHub returns up to 250 commits; with them, pages of per_page (default 30).
    const paged = params.has('page') || params.has('per_page');
    const perPage = Math.min(100, Math.max(1, Number(params.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
    const shown = paged ? ahead.slice((page - 1) * perPage, page * perPage) : ahead.slice(0, 250);
    const mergeBase = common ? this.repo.commits.get(common)! : base;
    return {
      url: `${this.repoApi}/compare/${base.sha}...${head.sha}`,
      html_url: `${this.repoHtml}/compare/${base.sha}...${head.sha}`,
      permalink_url: `${this.repoHtml}/compare/${this.repo.fullName.split('/')[0]}:${base.sha}...${this.repo.fullName.split('/')[0]}:${head.sha}`,
      diff_url: `${this.repoHtml}/compare/${base.sha}...${head.sha}.diff`,
      patch_url: `${this.repoHtml}/compare/${base.sha}...${head.sha}.patch`,
      base_commit: this.commit(base, false),
      merge_base_commit: this.commit(mergeBase, false),
      status,
      ahead_by: ahead.length,
      behind_by: behind.length,
      total_commits: ahead.length,
      commits: shown.map((s) => this.commit(this.repo.commits.get(s)!, false)),
      files: page === 1 ? ahead.flatMap((s) => this.commit(this.repo.commits.get(s)!, true).files ?? []).slice(0, 300) : [],
    };
  }

  deployment(d: FakeDeployment): DeploymentData {
    return {
      url: `${this.repoApi}/deployments/${d.id}`,
      id: d.id,
      node_id: Buffer.from(`Deployment:${d.id}`).toString('base64'),
      sha: d.sha,
      ref: d.ref,
      task: 'deploy',
      payload: (d.payload ?? {}) as DeploymentData['payload'],
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      creator: this.user('shepherd-bot'),
      created_at: d.at,
      updated_at: d.at,
      statuses_url: `${this.repoApi}/deployments/${d.id}/statuses`,
      repository_url: this.repoApi,
      transient_environment: d.transientEnvironment,
      production_environment: d.productionEnvironment,
    };
  }

  deploymentStatus(d: FakeDeployment, s: FakeDeployment['statuses'][number]): DeploymentStatusData {
    const at = stamp();
    return {
      url: `${this.repoApi}/deployments/${d.id}/statuses/${s.id}`,
      id: s.id,
      node_id: Buffer.from(`DeploymentStatus:${s.id}`).toString('base64'),
      state: s.state as DeploymentStatusData['state'],
      creator: this.user('shepherd-bot'),
      description: s.description,
      environment: d.environment,
      target_url: s.logUrl,
      created_at: at,
      updated_at: at,
      deployment_url: `${this.repoApi}/deployments/${d.id}`,
      repository_url: this.repoApi,
      environment_url: s.environmentUrl,
      log_url: s.logUrl,
    };
  }

  review(p: FakePull, r: FakeReview): ReviewData {
    const n = p.number;
    return {
      id: r.id,
      node_id: Buffer.from(`PullRequestReview:${r.id}`).toString('base64'),
      user: this.user(r.user),
      body: '',
      state: r.state,
      html_url: `${this.repoHtml}/pull/${n}#pullrequestreview-${r.id}`,
      pull_request_url: `${this.repoApi}/pulls/${n}`,
      _links: { html: { href: `${this.repoHtml}/pull/${n}#pullrequestreview-${r.id}` }, pull_request: { href: `${this.repoApi}/pulls/${n}` } },
      submitted_at: r.at,
      commit_id: p.head,
      author_association: 'MEMBER',
    };
  }

  pull(p: FakePull): PullData {
    const n = p.number;
    const repository = this.repository() as unknown as PullData['head']['repo'];
    const owner = this.repo.fullName.split('/')[0]!;
    const side = (ref: string, sha: string) => ({ label: `${owner}:${ref}`, ref, repo: repository, sha, user: this.user(owner) });
    const baseSha = this.repo.branches.get(p.baseRef) ?? p.head;
    const link = (href: string) => ({ href });
    return {
      url: `${this.repoApi}/pulls/${n}`,
      id: p.id,
      node_id: Buffer.from(`PullRequest:${p.id}`).toString('base64'),
      html_url: `${this.repoHtml}/pull/${n}`,
      diff_url: `${this.repoHtml}/pull/${n}.diff`,
      patch_url: `${this.repoHtml}/pull/${n}.patch`,
      issue_url: `${this.repoApi}/issues/${n}`,
      commits_url: `${this.repoApi}/pulls/${n}/commits`,
      review_comments_url: `${this.repoApi}/pulls/${n}/comments`,
      review_comment_url: `${this.repoApi}/pulls/comments{/number}`,
      comments_url: `${this.repoApi}/issues/${n}/comments`,
      statuses_url: `${this.repoApi}/statuses/${p.head}`,
      number: n,
      state: p.state,
      locked: false,
      title: p.title,
      user: this.user(p.author),
      body: p.body,
      labels: [],
      milestone: null,
      active_lock_reason: null,
      created_at: p.at,
      updated_at: p.at,
      closed_at: p.state === 'closed' ? p.at : null,
      merged_at: p.merged ? p.at : null,
      merge_commit_sha: p.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: side(p.headRef, p.head),
      base: side(p.baseRef, baseSha),
      _links: {
        self: link(`${this.repoApi}/pulls/${n}`),
        html: link(`${this.repoHtml}/pull/${n}`),
        issue: link(`${this.repoApi}/issues/${n}`),
        comments: link(`${this.repoApi}/issues/${n}/comments`),
        review_comments: link(`${this.repoApi}/pulls/${n}/comments`),
        review_comment: link(`${this.repoApi}/pulls/comments{/number}`),
        commits: link(`${this.repoApi}/pulls/${n}/commits`),
        statuses: link(`${this.repoApi}/statuses/${p.head}`),
      },
      author_association: 'MEMBER',
      auto_merge: null,
      draft: false,
      merged: p.merged,
      mergeable: p.merged ? null : true,
      rebaseable: p.merged ? null : true,
      mergeable_state: p.merged ? 'unknown' : 'clean',
      merged_by: p.merged ? this.user(owner) : null,
      comments: p.comments,
      review_comments: p.reviewComments,
      maintainer_can_modify: false,
      commits: p.commits,
      additions: p.additions,
      deletions: p.deletions,
      changed_files: p.changedFiles,
    };
  }
}
