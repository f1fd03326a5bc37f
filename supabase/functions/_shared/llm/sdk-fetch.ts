/**
 * The fetch both official SDKs are given (their `fetch` option): the
 * platform's own fetch, with the request's headers handed over as a plain
 * record instead of the Headers object the SDKs build. The request is the
 * same, header for header; what changes is Deno's cost of reading them: its
 * fetch converts a Headers init through WebIDL's generic sequence path, far
 * slower than a record (docs/benchmark.md says where the time goes).
 */
export function sdkFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const headers = init?.headers;
  if (!(headers instanceof Headers)) return globalThis.fetch(input, init);
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return globalThis.fetch(input, { ...init, headers: record });
}
