/**
 * Page 5, drift and rate rules: the latest evaluation of each (`/windows`), and one rule
 * (`/windows/:id?limit=288&at=<window end>`) with its statistic against its threshold over its
 * latest evaluations, `insufficient` ones shown as such, and the current and reference
 * histograms and sample sizes of any one evaluation.
 */

import type { LatestWindow, RuleView, WindowEvaluationView } from "./api-types.ts";
import { Badge, Chart, Empty, Notice, PeriodForm, TableWrap, query } from "./components.tsx";
import { formatCount, formatNumber, formatShare, formatTime, plural } from "./format.ts";
import { Page } from "./layout.tsx";
import {
  apiErrorPage,
  errorPage,
  page,
  sinceOf,
  type PageContext,
  type Rendered,
} from "./page-context.tsx";

const LIMITS = [48, 288, 1000, 2016] as const;

/** The lowest p-value the chart draws (1e-20): anything smaller is "certainly drifted". */
const P_FLOOR = 1e-20;

/** The number a window rule is judged by: the p-value for significance tests, else the statistic. */
function judgedValue(e: { pValue: number | null; statistic: number | null }): number | null {
  return e.pValue ?? e.statistic;
}

function judgedName(e: { pValue: number | null; method: string }): string {
  return e.pValue !== null ? "p-value" : e.method === "threshold" ? "value" : "statistic";
}

export async function windowsPage(ctx: PageContext): Promise<Rendered> {
  const since = sinceOf(ctx);
  const [windows, rules] = await Promise.all([
    ctx.api.get<{ windows: LatestWindow[] }>("/api/windows", { since }),
    ctx.features.rules ? ctx.api.get<{ rules: RuleView[] }>("/api/rules") : undefined,
  ]);
  if (!windows.ok) return apiErrorPage(ctx, windows, "windows");
  const evaluated = new Set(windows.value.windows.map((w) => w.ruleId));
  const waiting =
    rules?.ok === true
      ? rules.value.rules.filter(
          (r) =>
            r.status === "loaded" &&
            (r.checkType === "rate" || r.checkType === "drift") &&
            r.id !== undefined &&
            !evaluated.has(r.id),
        )
      : [];
  return page(
    <Page
      title="Drift and rate rules"
      section="windows"
      loggedIn={ctx.loggedIn}
      refreshSeconds={60}
    >
      <div class="page-head">
        <h1>Drift and rate rules</h1>
        <PeriodForm action="/windows" since={since} label="Counts over the last" />
      </div>
      {windows.value.windows.length === 0 ? (
        <Empty>No drift or rate rule has been evaluated yet.</Empty>
      ) : (
        <TableWrap label="Latest evaluation of each window rule">
          <table>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Latest</th>
                <th scope="col">Check</th>
                <th scope="col" class="num">
                  Judged value
                </th>
                <th scope="col" class="num">
                  Threshold
                </th>
                <th scope="col" class="num">
                  Samples (current / reference)
                </th>
                <th scope="col" class="num">
                  In the period: breached / insufficient / all
                </th>
                <th scope="col">Window end</th>
              </tr>
            </thead>
            <tbody>
              {windows.value.windows.map((w) => (
                <tr>
                  <td>
                    <a href={`/windows/${encodeURIComponent(w.ruleId)}`}>{w.ruleId}</a>
                  </td>
                  <td>
                    <Badge value={w.status} />
                  </td>
                  <td>
                    {w.checkType} · {w.method}
                    <div class="muted small">
                      <code>{w.field}</code>
                    </div>
                  </td>
                  <td class="num">
                    {formatNumber(judgedValue(w))}
                    <div class="muted small">{judgedName(w)}</div>
                  </td>
                  <td class="num">{formatNumber(w.threshold)}</td>
                  <td class="num">
                    {formatCount(w.currentSize)} / {formatCount(w.referenceSize)}
                  </td>
                  <td class="num">
                    {formatCount(w.inPeriod.drifted)} / {formatCount(w.inPeriod.insufficient)} /{" "}
                    {formatCount(w.inPeriod.evaluations)}
                  </td>
                  <td>{formatTime(w.windowEnd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {waiting.length > 0 && (
        <section aria-labelledby="waiting-h">
          <h2 id="waiting-h">Loaded, not evaluated yet</h2>
          <p>
            A window rule runs at the next multiple of its <code>every</code>, once its window has
            settled.
          </p>
          <ul>
            {waiting.map((r) => (
              <li>
                <a href={`/rules/${encodeURIComponent(r.id ?? "")}`}>{r.id}</a> ({r.checkType})
              </li>
            ))}
          </ul>
        </section>
      )}
    </Page>,
  );
}

export async function windowPage(ctx: PageContext, ruleId: string): Promise<Rendered> {
  const limitText = ctx.query["limit"] ?? "288";
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    return errorPage(
      ctx,
      400,
      `limit "${limitText}" is not a whole number from 1 to 10000`,
      "windows",
      {
        href: `/windows/${encodeURIComponent(ruleId)}`,
        label: "The latest evaluations",
      },
    );
  }
  // A period (since, until) narrows the evaluations to windows ending in it: a deep link to how
  // the rule stood at a time (an alert's, a deploy's).
  const since = ctx.query["since"]?.trim() || undefined;
  const until = ctx.query["until"]?.trim() || undefined;
  const result = await ctx.api.get<{ evaluations: WindowEvaluationView[] }>(
    `/api/rules/${encodeURIComponent(ruleId)}/evaluations`,
    { limit, since, until },
  );
  if (!result.ok) return apiErrorPage(ctx, result, "windows");
  const newestFirst = result.value.evaluations;
  if (newestFirst.length === 0) {
    const inPeriod = since !== undefined || until !== undefined;
    return errorPage(
      ctx,
      404,
      inPeriod
        ? `No evaluation of window rule "${ruleId}" has a window ending in the period (since ${since ?? "the first"}, until ${until ?? "now"}).`
        : `No evaluation is stored for a window rule "${ruleId}" (a drift or rate rule is evaluated once its first window has passed).`,
      "windows",
      {
        href: "/windows",
        label: "Every drift and rate rule",
      },
    );
  }
  const at = ctx.query["at"];
  const selected =
    at === undefined || at === ""
      ? newestFirst[0]
      : newestFirst.find((e) => e.windowEnd === at || Date.parse(e.windowEnd) === Date.parse(at));
  if (selected === undefined) {
    return errorPage(
      ctx,
      404,
      `Rule "${ruleId}" has no evaluation of a window ending at "${at}" among its latest ${limit}.`,
      "windows",
      {
        href: `/windows/${encodeURIComponent(ruleId)}`,
        label: "The latest evaluation",
      },
    );
  }
  const series = [...newestFirst].reverse();
  const usesPValue = series.some((e) => e.pValue !== null);
  // A log axis cannot show 0 (a p-value that underflowed): such values are drawn at the floor.
  const value = (e: WindowEvaluationView) =>
    usesPValue ? (e.pValue === null ? null : Math.max(e.pValue, P_FLOOR)) : e.statistic;
  const insufficient = series.filter((e) => e.status === "insufficient").length;
  const latest = newestFirst[0] as WindowEvaluationView;
  const self = (params: Record<string, string | number | undefined>) =>
    `/windows/${encodeURIComponent(ruleId)}${query({ limit: limit === 288 ? undefined : limit, since, until, ...params })}`;

  return page(
    <Page title={`Window rule ${ruleId}`} section="windows" loggedIn={ctx.loggedIn} charts>
      <p class="crumbs">
        <a href="/windows">Drift and rate rules</a> /
      </p>
      <div class="page-head">
        <h1>
          {ruleId} <Badge value={latest.status} />
        </h1>
        <form method="get" class="period" action={`/windows/${encodeURIComponent(ruleId)}`}>
          {since !== undefined && <input type="hidden" name="since" value={since} />}
          {until !== undefined && <input type="hidden" name="until" value={until} />}
          <label for="limit">Latest evaluations</label>
          <select id="limit" name="limit" data-autosubmit>
            {(LIMITS.includes(limit as (typeof LIMITS)[number]) ? LIMITS : [limit, ...LIMITS]).map(
              (n) => (
                <option value={String(n)} selected={n === limit}>
                  {n}
                </option>
              ),
            )}
          </select>
          <button type="submit">Show</button>
        </form>
      </div>
      <p>
        {latest.checkType} check, {latest.method} on <code>{latest.field}</code>:{" "}
        {plural(series.length, "evaluation")} from {formatTime(series[0]?.windowEnd)} to{" "}
        {formatTime(latest.windowEnd)}
        {insufficient > 0 && `, ${insufficient} with too few samples to judge (insufficient)`}.
      </p>
      <p class="actions">
        <a href={`/rules/${encodeURIComponent(ruleId)}`}>The rule</a>
        <a href={`/alerts${query({ state: "firing" })}`}>Alerts firing</a>
      </p>
      <Chart
        caption={`${usesPValue ? "p-value (values below 1e-20 drawn at 1e-20)" : "statistic"} of each evaluation against its threshold; grey points: insufficient samples`}
        x={series.map((e) => Date.parse(e.windowEnd))}
        series={[
          {
            label: usesPValue ? "p-value" : "statistic",
            values: series.map((e) => (e.status === "insufficient" ? null : value(e))),
          },
          {
            label: "threshold",
            values: series.map((e) => e.threshold),
            stroke: "#b3261e",
            dash: true,
          },
          {
            label: "insufficient",
            values: series.map((e) => (e.status === "insufficient" ? (e.threshold ?? 0) : null)),
            stroke: "#6b6b6b",
            pointsOnly: true,
          },
        ]}
        yLabel={usesPValue ? "p-value (log)" : "statistic"}
        {...(usesPValue && { scale: "log" as const })}
      />
      <Histograms evaluation={selected} />
      <section aria-labelledby="evals-h">
        <h2 id="evals-h">Evaluations, newest first</h2>
        <TableWrap label="Evaluations">
          <table>
            <thead>
              <tr>
                <th scope="col">Window end</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Statistic
                </th>
                <th scope="col" class="num">
                  p-value
                </th>
                <th scope="col" class="num">
                  Threshold
                </th>
                <th scope="col" class="num">
                  Samples (current / reference)
                </th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {newestFirst.map((e) => (
                <tr
                  class={e === selected ? "selected" : undefined}
                  {...(e === selected && { "aria-current": "true" })}
                >
                  <td class="nowrap">
                    <a href={self({ at: e.windowEnd })}>{formatTime(e.windowEnd)}</a>
                  </td>
                  <td>
                    <Badge value={e.status} />
                  </td>
                  <td class="num">{formatNumber(e.statistic)}</td>
                  <td class="num">{formatNumber(e.pValue)}</td>
                  <td class="num">{formatNumber(e.threshold)}</td>
                  <td class="num">
                    {formatCount(e.currentSize)} / {formatCount(e.referenceSize)}
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </section>
    </Page>,
  );
}

function Histograms(props: { evaluation: WindowEvaluationView }) {
  const e = props.evaluation;
  const current = e.currentCounts.reduce((a, b) => a + b, 0);
  const reference = e.referenceCounts.reduce((a, b) => a + b, 0);
  const shares = e.bins.map((_, i) => ({
    current: current > 0 ? (e.currentCounts[i] ?? 0) / current : 0,
    reference: reference > 0 ? (e.referenceCounts[i] ?? 0) / reference : 0,
  }));
  const max = Math.max(0.0001, ...shares.flatMap((s) => [s.current, s.reference]));
  return (
    <section aria-labelledby="hist-h" id="evaluation">
      <h2 id="hist-h">Evaluation of the window ending {formatTime(e.windowEnd)}</h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <Badge value={e.status} /> {e.message}
        </dd>
        <dt>Current window</dt>
        <dd>
          {formatTime(e.windowStart)} to {formatTime(e.windowEnd)}: {formatCount(e.currentSize)}{" "}
          samples
        </dd>
        <dt>Reference</dt>
        <dd>
          {e.referenceStart === null
            ? "none (a fixed threshold)"
            : `${formatTime(e.referenceStart)} to ${formatTime(e.referenceEnd)}`}
          {e.referenceStart !== null && `: ${formatCount(e.referenceSize)} samples`}
        </dd>
        <dt>Statistic</dt>
        <dd>
          {formatNumber(e.statistic)}
          {e.pValue !== null && `, p-value ${formatNumber(e.pValue)}`} against threshold{" "}
          {formatNumber(e.threshold)} (
          {e.direction === "below" ? "breached below it" : "breached at or above it"})
        </dd>
      </dl>
      {e.bins.length === 0 ? (
        <Empty>
          {e.status === "insufficient"
            ? "Too few samples to judge: no histogram was kept."
            : "This evaluation kept no histogram."}
        </Empty>
      ) : (
        <TableWrap label="Current and reference histograms">
          <table class="histogram">
            <caption>Share of samples per bin, current window against reference</caption>
            <thead>
              <tr>
                <th scope="col">Bin</th>
                <th scope="col" class="num">
                  Current
                </th>
                <th scope="col" class="num">
                  Reference
                </th>
                <th scope="col" class="bar-col">
                  <span class="key current">current</span>{" "}
                  <span class="key reference">reference</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {e.bins.map((bin, i) => {
                const s = shares[i] ?? { current: 0, reference: 0 };
                return (
                  <tr>
                    <th scope="row">
                      <code>{bin}</code>
                    </th>
                    <td class="num">
                      {formatShare(e.currentCounts[i] ?? 0, current)}
                      <div class="muted small">{formatCount(e.currentCounts[i] ?? 0)}</div>
                    </td>
                    <td class="num">
                      {formatShare(e.referenceCounts[i] ?? 0, reference)}
                      <div class="muted small">{formatCount(e.referenceCounts[i] ?? 0)}</div>
                    </td>
                    <td class="bar-col" aria-hidden="true">
                      <div
                        class="hbar current"
                        style={`width: ${((100 * s.current) / max).toFixed(1)}%`}
                      ></div>
                      <div
                        class="hbar reference"
                        style={`width: ${((100 * s.reference) / max).toFixed(1)}%`}
                      ></div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      {e.status === "error" && <Notice tone="error">{e.message}</Notice>}
    </section>
  );
}
