/**
 * nudgeWhileWaiting(): the pings sent while a channel request waits for sshd's answer (so our side acknowledges
 * what sshd sent, and its answer does not wait for a delayed ACK). They must stop once the answer came, and their
 * replies must not be taken for the answer to any other global request of the connection.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nudgeWhileWaiting } from '../../src/deploy/ssh-transport.js';
import { type Sshd, skipWithoutSshd, startSshd } from '../support/sshd.js';

describe('nudgeWhileWaiting', () => {
  it('GIVEN an answer that takes a while THEN a few pings go out, each with its place in the reply queue, and none after stop', async () => {
    const sent: number[] = [];
    const fake = { _protocol: { ping: () => sent.push(1) }, _callbacks: [] as unknown[] };
    const stop = nudgeWhileWaiting(fake as unknown as Client);
    await vi.waitFor(() => expect(sent.length).toBe(4));
    expect(fake._callbacks.length).toBe(4);
    stop();

    // Stopped at once; another one left running shows when every ping would have been sent.
    const early: number[] = [];
    nudgeWhileWaiting({ _protocol: { ping: () => early.push(1) }, _callbacks: [] } as unknown as Client)();
    const witness: number[] = [];
    nudgeWhileWaiting({ _protocol: { ping: () => witness.push(1) }, _callbacks: [] } as unknown as Client);
    await vi.waitFor(() => expect(witness.length).toBe(4));
    expect(early.length).toBe(0);
    expect(sent.length).toBe(4);
  });

  it('GIVEN an ssh2 without the internals THEN nothing is sent and nothing breaks', () => {
    expect(() => nudgeWhileWaiting({} as unknown as Client)()).not.toThrow();
  });
});

describe.skipIf(skipWithoutSshd())('nudgeWhileWaiting against a real sshd', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd({ hosts: 1 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('GIVEN pings sent while commands start THEN the commands run and a later global request still gets its own answer', async () => {
    const host = sshd.hosts[0] as Sshd['hosts'][number];
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', resolve).on('error', reject);
      client.connect({ host: host.host, port: host.port, username: 'root', privateKey: readFileSync(sshd.clientKey) });
    });
    try {
      for (let i = 0; i < 3; i++) {
        const out = await new Promise<string>((resolve, reject) => {
          const stop = nudgeWhileWaiting(client);
          // Answered only after every ping went out, so all their replies come back in this window.
          client.exec(`sleep 0.05; echo run-${i}`, (err, ch) => {
            if (err) return reject(err);
            let text = '';
            ch.on('data', (d: Buffer) => {
              text += d;
            });
            ch.stderr.resume();
            ch.on('close', () => {
              stop();
              resolve(text.trim());
            });
          });
        });
        expect(out).toBe(`run-${i}`);
      }
      // A global request sent right after a ping, so its answer comes after the ping's: tcpip-forward answers with
      // the port it bound, and were the ping's reply (a failure) taken for it, it would fail.
      const proto = (client as unknown as { _protocol: { ping: () => void } })._protocol;
      const ping = proto.ping;
      const forwarded = new Promise<number>((resolve, reject) => {
        proto.ping = function (this: unknown) {
          ping.call(this);
          proto.ping = ping;
          client.forwardIn('127.0.0.1', 0, (err, p) => (err ? reject(err) : resolve(p)));
        };
      });
      const stop = nudgeWhileWaiting(client);
      expect(await forwarded).toBeGreaterThan(0);
      stop();
    } finally {
      client.end();
    }
  });
});
