/** Why a request got no response, as counted in RunnerSummary.errors. */
export const ERROR_KINDS = ['refused', 'timeout', 'reset', 'dns', 'other'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const KIND_BY_CODE: Record<string, ErrorKind> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NODATA: 'dns',
  EAI_NONAME: 'dns',
};

/** Maps a Node.js or undici error to its kind, following `cause` chains (undici wraps socket errors). */
export function errorKindOf(error: unknown): ErrorKind {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    const kind = code === undefined ? undefined : KIND_BY_CODE[code];
    if (kind !== undefined) return kind;
    current = current.cause;
  }
  return 'other';
}
