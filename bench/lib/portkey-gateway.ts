/**
 * Portkey's open-source AI gateway (npm @portkey-ai/gateway, a Hono app on
 * Node) in a child process, as the benchmark's peer: plain Node, headless,
 * on a loopback port. bench/peer.ts says what it does per request.
 *
 * Its launcher (build/start-server.js) takes `--port=N` and `--headless` but
 * no host: it calls @hono/node-server's serve() without a hostname, which
 * listens on every interface. A preload given to Node as a data: URL (so the
 * gateway's process loads no TypeScript loader) makes a listen() without a
 * host listen on 127.0.0.1; nothing else of the gateway changes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../local/tooling/project.ts';
import { StepError } from '../../local/tooling/step.ts';

export interface PortkeyGateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export const portkeyGatewayScript = join(
  projectRoot,
  'node_modules',
  '@portkey-ai',
  'gateway',
  'build',
  'start-server.js',
);

/** net.Server#listen(port[, callback]) without a host: loopback instead of every interface. */
const LOOPBACK_LISTEN = `
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === 'number' && (host === undefined || typeof host === 'function')) {
    return listen.call(this, port, '127.0.0.1', ...(host === undefined ? rest : [host, ...rest]));
  }
  return listen.call(this, port, host, ...rest);
};
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the gateway on 127.0.0.1:`port` and resolves once it answers. */
export async function startPortkeyGateway(options: { port: number }): Promise<PortkeyGateway> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(LOOPBACK_LISTEN)}`,
      portkeyGatewayScript,
      `--port=${options.port}`,
      // No web UI and no /log/stream route: only the API.
      '--headless',
    ],
    { cwd: projectRoot, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-8000);
  });
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });

  // It serves before its one-second start-up animation ends: ready when `GET /` answers.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new StepError('start Portkey gateway', `it exited with code ${child.exitCode}`, {
        detail: stderr,
      });
    }
    try {
      const res = await fetch(`${url}/`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new StepError('start Portkey gateway', `no answer on ${url} within 20 s`, {
        detail: stderr,
      });
    }
    await sleep(50);
  }
  return { url, pid: child.pid as number, stop };
}

/** The headers that send an OpenAI chat completion through the gateway to `baseUrl`. */
export function portkeyHeaders(baseUrl: string, apiKey: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-portkey-provider': 'openai',
    // The OpenAI provider calls `${custom host}/chat/completions`: the base URL with its /v1.
    'x-portkey-custom-host': baseUrl,
    authorization: `Bearer ${apiKey}`,
  };
}
