/**
 * `npm run mock-llm`: the local mock LLM on its own, for pointing any server
 * at it (`supabase functions serve` with OPENAI_BASE_URL or ANTHROPIC_BASE_URL).
 * The benchmark starts its own (local/tooling/mock-llm-process.ts).
 *
 *   npm run mock-llm -- [--port 54329] [--latency 150] [--chunk-delay 20]
 *
 * Ctrl-C or SIGTERM stops it.
 */
import { parseArgs } from 'node:util';
import { startMockLlm } from '../local/mock-llm.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '54329' },
    latency: { type: 'string', default: '150' },
    'chunk-delay': { type: 'string', default: '20' },
  },
});

function nonNegative(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number of 0 or more, not "${text}"`);
    process.exit(2);
  }
  return value;
}

const mock = await startMockLlm({
  port: nonNegative('port', values.port),
  behavior: {
    latencyMs: nonNegative('latency', values.latency),
    chunkDelayMs: nonNegative('chunk-delay', values['chunk-delay']),
  },
});
console.log(`mock LLM listening
  OpenAI-compatible:  OPENAI_BASE_URL=${mock.openaiBaseUrl}
  Anthropic:          ANTHROPIC_BASE_URL=${mock.anthropicBaseUrl}
  latency ${values.latency} ms, ${values['chunk-delay']} ms between streamed chunks; Ctrl-C stops it`);
const stop = () => void mock.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
