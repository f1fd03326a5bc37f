/**
 * Every database wait on a request ends by a deadline (DB_TIMEOUT_MS). A
 * statement that has not answered by then, because Postgres is stopped,
 * frozen or overloaded, or because every pooled connection is taken, is
 * abandoned: the caller gets DatabaseTimeoutError (answered 503 with
 * Retry-After) and never waits longer.
 *
 * The wait for a connection is ours, not postgres.js': a pool registered
 * with `gatePool` hands out as many slots as it has connections, and a
 * statement starts only once it holds one. So a statement that times out
 * waiting was never sent and never runs late (a rate-limit count for a
 * request already answered 503, say), and nothing piles up in postgres.js'
 * own queue during an outage. A slot is given back when its statement really
 * ends, so a connection stuck on a frozen server stays counted as taken.
 *
 * A statement already sent gets a CancelRequest at the deadline, which the
 * server acts on when it can. One not yet sent is never cancelled through
 * postgres.js: cancelling a query a connecting connection holds as its first
 * leaves that connection waiting forever (postgres.js 3.4), and an outage
 * would empty the pool that way.
 */

export class DatabaseTimeoutError extends Error {
  readonly code = 'DB_TIMEOUT';

  constructor(what: string, ms: number) {
    super(`${what}: no answer from the database within ${ms} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/** A postgres.js query, as far as the deadline needs to know it. */
type Work<T> = PromiseLike<T> & { cancel?: () => unknown; state?: unknown };

/** As many slots as the pool has connections; waiters queue in order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** A slot within `ms`, or false. */
  take(ms: number): Promise<boolean> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        resolve(false);
      }, ms);
      this.waiting.push(grant);
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

const gates = new WeakMap<object, Slots>();

/** Makes `pool`'s waits for a connection ours, bounded: `size` is its maximum of connections. */
export function gatePool(pool: object, size: number): void {
  gates.set(pool, new Slots(size));
}

/**
 * `start()`'s result, or DatabaseTimeoutError once `ms` have passed since the
 * call, the wait for a connection included. `start` runs only once a slot of
 * `pool` is held (postgres.js queries are lazy: nothing is sent before).
 */
export async function withinDeadline<T>(
  pool: object,
  start: () => Work<T>,
  ms: number,
  what = 'database',
): Promise<T> {
  const startedAt = performance.now();
  const slots = gates.get(pool);
  if (slots && !(await slots.take(ms))) throw new DatabaseTimeoutError(what, ms);
  let work: Work<T>;
  try {
    work = start();
  } catch (error) {
    slots?.give();
    throw error;
  }
  const running = Promise.resolve(work);
  if (slots)
    running.then(
      () => slots.give(),
      () => slots.give(),
    );
  const left = Math.max(0, ms - (performance.now() - startedAt));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Only a statement on the wire is cancelled (see above).
      if (work.state) {
        try {
          void Promise.resolve(work.cancel?.()).catch(() => {});
        } catch {
          // it finished meanwhile
        }
      }
      reject(new DatabaseTimeoutError(what, ms));
    }, left);
  });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
