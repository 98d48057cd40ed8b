/**
 * One GitHub deadline per command. A command may ask GitHub several questions (a PR, its CI, a compare); each
 * used to get the whole deadline, so a hanging GitHub answered after 2× or 3× the time the reply then named.
 * Inside `withGitHubBudget`, every question to GitHub draws on one shared budget: the clock runs while at
 * least one question is waiting for GitHub (parallel questions do not count twice), retries and rate-limit
 * waits included, and a question asked after the budget ran out fails at once. Outside one (background work
 * such as deployment statuses), each question gets the client's deadline of its own.
 *
 *   await withGitHubBudget(() => command.run(ctx)); // every GitHub call in run() shares one deadline
 *   await withoutGitHubBudget(() => sink.work());   // background work started by a command keeps its own
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The GitHub time one command has used so far. */
export class GitHubBudget {
  private spent = 0;
  private inFlight = 0;
  private since = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds GitHub has held this command, up to now. */
  used(): number {
    return this.spent + (this.inFlight > 0 ? this.now() - this.since : 0);
  }

  /** Marks a question to GitHub as started; call the returned function when it ends (however it ends). */
  begin(): () => void {
    if (this.inFlight === 0) this.since = this.now();
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      if (this.inFlight === 0) this.spent += this.now() - this.since;
    };
  }
}

const storage = new AsyncLocalStorage<GitHubBudget | null>();

/** The budget of the command this code runs for; undefined outside any. */
export function currentGitHubBudget(): GitHubBudget | undefined {
  return storage.getStore() ?? undefined;
}

/** Runs fn (a command) with one GitHub budget shared by every GitHub question it asks. */
export function withGitHubBudget<T>(fn: () => Promise<T>): Promise<T> {
  return storage.run(new GitHubBudget(), fn);
}

/** Runs fn outside any command's budget: work that outlives the command (statuses, a queued deploy's lookups). */
export function withoutGitHubBudget<T>(fn: () => Promise<T>): Promise<T> {
  return storage.run(null, fn);
}
