/**
 * How the web UI reads: every page asks this process's own HTTP API, in-process (no socket),
 * so a table in the UI holds exactly what the API returns, and a bad parameter gets the API's
 * own message. The API key, when one is set, is added here; the browser never holds it.
 */

/** An answer of the API: its JSON, or its error as the API words it. */
export type ApiResult<T> =
  { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

export interface ApiClient {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<ApiResult<T>>;
  /** A request with a JSON body; the response as the API sent it (streams stay streams). */
  send(method: "POST" | "DELETE", path: string, body?: unknown): Promise<Response>;
}

/** Answers one request as the application would (hono's app.fetch). */
export type Fetch = (request: Request) => Response | Promise<Response>;

// Never sent anywhere: only the host part of the URLs of in-process requests.
const ORIGIN = "http://plumbline.internal";

export function createApiClient(fetch: Fetch, apiKey: string | undefined): ApiClient {
  const headers = (json: boolean): Record<string, string> => ({
    accept: "application/json",
    ...(json && { "content-type": "application/json" }),
    ...(apiKey !== undefined && { authorization: `Bearer ${apiKey}` }),
  });
  return {
    async get<T>(path: string, query: Record<string, string | number | undefined> = {}) {
      const url = new URL(path, ORIGIN);
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
      }
      const response = await fetch(new Request(url, { headers: headers(false) }));
      return readResult<T>(response);
    },
    async send(method, path, body) {
      return fetch(
        new Request(new URL(path, ORIGIN), {
          method,
          headers: headers(body !== undefined),
          ...(body !== undefined && { body: JSON.stringify(body) }),
        }),
      );
    },
  };
}

/** The JSON of a 2xx answer, or the API's `{error: {code, message}}` of any other. */
export async function readResult<T>(response: Response): Promise<ApiResult<T>> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok && json !== undefined) return { ok: true, value: json as T };
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    ok: false,
    status: response.status,
    code: typeof error?.code === "string" ? error.code : "internal",
    message:
      typeof error?.message === "string" ? error.message : `the API answered ${response.status}`,
  };
}
