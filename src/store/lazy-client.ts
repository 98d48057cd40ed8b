/**
 * A stand-in for a client that is still loading (Prisma's, see openSqliteEarly in db.ts): every call made on it
 * waits for the client and then runs on it, so code holding it works the same before and after the load, only a
 * call made early takes longer. Once the client is there, property reads go straight to it.
 *
 *   const db = lazyClient(() => import('./db-sqlite.js').then((m) => m.openSqlitePrisma(path)).then((o) => o.prisma));
 *   await db.user.findMany();  // loads the client (once), then runs the query
 */

/** `load` runs once, at the first call that needs the client, or at ready() (the owner loading it on purpose). */
export function lazyClient<T extends object>(load: () => Promise<T>): { client: T; ready(): Promise<T>; loaded(): T | undefined } {
  let real: T | undefined;
  let loading: Promise<T> | undefined;
  const ready = () => {
    loading ??= load().then((client) => {
      real = client;
      return client;
    });
    return loading;
  };
  const bound = new Map<PropertyKey, unknown>();
  // `db.$transaction(fn)`, `db.$queryRaw\`…\``: runs on the client once it is there.
  const deferredCall =
    (name: PropertyKey) =>
    (...args: unknown[]) =>
      ready().then((client) => (Reflect.get(client, name) as (...a: unknown[]) => unknown).apply(client, args));
  // `db.user.findMany(args)`: a model delegate whose every method waits for the client.
  const deferredModel = (model: PropertyKey) =>
    new Proxy(
      {},
      {
        get: (_target, method) =>
          method === 'then'
            ? undefined
            : (...args: unknown[]) =>
                ready().then((client) => {
                  const delegate = Reflect.get(client, model) as Record<PropertyKey, (...a: unknown[]) => unknown>;
                  // A name the client does not have fails as it would on the client itself (a TypeError).
                  return (delegate[method] as (...a: unknown[]) => unknown).apply(delegate, args);
                }),
      },
    );
  const client = new Proxy({} as T, {
    get(_target, prop) {
      if (real) {
        const value = Reflect.get(real, prop);
        if (typeof value !== 'function') return value;
        let fn = bound.get(prop);
        if (!fn) {
          fn = value.bind(real);
          bound.set(prop, fn);
        }
        return fn;
      }
      // Not a promise (`await db` must not wait for anything), nor anything else symbol-named.
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      return prop.startsWith('$') ? deferredCall(prop) : deferredModel(prop);
    },
  });
  return { client, ready, loaded: () => real };
}
