/**
 * Page 1, the overview (`/?since=24h`): alerts firing and pending, the rules failing most,
 * window rules whose latest evaluation breached, outputs per service and agent, ingest and
 * what was not understood.
 */

import type { ActivityAnswer, AlertView, LatestWindow, OverviewAnswer } from "./api-types.ts";
import {
  Badge,
  Chart,
  Empty,
  Notice,
  PeriodForm,
  Sparkline,
  TableWrap,
  query,
} from "./components.tsx";
import { formatAgo, formatCount, formatNumber, formatShare, formatTime } from "./format.ts";
import { Page } from "./layout.tsx";
import { apiErrorPage, page, sinceOf, type PageContext, type Rendered } from "./page-context.tsx";

const TOP_RULES = 10;

export async function overviewPage(ctx: PageContext): Promise<Rendered> {
  const since = sinceOf(ctx);
  const [overview, activity, windows, alerts] = await Promise.all([
    ctx.api.get<OverviewAnswer>("/api/overview", { since }),
    ctx.api.get<ActivityAnswer>("/api/activity/rules", { since }),
    ctx.api.get<{ windows: LatestWindow[] }>("/api/windows", { since }),
    ctx.features.alerts ? ctx.api.get<{ alerts: AlertView[] }>("/api/alerts") : undefined,
  ]);
  if (!overview.ok) return apiErrorPage(ctx, overview, "overview");
  if (!activity.ok) return apiErrorPage(ctx, activity, "overview");
  if (!windows.ok) return apiErrorPage(ctx, windows, "overview");
  const o = overview.value;
  const minutes = (Date.parse(o.until) - Date.parse(o.since)) / 60_000;
  const openAlerts =
    alerts?.ok === true ? alerts.value.alerts.filter((a) => a.state !== "resolved") : [];
  const failing = activity.value.rules.filter((r) => r.failed > 0).slice(0, TOP_RULES);
  const breached = windows.value.windows.filter((w) => w.status === "drift");
  const perMinute = (n: number) => formatNumber(Math.round((10 * n) / Math.max(minutes, 1)) / 10);
  const stepMinutes = o.stepMs / 60_000;

  return page(
    <Page title="Overview" section="overview" loggedIn={ctx.loggedIn} refreshSeconds={30} charts>
      <div class="page-head">
        <h1>Overview</h1>
        <PeriodForm action="/" since={since} />
      </div>
      <p class="muted">
        {formatTime(o.since)} to {formatTime(o.until)}
      </p>
      <ul class="stats" aria-label="In the period">
        <li>
          <strong>{formatCount(o.ingest.totals.outputs)}</strong> outputs
        </li>
        <li>
          <strong>{formatCount(o.ingest.totals.received)}</strong> spans received
        </li>
        <li>
          <strong>{formatCount(o.ingest.totals.rejected)}</strong> rejected
        </li>
        <li>
          <strong>{formatCount(openAlerts.filter((a) => a.state === "firing").length)}</strong>{" "}
          alerts firing
        </li>
        <li>
          <strong>{formatCount(failing.length)}</strong> rules failing
        </li>
        <li>
          <strong>{formatCount(breached.length)}</strong> window rules breached
        </li>
      </ul>

      <section aria-labelledby="alerts-h">
        <h2 id="alerts-h">Alerts firing and pending</h2>
        {alerts === undefined ? (
          <Notice>
            This process does not evaluate rules (role ingest): its alerts live in the evaluate
            process.
          </Notice>
        ) : !alerts.ok ? (
          <Notice tone="error">{alerts.message}</Notice>
        ) : openAlerts.length === 0 ? (
          <Empty>No alert is firing or pending.</Empty>
        ) : (
          <TableWrap label="Alerts firing and pending">
            <table>
              <thead>
                <tr>
                  <th scope="col">State</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Labels</th>
                  <th scope="col" class="num">
                    Failed
                  </th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {openAlerts.map((a) => (
                  <tr>
                    <td>
                      <Badge value={a.state} />
                    </td>
                    <td>
                      <a href={`/alerts/${encodeURIComponent(a.fingerprint)}`}>{a.ruleId}</a>
                    </td>
                    <td>{groupLabels(a.labels)}</td>
                    <td class="num">
                      {formatCount(a.counts.failed)}
                      {a.counts.evaluated > 0 && ` of ${formatCount(a.counts.evaluated)}`}
                    </td>
                    <td>{formatAgo(a.startsAt ?? a.firstSeen, ctx.now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>

      <section aria-labelledby="rules-h">
        <h2 id="rules-h">Rules failing most</h2>
        {failing.length === 0 ? (
          <Empty>No rule failed an output in the period.</Empty>
        ) : (
          <TableWrap label="Rules failing most">
            <table>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col" class="num">
                    Failure rate
                  </th>
                  <th scope="col" class="num">
                    Failed
                  </th>
                  <th scope="col" class="num">
                    Evaluated
                  </th>
                  <th scope="col">Failed over time</th>
                </tr>
              </thead>
              <tbody>
                {failing.map((r) => (
                  <tr>
                    <td>
                      <a href={`/rules/${encodeURIComponent(r.ruleId)}${query({ since })}`}>
                        {r.ruleId}
                      </a>
                    </td>
                    <td class="num">{formatShare(r.failed, r.evaluated)}</td>
                    <td class="num">{formatCount(r.failed)}</td>
                    <td class="num">{formatCount(r.evaluated)}</td>
                    <td>
                      <Sparkline
                        values={r.failedPerBucket}
                        label={`${r.ruleId} failed`}
                        tone="bad"
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>

      <section aria-labelledby="windows-h">
        <h2 id="windows-h">Drift and rate rules whose last evaluation breached</h2>
        {breached.length === 0 ? (
          <Empty>
            {windows.value.windows.length === 0
              ? "No drift or rate rule has been evaluated yet."
              : `None: the latest evaluation of each of the ${windows.value.windows.length} window rules did not breach.`}
          </Empty>
        ) : (
          <TableWrap label="Window rules breached">
            <table>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">Type</th>
                  <th scope="col" class="num">
                    Statistic
                  </th>
                  <th scope="col" class="num">
                    Threshold
                  </th>
                  <th scope="col">Window end</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {breached.map((w) => (
                  <tr>
                    <td>
                      <a href={`/windows/${encodeURIComponent(w.ruleId)}`}>{w.ruleId}</a>
                    </td>
                    <td>
                      {w.checkType} · {w.method}
                    </td>
                    <td class="num">{formatNumber(w.pValue ?? w.statistic)}</td>
                    <td class="num">{formatNumber(w.threshold)}</td>
                    <td>{formatTime(w.windowEnd)}</td>
                    <td>{w.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>

      <section aria-labelledby="outputs-h">
        <h2 id="outputs-h">Services and agents</h2>
        {o.outputs.length === 0 ? (
          <Empty>
            No agent output in the period. Point an OpenTelemetry SDK at this port, or run{" "}
            <code>npm run demo</code>.
          </Empty>
        ) : (
          <TableWrap label="Outputs per service and agent">
            <table>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Agent</th>
                  <th scope="col" class="num">
                    Outputs
                  </th>
                  <th scope="col" class="num">
                    Per minute
                  </th>
                  <th scope="col">Over time</th>
                </tr>
              </thead>
              <tbody>
                {o.outputs.map((v) => (
                  <tr>
                    <td>{v.service}</td>
                    <td>{v.agent === "" ? <span class="muted">(none)</span> : v.agent}</td>
                    <td class="num">{formatCount(v.outputs)}</td>
                    <td class="num">{perMinute(v.outputs)}</td>
                    <td>
                      <Sparkline values={v.perBucket} label={`${v.service} ${v.agent} outputs`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>

      <section aria-labelledby="ingest-h">
        <h2 id="ingest-h">Ingest</h2>
        <Chart
          caption={`Spans per minute, received and rejected (buckets of ${stepMinutes} min)`}
          x={o.buckets}
          series={[
            { label: "received", values: o.ingest.received.map((n) => n / stepMinutes) },
            {
              label: "rejected",
              values: o.ingest.rejected.map((n) => n / stepMinutes),
              stroke: "#b3261e",
            },
          ]}
          yLabel="spans / min"
        />
        <h3>Unrecognised spans per service</h3>
        {o.unrecognised.length === 0 ? (
          <Empty>No span was received in the period.</Empty>
        ) : (
          <TableWrap label="Unrecognised spans per service">
            <table>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col" class="num">
                    Received
                  </th>
                  <th scope="col" class="num">
                    Unrecognised
                  </th>
                  <th scope="col" class="num">
                    Rejected
                  </th>
                  <th scope="col">Span names not understood</th>
                </tr>
              </thead>
              <tbody>
                {o.unrecognised.map((u) => (
                  <tr>
                    <td>{u.service}</td>
                    <td class="num">{formatCount(u.received)}</td>
                    <td class="num">{formatCount(u.unrecognised)}</td>
                    <td class="num">{formatCount(u.rejected)}</td>
                    <td>
                      {u.spanNames.length === 0
                        ? "–"
                        : u.spanNames.map((s) => `${s.name} (${formatCount(s.count)})`).join(", ")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </Page>,
  );
}

/** The labels that tell alerts of one rule apart (service, agent …), without rule and severity. */
export function groupLabels(labels: Record<string, string>): string {
  const shown = Object.entries(labels).filter(([k]) => k !== "rule" && k !== "severity");
  return shown.length === 0 ? "–" : shown.map(([k, v]) => `${k}=${v}`).join(", ");
}
