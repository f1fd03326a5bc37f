/**
 * Starts the local Edge Functions server (local/deno/serve-functions.ts)
 * under Deno from npm, with the environment the platform would give the
 * functions, and resolves once it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from './project.ts';
import { StepError } from './step.ts';

export interface FunctionsServer {
  url: string;
  port: number;
  functions: string[];
  process: ChildProcess;
  stop(): Promise<void>;
}

export const denoBin = join(projectRoot, 'node_modules', '.bin', 'deno');

export async function startFunctionsServer(options: {
  port: number;
  env: Record<string, string>;
  /** The server script; local/deno/serve-functions.ts unless told. */
  script?: string;
  /** Where the server's own log lines go (requests, errors); stdout by default. */
  onLog?: (line: string) => void;
  /** A V8 CPU profile of the server (Deno's --cpu-prof), written to this directory when it exits. */
  cpuProfileDir?: string;
}): Promise<FunctionsServer> {
  const child = spawn(
    denoBin,
    [
      'run',
      '--config',
      join(projectRoot, 'deno.json'),
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      // request.signal aborts only when the client goes away, as a stream needs.
      '--unstable-no-legacy-abort',
      ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
      options.script ?? join(projectRoot, 'local', 'deno', 'serve-functions.ts'),
    ],
    {
      cwd: projectRoot,
      env: { ...process.env, ...options.env, FUNCTIONS_PORT: String(options.port), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const onLog = options.onLog ?? ((line: string) => console.log(line));
  let stderr = '';
  // Line by line: a long log line (a complete record) can arrive in several chunks.
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    stderr = `${stderr}${line}\n`.slice(-8000);
    onLog(line);
  });

  const ready = await new Promise<{ port: number; functions: string[] }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line) as {
          ready?: boolean;
          port: number;
          functions?: string[];
        };
        if (message.ready) {
          resolve({ port: message.port, functions: message.functions ?? [] });
          return;
        }
      } catch {
        // not the ready line
      }
      onLog(line);
    });
    child.once('exit', (code) =>
      reject(
        new StepError('start functions server', `deno exited with code ${code}`, {
          detail: stderr,
        }),
      ),
    );
  });

  return {
    url: `http://127.0.0.1:${ready.port}`,
    port: ready.port,
    functions: ready.functions,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
