/**
 * `iam github <login>` proves the login through GitHub's OAuth device flow before roles given to it apply,
 * against the local GitHub server speaking the device-flow endpoints.
 * GIVEN rm-login is a release manager in shepherd.yml WHEN alice claims it THEN she gets a code and no role;
 * AFTER GitHub says the token is rm-login's THEN the link is verified and the role applies.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GitHubDeviceFlow, githubWebUrl } from '../../src/github-device-flow.js';
import { GitHubVerification } from '../../src/github-verification.js';
import { testBot, type TestBot } from '../support/bot.js';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.js';

const CLIENT_ID = 'Ov23liTestClient0001';

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await startFakeGitHub();
  gh.oauthApp(CLIENT_ID);
});
afterAll(async () => gh?.close());

describe('iam github with GITHUB_CLIENT_ID (device flow)', () => {
  let t: TestBot;
  let verification: GitHubVerification;
  /** Every wait the poll asked for, in ms; the poll itself does not wait (GitHub's 5 s are not the test's). */
  let slept: number[];

  const start = async (clientId = CLIENT_ID) => {
    t = await testBot();
    slept = [];
    const flow = new GitHubDeviceFlow({
      clientId,
      apiUrl: gh.url,
      sleep: (ms) => {
        slept.push(ms);
        return new Promise((resolve) => setImmediate(resolve));
      },
    });
    verification = new GitHubVerification({ flow, users: t.store.users, clock: t.clock });
    t.services.githubVerification = verification;
    for (const who of ['alice', 'bob']) await t.chat.say(who, 'whoami');
  };
  beforeEach(async () => start());
  afterEach(async () => {
    await verification.idle();
    await t.close();
  });

  const user = (handle: string) => t.store.db.user.findFirstOrThrow({ where: { identities: { some: { handle } } } });
  const codeIn = (reply: string) => /enter the code ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(reply)?.[1] as string;
  const told = async (pattern: RegExp) =>
    vi.waitFor(() => expect(t.chat.sent.map((s) => s.text).find((x) => pattern.test(x))).toBeDefined(), { timeout: 10_000 });

  it('shows the code at once; roles apply only after GitHub confirms the login', async () => {
    const reply = await t.chat.say('alice', 'iam github RM-Login');
    expect(reply).toMatch(
      /^to prove you are rm-login on GitHub, open https:\/\/github\.com\/login\/device and enter the code [A-Z0-9]{4}-[A-Z0-9]{4} \(valid 15 min\)/,
    );
    expect(reply).toContain('until then roles given to rm-login do not apply');
    // Linked, not verified: no release manager role yet, and whoami says how to verify.
    const before = await t.chat.say('alice', 'whoami');
    expect(before).toContain('GitHub: rm-login (linked, not verified — roles given to rm-login do not apply; `iam github rm-login` to verify through GitHub)');
    expect(before).toContain('roles: developer;');
    expect(await t.chat.say('alice', 'unlike @bob')).toMatch(/only a release manager/);

    gh.approveDevice(codeIn(reply), 'rm-login');
    await told(/@alice ✅ GitHub confirms you are rm-login: linked and verified/);
    expect(t.chat.sent.at(-1)?.target).toEqual({ room: '#deploys' });
    expect((await user('alice')).githubVerifiedAt).toBeInstanceOf(Date);
    expect(await t.chat.say('alice', 'whoami')).toMatch(/GitHub: rm-login \(verified\); roles: developer, release manager;/);

    // GitHub's request shapes: the device code asked with client_id and scope, the poll with the device grant.
    const [codeRequest] = gh.requestsTo('POST', /^\/login\/device\/code$/);
    expect(codeRequest?.body).toEqual({ client_id: CLIENT_ID, scope: '' });
    const polls = gh.requestsTo('POST', /^\/login\/oauth\/access_token$/);
    expect(polls.at(-1)?.body).toMatchObject({ client_id: CLIENT_ID, grant_type: 'urn:ietf:params:oauth:grant-type:device_code' });
    expect(gh.requestsTo('GET', /^\/user$/).at(-1)?.status).toBe(200);
  });

  it('access_denied: told in the room, the link stays unverified and grants nothing', async () => {
    gh.nextDevice({ script: ['authorization_pending'], decision: 'deny' });
    await t.chat.say('alice', 'iam github rm-login');
    await told(/@alice ✋ verification of GitHub login rm-login was denied on GitHub — the link stays unverified; `iam github rm-login` for a new code/);
    expect((await user('alice')).githubVerifiedAt).toBeNull();
    expect(await t.chat.say('alice', 'whoami')).toContain('roles: developer;');
  });

  it('expired_token: told in the room, nothing verified', async () => {
    gh.nextDevice({ decision: 'expire' });
    await t.chat.say('alice', 'iam github rm-login');
    await told(/@alice ⌛ the code for GitHub login rm-login expired before it was entered — `iam github rm-login` for a new code/);
    expect((await user('alice')).githubVerifiedAt).toBeNull();
  });

  it('slow_down: the poll waits 5 s longer from then on', async () => {
    gh.nextDevice({ script: ['authorization_pending', 'slow_down', 'authorization_pending'], decision: { approve: 'alice-gh' } });
    await t.chat.say('alice', 'iam github alice-gh');
    await told(/✅ GitHub confirms you are alice-gh/);
    expect(slept).toEqual([5000, 5000, 10_000, 10_000]);
  });

  it('refuses the link when GET /user names another login', async () => {
    gh.nextDevice({ decision: { approve: 'mallory-gh' } });
    await t.chat.say('alice', 'iam github rm-login');
    await told(/@alice ✋ GitHub says that code was approved by mallory-gh, not rm-login — the link stays unverified/);
    const alice = await user('alice');
    expect(alice.githubVerifiedAt).toBeNull();
    expect(await t.chat.say('alice', 'whoami')).toContain('roles: developer;');
  });

  it('refuses a login verified by someone else, without asking GitHub', async () => {
    gh.nextDevice({ decision: { approve: 'rm-login' } });
    await t.chat.say('bob', 'iam github rm-login');
    await told(/@bob ✅ GitHub confirms you are rm-login/);
    const asked = gh.requestsTo('POST', /^\/login\/device\/code$/).length;
    expect(await t.chat.say('alice', 'iam github rm-login')).toBe(
      '✋ GitHub login rm-login is already verified by bob — if that is wrong, ask a release manager',
    );
    expect(gh.requestsTo('POST', /^\/login\/device\/code$/)).toHaveLength(asked);
    expect((await user('alice')).githubLogin).toBeNull();
  });

  it('an unverified claim does not block the owner; the loser of two verifications is told', async () => {
    const aliceCode = codeIn(await t.chat.say('alice', 'iam github rm-login'));
    expect((await user('alice')).githubLogin).toBe('rm-login');
    const bobCode = codeIn(await t.chat.say('bob', 'iam github rm-login'));
    gh.approveDevice(bobCode, 'rm-login');
    await told(/@bob ✅ GitHub confirms you are rm-login/);
    expect((await user('alice')).githubLogin).toBeNull(); // alice's claim was only a claim
    gh.approveDevice(aliceCode, 'rm-login');
    await told(/@alice ✋ GitHub login rm-login was verified by someone else meanwhile/);
    expect((await user('bob')).githubVerifiedAt).toBeInstanceOf(Date);
    expect(await t.chat.say('bob', 'whoami')).toContain('roles: developer, release manager;');
    expect(await t.chat.say('alice', 'whoami')).toContain('GitHub: not linked');
  });

  it('a second iam while one waits repeats its code', async () => {
    const code = codeIn(await t.chat.say('alice', 'iam github alice-gh'));
    expect(await t.chat.say('alice', 'iam github alice-gh')).toBe(
      `a verification of alice-gh is already waiting: open https://github.com/login/device and enter the code ${code}`,
    );
    gh.denyDevice(code);
    await told(/was denied/);
  });

  it('an unknown client id is a one-line refusal', async () => {
    await verification.idle();
    await t.close();
    await start('Ov23liNotRegistered00');
    expect(await t.chat.say('alice', 'iam github alice-gh')).toBe(
      '✋ could not start GitHub verification: GitHub refused the device code: GITHUB_CLIENT_ID is not a known OAuth app — try again later, or ask an admin',
    );
  });
});

describe('iam github without GITHUB_CLIENT_ID', () => {
  let t: TestBot;
  beforeEach(async () => {
    t = await testBot();
  });
  afterEach(async () => t.close());

  it('records the link unverified: no roles from it, and says an admin must set GITHUB_CLIENT_ID', async () => {
    expect(await t.chat.say('alice', 'iam github rm-login')).toBe(
      'ok, you are rm-login on GitHub — linked, not verified: roles given to rm-login do not apply. To verify it an admin must set GITHUB_CLIENT_ID (GitHub device flow), or list irc:alice in release_managers / developers',
    );
    const whoami = await t.chat.say('alice', 'whoami');
    expect(whoami).toContain('GitHub: rm-login (linked, not verified — roles given to rm-login do not apply; to verify it an admin must set GITHUB_CLIENT_ID');
    expect(whoami).toContain('roles: developer;');
    expect(await t.chat.say('alice', 'unlike @boss')).toMatch(/only a release manager/);
  });
});

describe('githubWebUrl', () => {
  it.each([
    ['https://api.github.com', 'https://github.com'],
    ['https://api.github.com/', 'https://github.com'],
    ['https://ghe.acme.com/api/v3', 'https://ghe.acme.com'],
    ['https://ghe.acme.com/api/v3/', 'https://ghe.acme.com'],
    ['https://api.acme.ghe.com', 'https://acme.ghe.com'],
    ['http://127.0.0.1:4567', 'http://127.0.0.1:4567'],
  ])('%s → %s', (api, web) => {
    expect(githubWebUrl(api)).toBe(web);
  });
});
