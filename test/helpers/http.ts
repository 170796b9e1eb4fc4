/** Loose JSON for assertions: tests check shapes with expect(), not with the type system. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function fetchJson(url: string, init?: RequestInit): Promise<Json> {
  return (await fetch(url, init)).json() as Promise<Json>;
}

export async function readJson(response: Response): Promise<Json> {
  return response.json() as Promise<Json>;
}
