/** Classifying errors from @kubernetes/client-node 1.x (ApiException has `code`; watch errors `statusCode`). */

export function apiStatusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

export const isNotFound = (error: unknown): boolean => apiStatusCode(error) === 404;
export const isAlreadyExists = (error: unknown): boolean => apiStatusCode(error) === 409;
/** 409 on an update or patch: its resourceVersion precondition failed (the object changed since it was read). */
export const isConflict = (error: unknown): boolean => apiStatusCode(error) === 409;
export const isGone = (error: unknown): boolean => apiStatusCode(error) === 410;

/** The API server's own message when there is one ("pods \"x\" is forbidden: ..."), else the error's. */
export function describeApiError(error: unknown): string {
  const body = (error as { body?: unknown } | undefined)?.body;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
