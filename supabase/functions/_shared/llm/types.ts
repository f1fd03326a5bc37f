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
  /** This attempt's timeout (set by the retry layer); the client's configured one otherwise. */
  timeoutMs?: number;
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

/**
 * `unavailable`: the provider asked us to wait (429 or 503 with Retry-After)
 * past the call's deadline, so the client is told when to come back instead.
 */
export type LlmFailureKind = 'timeout' | 'upstream' | 'aborted' | 'unavailable';

export interface LlmErrorDetails {
  /** The provider's Retry-After (or retry-after-ms), in seconds, when it sent one. */
  retryAfterSeconds?: number | undefined;
  /** No answer came back: the connection failed or broke, so sending again may work. */
  connectionFailed?: boolean | undefined;
  /** Requests the whole call made, set on its final error. */
  attempts?: number | undefined;
}

/** A failed LLM call, classified for the HTTP answer (504, 503, 502) and the trace. */
export class LlmError extends Error {
  readonly kind: LlmFailureKind;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly connectionFailed: boolean;
  readonly attempts: number | undefined;

  constructor(
    kind: LlmFailureKind,
    message: string,
    status?: number,
    details: LlmErrorDetails = {},
  ) {
    super(message);
    this.name = 'LlmError';
    this.kind = kind;
    this.status = status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.connectionFailed = details.connectionFailed ?? false;
    this.attempts = details.attempts;
  }
}
