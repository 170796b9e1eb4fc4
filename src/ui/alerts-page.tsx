/**
 * Page 4, alerts: every alert by state (`/alerts?state=firing`), and one alert
 * (`/alerts/:fingerprint`) with its timeline, evidence and examples, and every delivery attempt
 * per channel (status, error, next retry).
 */

import type { AlertDetail, AlertView } from "./api-types.ts";
import { Badge, Empty, Notice, TableWrap, query, traceHref } from "./components.tsx";
import { formatAgo, formatCount, formatNumber, formatShare, formatTime } from "./format.ts";
import { Page } from "./layout.tsx";
import { groupLabels } from "./overview-page.tsx";
import { apiErrorPage, errorPage, page, type PageContext, type Rendered } from "./page-context.tsx";

const STATES = ["firing", "pending", "resolved"] as const;

function noAlertsHere(ctx: PageContext): Rendered {
  return page(
    <Page title="Alerts" section="alerts" loggedIn={ctx.loggedIn}>
      <h1>Alerts</h1>
      <Notice>
        This process does not evaluate rules (role ingest): its alerts live in the evaluate process.
      </Notice>
    </Page>,
  );
}

export async function alertsPage(ctx: PageContext): Promise<Rendered> {
  if (!ctx.features.alerts) return noAlertsHere(ctx);
  const state = ctx.query["state"];
  if (state !== undefined && state !== "" && !(STATES as readonly string[]).includes(state)) {
    return errorPage(ctx, 400, `state "${state}" is not one of ${STATES.join(", ")}`, "alerts", {
      href: "/alerts",
      label: "Every alert",
    });
  }
  const result = await ctx.api.get<{ alerts: AlertView[] }>("/api/alerts", { state });
  if (!result.ok) return apiErrorPage(ctx, result, "alerts");
  const alerts = result.value.alerts;
  const shown = state === undefined || state === "" ? STATES : [state];
  return page(
    <Page title="Alerts" section="alerts" loggedIn={ctx.loggedIn} refreshSeconds={30}>
      <div class="page-head">
        <h1>Alerts</h1>
        <nav aria-label="Alert states" class="tabs">
          <a href="/alerts" {...((state ?? "") === "" && { "aria-current": "page" })}>
            All
          </a>
          {STATES.map((s) => (
            <a
              href={`/alerts${query({ state: s })}`}
              {...(state === s && { "aria-current": "page" })}
            >
              {s} ({alerts.filter((a) => a.state === s).length})
            </a>
          ))}
        </nav>
      </div>
      <p>
        <a href="/silences">Silences</a>: alerts they hold change state as usual, but no
        notification is sent.
      </p>
      {shown.map((s) => {
        const list = alerts.filter((a) => a.state === s);
        return (
          <section aria-labelledby={`${s}-h`}>
            <h2 id={`${s}-h`}>
              {s[0]?.toUpperCase()}
              {s.slice(1)} ({list.length})
            </h2>
            {list.length === 0 ? (
              <Empty>No {s} alert.</Empty>
            ) : (
              <AlertTable alerts={list} now={ctx.now} />
            )}
          </section>
        );
      })}
    </Page>,
  );
}

function AlertTable(props: { alerts: readonly AlertView[]; now: number }) {
  return (
    <TableWrap label="Alerts">
      <table>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Severity</th>
            <th scope="col">Labels</th>
            <th scope="col" class="num">
              Failed
            </th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {props.alerts.map((a) => (
            <tr>
              <td>
                <a href={`/alerts/${encodeURIComponent(a.fingerprint)}`}>{a.ruleId}</a>
                <div class="muted small">{a.description}</div>
              </td>
              <td>
                <Badge value={a.severity} />
              </td>
              <td>{groupLabels(a.labels)}</td>
              <td class="num">
                {formatCount(a.counts.failed)}
                {a.counts.evaluated > 0 && (
                  <div class="muted small">of {formatCount(a.counts.evaluated)}</div>
                )}
              </td>
              <td>{formatAgo(a.firstSeen, props.now)}</td>
              <td>{formatAgo(a.lastSeen, props.now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

export async function alertPage(ctx: PageContext, fingerprint: string): Promise<Rendered> {
  if (!ctx.features.alerts) return noAlertsHere(ctx);
  const result = await ctx.api.get<AlertDetail>(`/api/alerts/${encodeURIComponent(fingerprint)}`);
  if (!result.ok)
    return apiErrorPage(ctx, result, "alerts", { href: "/alerts", label: "Every alert" });
  const { alert: a, history, deliveries, silencedBy } = result.value;
  const m = a.measurement;
  const silenceHref = `/silences${query({
    new: "1",
    rule: a.ruleId,
    ...Object.fromEntries(
      Object.entries(a.labels)
        .filter(([k]) => k !== "rule" && k !== "severity")
        .map(([k, v]) => [`label.${k}`, v]),
    ),
  })}`;
  const channels = [
    ...new Set([
      ...deliveries.notifications.map((n) => n.Channel),
      ...deliveries.attempts.map((t) => t.Channel),
    ]),
  ].sort();
  return page(
    <Page title={`Alert ${a.ruleId}`} section="alerts" loggedIn={ctx.loggedIn} refreshSeconds={30}>
      <p class="crumbs">
        <a href="/alerts">Alerts</a> /
      </p>
      <h1>
        {a.ruleId} <Badge value={a.state} />
      </h1>
      <p class="lead">{a.description}</p>
      {silencedBy.length > 0 && (
        <Notice>
          Silenced by {silencedBy.length === 1 ? "a silence" : `${silencedBy.length} silences`}: its
          notifications are not sent. <a href="/silences">See silences</a>
        </Notice>
      )}
      <p class="actions">
        <a href={`/rules/${encodeURIComponent(a.ruleId)}`}>The rule</a>
        {m !== undefined && (
          <a href={`/windows/${encodeURIComponent(a.ruleId)}`}>Its evaluations</a>
        )}
        <a href={silenceHref}>Silence this alert</a>
        {a.runbook !== undefined && a.runbook !== "" && <a href={a.runbook}>Runbook</a>}
      </p>
      <dl class="facts">
        <dt>Severity</dt>
        <dd>
          <Badge value={a.severity} />
        </dd>
        <dt>Labels</dt>
        <dd>{groupLabels(a.labels)}</dd>
        <dt>Counts</dt>
        <dd>
          {formatCount(a.counts.failed)} failed
          {a.counts.evaluated > 0 &&
            ` of ${formatCount(a.counts.evaluated)} evaluated (${formatShare(a.counts.failed, a.counts.evaluated)})`}
        </dd>
        <dt>First seen</dt>
        <dd>{formatTime(a.firstSeen)}</dd>
        <dt>Last seen</dt>
        <dd>{formatTime(a.lastSeen)}</dd>
        <dt>Firing since</dt>
        <dd>{formatTime(a.startsAt)}</dd>
        <dt>Resolved</dt>
        <dd>{formatTime(a.endsAt)}</dd>
        <dt>Fingerprint</dt>
        <dd>
          <code>{a.fingerprint}</code>
        </dd>
      </dl>

      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        {history.length === 0 ? (
          <Empty>No transition stored yet.</Empty>
        ) : (
          <ol class="timeline">
            {history.map((h) => (
              <li>
                <time>{formatTime(Number(h.Time) * 1000 || h.Time)}</time>{" "}
                <Badge value={h.FromState} /> → <Badge value={h.ToState} />{" "}
                <span class="muted">
                  {formatCount(Number(h.Failed))} failed
                  {Number(h.Evaluated) > 0 && ` of ${formatCount(Number(h.Evaluated))}`}
                  {h.Notification !== "" && ` · notification ${h.Notification}`}
                </span>
              </li>
            ))}
          </ol>
        )}
      </section>

      {m !== undefined && (
        <section aria-labelledby="evidence-h">
          <h2 id="evidence-h">Evidence</h2>
          <dl class="facts">
            <dt>Check</dt>
            <dd>
              {m.checkType} · {m.method} on <code>{m.field}</code>
            </dd>
            <dt>Statistic</dt>
            <dd>{formatNumber(m.statistic)}</dd>
            <dt>p-value</dt>
            <dd>{formatNumber(m.pValue)}</dd>
            <dt>Threshold</dt>
            <dd>
              {formatNumber(m.threshold)} (
              {m.direction === "below" ? "breached below it" : "breached at or above it"})
            </dd>
            <dt>Window</dt>
            <dd>
              {formatTime(m.windowStart)} to {formatTime(m.windowEnd)}
            </dd>
            <dt>Samples</dt>
            <dd>
              {formatCount(m.currentSize)} current, {formatCount(m.referenceSize)} reference
            </dd>
            <dt>Message</dt>
            <dd>{m.message}</dd>
          </dl>
        </section>
      )}

      <section aria-labelledby="examples-h">
        <h2 id="examples-h">Examples</h2>
        {a.examples.length === 0 ? (
          <Empty>No example output (window rules have none: see the evidence).</Empty>
        ) : (
          <TableWrap label="Example failing outputs">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Field</th>
                  <th scope="col">Message</th>
                  <th scope="col">Observed</th>
                  <th scope="col">Output</th>
                </tr>
              </thead>
              <tbody>
                {a.examples.map((e) => (
                  <tr>
                    <td class="nowrap">{formatTime(e.at)}</td>
                    <td>
                      <code>{e.field}</code>
                    </td>
                    <td>{e.message}</td>
                    <td>
                      <code class="clip">{e.observed}</code>
                    </td>
                    <td>
                      <a href={traceHref(e.traceId, e.spanId)}>open the output</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>

      <section aria-labelledby="deliveries-h">
        <h2 id="deliveries-h">Deliveries</h2>
        {channels.length === 0 ? (
          <Empty>
            No notification was sent for this alert (no channel is configured, or none matched its
            routes).
          </Empty>
        ) : (
          channels.map((channel) => (
            <div class="channel">
              <h3>
                Channel <code>{channel}</code>
              </h3>
              <TableWrap label={`Notifications to ${channel}`}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Notification</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Status</th>
                      <th scope="col" class="num">
                        Attempts
                      </th>
                      <th scope="col">Next retry</th>
                      <th scope="col">Last error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {deliveries.notifications
                      .filter((n) => n.Channel === channel)
                      .map((n) => (
                        <tr>
                          <td>
                            <code>{n.Id}</code>
                            <div class="muted small">{n.CreatedAt}</div>
                          </td>
                          <td>{n.Kind}</td>
                          <td>
                            <Badge value={n.Status} />
                          </td>
                          <td class="num">{formatCount(Number(n.Attempts))}</td>
                          <td>{n.Status === "pending" ? n.NextAttemptAt : "–"}</td>
                          <td>{n.LastError === "" ? "–" : n.LastError}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </TableWrap>
              <TableWrap label={`Attempts to ${channel}`}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col" class="num">
                        Attempt
                      </th>
                      <th scope="col">Outcome</th>
                      <th scope="col" class="num">
                        HTTP status
                      </th>
                      <th scope="col">Error</th>
                      <th scope="col" class="num">
                        Latency
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {deliveries.attempts
                      .filter((t) => t.Channel === channel)
                      .map((t) => (
                        <tr>
                          <td class="nowrap">{t.Time}</td>
                          <td class="num">{formatCount(Number(t.Attempt))}</td>
                          <td>
                            <Badge value={t.Outcome} />
                          </td>
                          <td class="num">
                            {Number(t.StatusCode) === 0 ? "–" : String(t.StatusCode)}
                          </td>
                          <td>{t.Error === "" ? "–" : t.Error}</td>
                          <td class="num">{formatCount(Number(t.LatencyMs))} ms</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </TableWrap>
            </div>
          ))
        )}
      </section>
    </Page>,
  );
}
