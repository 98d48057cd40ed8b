/**
 * Proving a GitHub login for `iam github`: starts GitHub's device flow, lets the command reply with the code at
 * once, polls in the background and records the link as verified only when GET /user names the login that was
 * claimed. One flow per chat user at a time. The result goes to `tell` (the room the command came from).
 *
 *   const verification = new GitHubVerification({ flow, users: store.users, clock });
 *   const started = await verification.begin(user, 'octocat', (text) => ctx.deps.say(ctx.room, text));
 *   // started.code.userCode → show it; later tell('✅ … verified')
 */
import type { Clock } from './command.js';
import type { DeviceCode, DeviceFlowOutcome } from './github-device-flow.js';
import type { KnownUser, Users } from './store/users.js';

/** The part of GitHubDeviceFlow this needs (tests and main.ts pass the real one). */
export interface DeviceFlow {
  start(): Promise<DeviceCode>;
  waitForLogin(code: DeviceCode): Promise<DeviceFlowOutcome>;
}

export interface GitHubVerificationOptions {
  flow: DeviceFlow;
  users: Pick<Users, 'verifyGithub' | 'byId'>;
  clock: Clock;
  /** Where failures of the background poll are logged. */
  onError?: (err: unknown) => void;
}

export interface PendingVerification {
  login: string;
  code: DeviceCode;
  expiresAt: Date;
}

export type BeginResult = { started: PendingVerification } | { waiting: PendingVerification };

export class GitHubVerification {
  private readonly pending = new Map<number, { login: string; ready: Promise<PendingVerification>; done: Promise<void> }>();

  constructor(private readonly options: GitHubVerificationOptions) {}

  /**
   * Starts the device flow for `login` and polls in the background; `waiting` when this user already has a
   * flow going (its code again). Throws DeviceFlowError when GitHub will not start one.
   */
  async begin(user: KnownUser, login: string, tell: (text: string) => Promise<unknown>): Promise<BeginResult> {
    const existing = this.pending.get(user.id);
    if (existing) return { waiting: await existing.ready };
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    // Registered before the first await, so a second `iam github` at once finds this one.
    const ready = this.options.flow.start().then((code) => ({
      login,
      code,
      expiresAt: new Date(this.options.clock.now().getTime() + code.expiresIn * 1000),
    }));
    this.pending.set(user.id, { login, ready, done });
    let started: PendingVerification;
    try {
      started = await ready;
    } catch (err) {
      this.pending.delete(user.id);
      resolveDone();
      throw err;
    }
    void this.finish(user, started, tell)
      .catch((err) => this.options.onError?.(err))
      .finally(() => {
        this.pending.delete(user.id);
        resolveDone();
      });
    return { started };
  }

  /** The flow this user has going, if any. */
  async pendingFor(userId: number): Promise<PendingVerification | null> {
    const p = this.pending.get(userId);
    return p ? p.ready.catch(() => null) : null;
  }

  /** Resolves when no verification is polling (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((p) => p.done));
  }

  private async finish(user: KnownUser, started: PendingVerification, tell: (text: string) => Promise<unknown>): Promise<void> {
    const { login } = started;
    const outcome = await this.options.flow.waitForLogin(started.code);
    if (!outcome.ok) {
      const again = `\`iam github ${login}\` for a new code`;
      if (outcome.reason === 'access_denied') await tell(`✋ verification of GitHub login ${login} was denied on GitHub — the link stays unverified; ${again}`);
      else if (outcome.reason === 'expired_token') await tell(`⌛ the code for GitHub login ${login} expired before it was entered — ${again}`);
      else await tell(`✋ could not verify GitHub login ${login}: ${outcome.message} — ${again}`);
      return;
    }
    if (outcome.login.toLowerCase() !== login.toLowerCase()) {
      await tell(
        `✋ GitHub says that code was approved by ${outcome.login}, not ${login} — the link stays unverified; sign in to GitHub as ${login} and \`iam github ${login}\` again`,
      );
      return;
    }
    const result = await this.options.users.verifyGithub(user.id, login, this.options.clock.now());
    if (!result.ok) {
      await tell(`✋ GitHub login ${login} was verified by someone else meanwhile — if that is wrong, ask a release manager`);
      return;
    }
    await tell(`✅ GitHub confirms you are ${login.toLowerCase()}: linked and verified, roles given to ${login.toLowerCase()} now apply`);
  }
}
