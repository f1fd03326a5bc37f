/**
 * The entry of the mock LLM's own process (mock-llm-process.ts): starts it
 * with the settings given as one JSON argument, prints one JSON line with its
 * URLs once listening, and stops on SIGTERM or SIGINT. `npm run mock-llm` is
 * the command for people; this is the tooling's, so local/ runs no command.
 */
import { startMockLlm } from '../mock-llm.ts';

const settings = JSON.parse(process.argv[2] ?? '{}') as { latencyMs: number; chunkDelayMs: number };
const mock = await startMockLlm({ port: 0, behavior: settings });
console.log(
  JSON.stringify({ openaiBaseUrl: mock.openaiBaseUrl, anthropicBaseUrl: mock.anthropicBaseUrl }),
);
const stop = () => void mock.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
