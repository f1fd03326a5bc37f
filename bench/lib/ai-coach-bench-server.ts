/**
 * The functions server as the benchmark parts run it: Deno with the
 * platform's environment (fresh keys, JWKS, database), the OpenAI provider
 * pointed at the mock LLM with no SDK retries, a rate limit no run reaches
 * (the count still happens on every call), and one signed user token per
 * benchmark user.
 */
import { freePort } from '../../local/free-port.ts';
import { createKeys, platformEnv, signUserToken } from '../../local/tooling/keys.ts';
import { benchUsers } from './bench-users.ts';
import { type FunctionsServer, startBenchFunctionsServer } from './functions-server.ts';

export interface AiCoachBenchServer {
  server: FunctionsServer;
  /** One Bearer token per user, in the order of the users. */
  tokens: string[];
  stop(): Promise<void>;
}

export async function startAiCoachBenchServer(
  databaseUrl: string,
  options: {
    /** The mock LLM's OpenAI base URL, with its /v1. */
    llmBaseUrl: string;
    /** Function settings on top of the benchmark's, such as DB_PREPARE. */
    env: Record<string, string>;
    users: number;
    /** The server script; the functions server (local/deno/serve-functions.ts) unless told. */
    script?: string;
  },
): Promise<AiCoachBenchServer> {
  const userIds = await benchUsers(databaseUrl, options.users);
  const keys = await createKeys();
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const server = await startBenchFunctionsServer({
    port,
    ...(options.script ? { script: options.script } : {}),
    env: {
      ...platformEnv(keys, apiUrl, databaseUrl),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: options.llmBaseUrl,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_AI_COACH: '100000000/60s',
      ...options.env,
    },
    onLog: () => {},
  });
  // The functions accept tokens whose issuer is their own API URL's /auth/v1.
  const tokens = await Promise.all(
    userIds.map((sub) => signUserToken(keys, { sub, issuer: `${apiUrl}/auth/v1` })),
  );
  return { server, tokens, stop: () => server.stop() };
}
