/** The LLM as the coach pipeline sees it: one interface, one implementation per wire protocol. */
import type { LlmProviderName } from '../config.ts';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface LlmRequest {
  system: string;
  messages: ChatMessage[];
  model: string;
  maxOutputTokens: number;
  signal?: AbortSignal;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface LlmResult {
  text: string;
  /** The model that answered, as the provider reports it. */
  model: string;
  /** The provider's own token counts, or null when it sent none. */
  usage: LlmUsage | null;
}

export type LlmStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: LlmResult };

export interface LlmProvider {
  readonly name: LlmProviderName;
  complete(request: LlmRequest): Promise<LlmResult>;
  /** Text deltas as they arrive, then one `done` with the provider's usage. */
  stream(request: LlmRequest): AsyncIterable<LlmStreamEvent>;
}

export type LlmFailureKind = 'timeout' | 'upstream' | 'aborted';

/** A failed LLM call, classified for the HTTP answer (504, 502) and the trace. */
export class LlmError extends Error {
  readonly kind: LlmFailureKind;
  readonly status: number | undefined;

  constructor(kind: LlmFailureKind, message: string, status?: number) {
    super(message);
    this.name = 'LlmError';
    this.kind = kind;
    this.status = status;
  }
}
