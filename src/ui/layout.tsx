/**
 * The frame of every page: head (one stylesheet, one script module, both served by this
 * process), a skip link, the navigation, and the error page that bad parameters get.
 */

import type { Child } from "hono/jsx";
import { ASSET_PATHS } from "./assets.ts";

export type Section =
  "overview" | "rules" | "alerts" | "silences" | "windows" | "conversations" | "backtest";

const NAV: { section: Section; href: string; label: string }[] = [
  { section: "overview", href: "/", label: "Overview" },
  { section: "rules", href: "/rules", label: "Rules" },
  { section: "alerts", href: "/alerts", label: "Alerts" },
  { section: "silences", href: "/silences", label: "Silences" },
  { section: "windows", href: "/windows", label: "Drift & rate" },
  { section: "conversations", href: "/conversations", label: "Conversations" },
  { section: "backtest", href: "/backtest", label: "Backtest" },
];

export interface PageProps {
  title: string;
  section?: Section | undefined;
  /** Seconds between automatic refreshes of the page's main part; none when absent. */
  refreshSeconds?: number | undefined;
  /** Shows the log-out button (a key is set and this browser is logged in). */
  loggedIn?: boolean | undefined;
  /** Pages that draw charts load uPlot. */
  charts?: boolean | undefined;
  children?: Child;
}

export function Page(props: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Plumbline`}</title>
        <link rel="icon" href={ASSET_PATHS.icon} type="image/svg+xml" />
        <link rel="stylesheet" href={ASSET_PATHS.css} />
        {props.charts === true && <link rel="stylesheet" href={ASSET_PATHS.uplotCss} />}
        {props.charts === true && <script src={ASSET_PATHS.uplotJs} defer></script>}
        <script type="module" src={ASSET_PATHS.js}></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Plumbline
          </a>
          <nav aria-label="Pages">
            <ul>
              {NAV.map((item) => (
                <li>
                  <a
                    href={item.href}
                    {...(item.section === props.section && { "aria-current": "page" })}
                  >
                    {item.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          {props.loggedIn === true && (
            <form method="post" action="/logout" class="logout">
              <button type="submit">Log out</button>
            </form>
          )}
        </header>
        <main
          id="main"
          tabindex={-1}
          {...(props.refreshSeconds !== undefined && {
            "data-refresh": String(props.refreshSeconds),
          })}
        >
          {props.children}
        </main>
      </body>
    </html>
  );
}

export interface ErrorPageProps {
  status: number;
  title: string;
  message: string;
  /** Where to go instead: a link back. */
  back?: { href: string; label: string } | undefined;
  section?: Section | undefined;
  loggedIn?: boolean | undefined;
}

/** What a bad parameter or a missing thing gets: what was wrong, in words, and a way back. */
export function ErrorPage(props: ErrorPageProps) {
  return (
    <Page title={props.title} section={props.section} loggedIn={props.loggedIn}>
      <h1>{props.title}</h1>
      <p class="notice error" role="alert">
        {props.message}
      </p>
      <p>
        <a href={props.back?.href ?? "/"}>{props.back?.label ?? "Back to the overview"}</a>
      </p>
    </Page>
  );
}
