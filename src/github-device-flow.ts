/**
 * GitHub's OAuth device flow, as a client: ask for a device code, show the user the code and the URL, poll for
 * the token honouring `interval` and `slow_down`, then ask GET /user who the token belongs to. The token is used
 * once and forgotten: Shepherd only needs to know the login, not to act as the user.
 * See docs.github.com "Authorizing OAuth apps", section "Device flow".
 *
 *   const flow = new GitHubDeviceFlow({ clientId: 'Ov23li…', apiUrl: 'https://api.github.com' });
 *   const code = await flow.start();            // show code.userCode and code.verificationUri
 *   const outcome = await flow.waitForLogin(code); // { ok: true, login: 'octocat' } | { ok: false, … }
 */

export interface DeviceCode {
  deviceCode: string;
  /** What the user types at verificationUri, e.g. WDJB-MJHT. */
  userCode: string;
  verificationUri: string;
  /** Seconds until the codes expire (GitHub: 900). */
  expiresIn: number;
  /** Minimum seconds between polls (GitHub: 5). */
  interval: number;
}

export type DeviceFlowOutcome = { ok: true; login: string } | { ok: false; reason: 'access_denied' | 'expired_token' | 'error'; message: string };

export interface DeviceFlowOptions {
  clientId: string;
  /** GITHUB_API_URL; the web endpoints (/login/...) are on the matching web host, see githubWebUrl(). */
  apiUrl: string;
  /** Where /login/device/code and /login/oauth/access_token live; default githubWebUrl(apiUrl). */
  webUrl?: string;
  fetch?: typeof fetch;
  /** How the poll waits between requests; injectable so tests need not wait GitHub's 5 s. */
  sleep?: (ms: number) => Promise<void>;
  /** Per HTTP request. Default 30 s. */
  requestTimeoutMs?: number;
}

/** GitHub could not start or finish the flow (bad client id, device flow disabled, unreachable). One line. */
export class DeviceFlowError extends Error {
  override name = 'DeviceFlowError';
}

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628: slow_down adds 5 seconds to the interval. */
const SLOW_DOWN_STEP_S = 5;
/** Network failures in a row before the poll gives up. */
const MAX_POLL_FAILURES = 3;

/**
 * The web host for an API URL: api.github.com → github.com, <host>/api/v3 (GitHub Enterprise Server) → <host>,
 * api.<sub>.ghe.com → <sub>.ghe.com; anything else (a test server) serves both.
 *
 *   githubWebUrl('https://ghe.acme.com/api/v3') // 'https://ghe.acme.com'
 */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (url.hostname === 'api.github.com') return `${url.protocol}//github.com`;
  if (/^api\.[^.]+\.ghe\.com$/.test(url.hostname)) return `${url.protocol}//${url.host.slice(4)}`;
  if (path.endsWith('/api/v3')) return `${url.protocol}//${url.host}${path.slice(0, -'/api/v3'.length)}`;
  return `${url.protocol}//${url.host}${path}`;
}

export class GitHubDeviceFlow {
  private readonly webUrl: string;
  private readonly apiUrl: string;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: DeviceFlowOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.webUrl = (options.webUrl ?? githubWebUrl(options.apiUrl)).replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    // unref: a code nobody enters must not keep a stopping bot alive for 15 minutes.
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
  }

  /** POST /login/device/code. Throws DeviceFlowError when GitHub refuses or cannot be reached. */
  async start(): Promise<DeviceCode> {
    // No scope: GET /user answers with the public profile, which is all that proves a login.
    const body = await this.post('/login/device/code', { client_id: this.options.clientId, scope: '' });
    if (typeof body.error === 'string') throw new DeviceFlowError(`GitHub refused the device code: ${describeError(body)}`);
    const { device_code, user_code, verification_uri, expires_in, interval } = body;
    if (typeof device_code !== 'string' || typeof user_code !== 'string' || typeof verification_uri !== 'string') {
      throw new DeviceFlowError('GitHub answered /login/device/code without a device code — check GITHUB_API_URL');
    }
    return {
      deviceCode: device_code,
      userCode: user_code,
      verificationUri: verification_uri,
      expiresIn: typeof expires_in === 'number' && expires_in > 0 ? expires_in : 900,
      interval: typeof interval === 'number' && interval > 0 ? interval : 5,
    };
  }

  /**
   * Polls POST /login/oauth/access_token until the user approves, denies, or the code expires, then asks GET
   * /user whose token it is. Never throws: every ending is an outcome.
   */
  async waitForLogin(code: DeviceCode): Promise<DeviceFlowOutcome> {
    let intervalS = code.interval;
    let waitedS = 0;
    let failures = 0;
    for (;;) {
      if (waitedS >= code.expiresIn) return { ok: false, reason: 'expired_token', message: 'the code expired' };
      await this.sleep(intervalS * 1000);
      waitedS += intervalS;
      let body: Record<string, unknown>;
      try {
        body = await this.post('/login/oauth/access_token', {
          client_id: this.options.clientId,
          device_code: code.deviceCode,
          grant_type: DEVICE_GRANT_TYPE,
        });
        failures = 0;
      } catch (err) {
        if (++failures >= MAX_POLL_FAILURES) return { ok: false, reason: 'error', message: (err as Error).message };
        continue;
      }
      if (typeof body.access_token === 'string') return this.loginOf(body.access_token);
      switch (body.error) {
        case 'authorization_pending':
          continue;
        case 'slow_down':
          // GitHub sends the new interval; at least 5 s more than before either way.
          intervalS = Math.max(intervalS + SLOW_DOWN_STEP_S, typeof body.interval === 'number' ? body.interval : 0);
          continue;
        case 'expired_token':
          return { ok: false, reason: 'expired_token', message: 'the code expired' };
        case 'access_denied':
          return { ok: false, reason: 'access_denied', message: 'the request was denied on GitHub' };
        default:
          return { ok: false, reason: 'error', message: `GitHub refused the token: ${describeError(body)}` };
      }
    }
  }

  private async loginOf(token: string): Promise<DeviceFlowOutcome> {
    try {
      const res = await this.fetch(`${this.apiUrl}/user`, {
        headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28' },
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
      });
      const body = (await res.json().catch(() => ({}))) as { login?: unknown; message?: unknown };
      if (!res.ok || typeof body.login !== 'string') {
        return {
          ok: false,
          reason: 'error',
          message: `GitHub answered ${res.status} to GET /user${typeof body.message === 'string' ? ` (${body.message})` : ''}`,
        };
      }
      return { ok: true, login: body.login };
    } catch (err) {
      return { ok: false, reason: 'error', message: `GitHub could not be reached for GET /user: ${(err as Error).message}` };
    }
  }

  private async post(path: string, params: Record<string, string>): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await this.fetch(`${this.webUrl}${path}`, {
        method: 'POST',
        // Without Accept: application/json GitHub answers form-encoded.
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new DeviceFlowError(`GitHub could not be reached at ${this.webUrl}${path}: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') throw new DeviceFlowError(`GitHub answered ${res.status} to ${path} with no JSON — check GITHUB_API_URL`);
    if (!res.ok && typeof body.error !== 'string') throw new DeviceFlowError(`GitHub answered ${res.status} to ${path}`);
    return body;
  }
}

function describeError(body: Record<string, unknown>): string {
  const code = String(body.error);
  if (code === 'device_flow_disabled') return 'device flow is not enabled for the OAuth app (GITHUB_CLIENT_ID) — enable it in the app settings';
  if (code === 'incorrect_client_credentials') return 'GITHUB_CLIENT_ID is not a known OAuth app';
  return typeof body.error_description === 'string' ? `${code} (${body.error_description})` : code;
}
