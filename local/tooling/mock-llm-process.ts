/**
 * The mock LLM in a child process (mock-llm-child.ts), for the benchmark:
 * in the load generator's own process it would share that event loop, so
 * the function's calls to it would queue behind the client's work, and a
 * direct call would cross no process boundary at all, unlike a real provider.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from './project.ts';
import { StepError } from './step.ts';

export interface MockLlmProcess {
  openaiBaseUrl: string;
  anthropicBaseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startMockLlmProcess(options: {
  latencyMs: number;
  chunkDelayMs?: number;
}): Promise<MockLlmProcess> {
  // node --import tsx rather than the tsx CLI, whose child would be the real server.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'local', 'tooling', 'mock-llm-child.ts'),
      JSON.stringify({ latencyMs: options.latencyMs, chunkDelayMs: options.chunkDelayMs ?? 0 }),
    ],
    { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = await new Promise<{ openaiBaseUrl: string; anthropicBaseUrl: string }>(
    (resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) =>
        reject(new StepError('start mock LLM', `the mock LLM exited with code ${code}`)),
      );
    },
  );
  return {
    ...ready,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
