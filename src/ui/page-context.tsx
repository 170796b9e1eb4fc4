/** What a page handler gets, and how it answers: a page, or an error page with its status. */

import type { ApiClient, ApiResult } from "./api-client.ts";
import { ErrorPage, type Section } from "./layout.tsx";

export interface PageContext {
  api: ApiClient;
  /** The request's query parameters (first value of each). */
  query: Record<string, string>;
  now: number;
  loggedIn: boolean;
  /** Which parts of the API this process serves (role ingest has no rules nor alerts). */
  features: { rules: boolean; alerts: boolean };
}

export type Html = ReturnType<typeof ErrorPage>;

export interface Rendered {
  status: number;
  body: Html;
}

export const page = (body: Html, status = 200): Rendered => ({ status, body });

const TITLES: Record<number, string> = {
  400: "That address has a bad parameter",
  404: "Not found",
  422: "That cannot be processed",
  503: "Not ready yet",
};

/** The error page of a failed API answer: its status and its message, as the API said them. */
export function apiErrorPage(
  ctx: PageContext,
  result: Extract<ApiResult<unknown>, { ok: false }>,
  section: Section,
  back?: { href: string; label: string },
): Rendered {
  const status = result.status >= 400 && result.status < 600 ? result.status : 500;
  return page(
    <ErrorPage
      status={status}
      title={TITLES[status] ?? "Something went wrong"}
      message={result.message}
      section={section}
      loggedIn={ctx.loggedIn}
      back={back}
    />,
    status,
  );
}

/** The page for a missing thing or a wrong parameter found by the UI itself. */
export function errorPage(
  ctx: PageContext,
  status: 400 | 404,
  message: string,
  section: Section,
  back?: { href: string; label: string },
): Rendered {
  return page(
    <ErrorPage
      status={status}
      title={TITLES[status] ?? "Error"}
      message={message}
      section={section}
      loggedIn={ctx.loggedIn}
      back={back}
    />,
    status,
  );
}

/** The `since` of a page's URL: what the user typed, or the page's default. */
export function sinceOf(ctx: PageContext, fallback = "24h"): string {
  const since = ctx.query["since"]?.trim();
  return since === undefined || since === "" ? fallback : since;
}
