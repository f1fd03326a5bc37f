/**
 * The local Edge Functions server (run by Deno, started by `npm start`).
 * Serves every supabase/functions/<name>/index.ts at /functions/v1/<name>,
 * the URL layout of `supabase start`, and the JWKS at
 * /auth/v1/.well-known/jwks.json. Each function gets the request unchanged,
 * as the edge runtime would hand it over.
 *
 * Prints one JSON line {"ready":true,"port":...} once listening. On SIGINT or
 * SIGTERM it stops accepting and waits for background work (trace writes)
 * for at most SHUTDOWN_DRAIN_MS, then ends as a hosted worker does: a
 * `beforeunload` event (detail.reason 'termination', as Supabase's edge
 * runtime dispatches it), whose listener logs every record still unstored
 * (supabase/functions/_shared/coach/in-flight.ts), and exits.
 *
 * One process serves every function, so an error that escapes one request
 * must not end it: an uncaught exception or unhandled rejection (postgres.js
 * throws from a timer when a connection dies under a query) is logged and the
 * server goes on. On hosted Supabase each function is its own isolate.
 */
import { watchShutdown } from '../../supabase/functions/_shared/coach/in-flight.ts';
import { pendingWork } from '../../supabase/functions/_shared/runtime.ts';

/** Under the 5 s after which local/tooling/functions-server.ts kills the server. */
const SHUTDOWN_DRAIN_MS = 3000;

watchShutdown(globalThis);

type FunctionModule = { default: { fetch(req: Request): Promise<Response> } };

const functionsDir = new URL('../../supabase/functions/', import.meta.url);
// FUNCTIONS=health,budget serves only those (a cold start of one function, as its own isolate).
const only = Deno.env.get('FUNCTIONS')?.split(',').filter(Boolean);
const handlers = new Map<string, FunctionModule['default']>();
for await (const entry of Deno.readDir(functionsDir)) {
  if (!entry.isDirectory || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
  if (only && !only.includes(entry.name)) continue;
  const index = new URL(`${entry.name}/index.ts`, functionsDir);
  try {
    await Deno.stat(index);
  } catch {
    continue;
  }
  const module = (await import(index.href)) as FunctionModule;
  handlers.set(entry.name, module.default);
}

function keepServing(kind: string, error: unknown): void {
  console.error(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      msg: `${kind} in the functions server; it goes on`,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }),
  );
}
globalThis.addEventListener('error', (event) => {
  event.preventDefault();
  keepServing('uncaught exception', event.error);
});
globalThis.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  keepServing('unhandled rejection', event.reason);
});

const jwks = Deno.env.get('SUPABASE_JWKS') ?? '{"keys":[]}';
const port = Number(Deno.env.get('FUNCTIONS_PORT') ?? '54321');

function notFound(path: string): Response {
  return Response.json(
    { error: { code: 'not_found', message: `No function at ${path}.` } },
    { status: 404, headers: { 'access-control-allow-origin': '*' } },
  );
}

const server = Deno.serve(
  {
    hostname: '127.0.0.1',
    port,
    onListen: ({ port: bound }) =>
      console.log(
        JSON.stringify({ ready: true, port: bound, functions: [...handlers.keys()].sort() }),
      ),
  },
  (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === '/auth/v1/.well-known/jwks.json') {
      return new Response(jwks, { headers: { 'content-type': 'application/json' } });
    }
    const name = /^\/functions\/v1\/([^/]+)/.exec(pathname)?.[1];
    const handler = name ? handlers.get(name) : undefined;
    return handler ? handler.fetch(req) : notFound(pathname);
  },
);

async function shutdown(): Promise<void> {
  const drained = (async () => {
    await server.shutdown();
    await Promise.allSettled([...pendingWork]);
  })();
  const waited = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DRAIN_MS));
  // Whatever the drain does, the server ends.
  await Promise.race([drained.catch(() => undefined), waited]);
  globalThis.dispatchEvent(
    new CustomEvent('beforeunload', { cancelable: true, detail: { reason: 'termination' } }),
  );
  Deno.exit(0);
}
Deno.addSignalListener('SIGINT', shutdown);
Deno.addSignalListener('SIGTERM', shutdown);
