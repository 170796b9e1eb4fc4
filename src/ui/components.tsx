/** Small pieces every page uses: badges, sparklines, charts, the period picker, notices. */

import type { Child } from "hono/jsx";
import { formatCount } from "./format.ts";

/** A state or status as a coloured word (the colour is never the only signal: the word is there). */
export function Badge(props: { value: string; label?: string }) {
  const tone = TONES[props.value] ?? "neutral";
  return <span class={`badge ${tone}`}>{props.label ?? props.value}</span>;
}

const TONES: Record<string, string> = {
  firing: "bad",
  drift: "bad",
  error: "bad",
  failed: "bad",
  failure: "bad",
  critical: "bad",
  unhealthy: "bad",
  rule_error: "warn",
  pending: "warn",
  warning: "warn",
  retry: "warn",
  idle: "warn",
  resolved: "good",
  ok: "good",
  loaded: "good",
  delivered: "good",
  success: "good",
  active: "good",
  insufficient: "neutral",
  disabled: "neutral",
  overridden: "neutral",
  expired: "neutral",
  silenced: "neutral",
  info: "neutral",
};

/** A tiny line of counts over time, server-drawn SVG, with its numbers in the title for readers. */
export function Sparkline(props: { values: readonly number[]; label: string; tone?: "bad" }) {
  const width = 120;
  const height = 28;
  const max = Math.max(1, ...props.values);
  const step = props.values.length > 1 ? width / (props.values.length - 1) : width;
  const points = props.values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    .join(" ");
  const total = props.values.reduce((a, b) => a + b, 0);
  return (
    <svg
      class={`spark ${props.tone ?? ""}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${props.label}: ${formatCount(total)} in the period, at most ${formatCount(max)} per bucket`}
    >
      <polyline points={points} fill="none" stroke-width="1.5" />
    </svg>
  );
}

export interface ChartSeries {
  label: string;
  values: readonly (number | null)[];
  /** A CSS colour; the script picks one when absent. */
  stroke?: string;
  dash?: boolean;
  /** Points only, no line (e.g. insufficient evaluations). */
  pointsOnly?: boolean;
}

/**
 * A time-series chart drawn in the browser by uPlot from the data in its attribute. The
 * figure's caption says what it shows; the same numbers are in a table on the page.
 */
export function Chart(props: {
  caption: string;
  /** Unix milliseconds. */
  x: readonly number[];
  series: readonly ChartSeries[];
  yLabel?: string;
  /** `log`: a logarithmic y axis (p-values). */
  scale?: "log";
}) {
  const data = {
    x: props.x.map((ms) => ms / 1000),
    series: props.series,
    yLabel: props.yLabel,
    scale: props.scale,
  };
  return (
    <figure class="chart">
      <div
        class="chart-area"
        data-chart={JSON.stringify(data)}
        role="img"
        aria-label={props.caption}
      ></div>
      <figcaption>{props.caption}</figcaption>
    </figure>
  );
}

/** Choices of period every page offers (any other `since` typed in the URL is kept). */
export const PERIODS = ["1h", "6h", "24h", "7d", "30d"] as const;

/** A GET form that picks the period (and keeps the page's other parameters). */
export function PeriodForm(props: {
  action: string;
  since: string;
  hidden?: Record<string, string | undefined>;
  label?: string;
}) {
  const options = PERIODS.includes(props.since as (typeof PERIODS)[number])
    ? PERIODS
    : [props.since, ...PERIODS];
  return (
    <form method="get" action={props.action} class="period">
      {Object.entries(props.hidden ?? {}).map(([name, value]) =>
        value === undefined ? null : <input type="hidden" name={name} value={value} />,
      )}
      <label for="since">{props.label ?? "Period: the last"}</label>
      <select id="since" name="since" data-autosubmit>
        {options.map((p) => (
          <option value={p} selected={p === props.since}>
            {p}
          </option>
        ))}
      </select>
      <button type="submit">Show</button>
    </form>
  );
}

/** A line of text when there is nothing to show, saying why. */
export function Empty(props: { children: Child }) {
  return <p class="empty">{props.children}</p>;
}

/** A notice at the top of a section (info, or an error with role=alert). */
export function Notice(props: { tone?: "error" | "info"; children: Child }) {
  return props.tone === "error" ? (
    <p class="notice error" role="alert">
      {props.children}
    </p>
  ) : (
    <p class="notice">{props.children}</p>
  );
}

/** A table that scrolls sideways on a narrow screen instead of squashing. */
export function TableWrap(props: { label: string; children: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  );
}

/** A query string from parameters, leaving out the empty ones. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** The link of a trace, or of one output of it. */
export function traceHref(traceId: string, spanId?: string): string {
  return `/traces/${encodeURIComponent(traceId)}${query({ span: spanId })}`;
}
