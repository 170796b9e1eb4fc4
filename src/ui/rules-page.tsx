/**
 * Page 2, the rules: every rule file with its status, version, check type and counts (`/rules`),
 * and one rule (`/rules/:id?since=24h`) with its evaluated and failed outputs over time and its
 * latest findings. A file that failed to load shows each problem: file, JSON pointer, message.
 */

import type { ActivityAnswer, CheckRow, RuleView } from "./api-types.ts";
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
import { FindingsTable } from "./findings-table.tsx";
import { formatAgo, formatCount, formatShare, formatTime } from "./format.ts";
import { Page } from "./layout.tsx";
import {
  apiErrorPage,
  errorPage,
  page,
  sinceOf,
  type PageContext,
  type Rendered,
} from "./page-context.tsx";

const WINDOW_TYPES = new Set(["rate", "drift"]);

function noRulesHere(ctx: PageContext): Rendered {
  return page(
    <Page title="Rules" section="rules" loggedIn={ctx.loggedIn}>
      <h1>Rules</h1>
      <Notice>
        This process does not evaluate rules (role ingest): open the evaluate process's UI.
      </Notice>
    </Page>,
  );
}

export async function rulesPage(ctx: PageContext): Promise<Rendered> {
  if (!ctx.features.rules) return noRulesHere(ctx);
  const since = sinceOf(ctx);
  const [rules, activity] = await Promise.all([
    ctx.api.get<{ rules: RuleView[] }>("/api/rules"),
    ctx.api.get<ActivityAnswer>("/api/activity/rules", { since }),
  ]);
  if (!rules.ok) return apiErrorPage(ctx, rules, "rules");
  if (!activity.ok) return apiErrorPage(ctx, activity, "rules");
  const series = new Map(activity.value.rules.map((r) => [r.ruleId, r]));
  const broken = rules.value.rules.filter((r) => r.errors.length > 0);
  return page(
    <Page title="Rules" section="rules" loggedIn={ctx.loggedIn}>
      <div class="page-head">
        <h1>Rules</h1>
        <PeriodForm action="/rules" since={since} label="Trend over the last" />
      </div>
      {broken.length > 0 && (
        <section aria-labelledby="broken-h">
          <h2 id="broken-h">Rule files with problems</h2>
          <Notice tone="error">
            {broken.length === 1 ? "1 rule file" : `${broken.length} rule files`} did not load as
            written (a file that loaded before keeps its last good version running).
          </Notice>
          <RuleErrors rules={broken} />
        </section>
      )}
      <section aria-labelledby="all-h">
        <h2 id="all-h">Every rule file</h2>
        {rules.value.rules.length === 0 ? (
          <Empty>No rule file is loaded.</Empty>
        ) : (
          <TableWrap label="Rule files">
            <table>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Check</th>
                  <th scope="col">Version</th>
                  <th scope="col" class="num">
                    Evaluated (24 h)
                  </th>
                  <th scope="col" class="num">
                    Failed (24 h)
                  </th>
                  <th scope="col">Failed over time</th>
                  <th scope="col">Last matched</th>
                </tr>
              </thead>
              <tbody>
                {rules.value.rules.map((r) => {
                  const s = r.id === undefined ? undefined : series.get(r.id);
                  return (
                    <tr>
                      <td>
                        <Badge value={r.status} />
                        {r.health === "unhealthy" && <Badge value="unhealthy" />}
                        {r.idle && <Badge value="idle" />}
                      </td>
                      <td>
                        {r.id === undefined ? (
                          <span class="muted">(no id)</span>
                        ) : (
                          <a href={`/rules/${encodeURIComponent(r.id)}${query({ since })}`}>
                            {r.id}
                          </a>
                        )}
                        <div class="muted small">{r.file}</div>
                      </td>
                      <td>
                        {r.checkType ?? "–"}
                        {r.severity !== undefined && <div class="muted small">{r.severity}</div>}
                      </td>
                      <td>
                        <code>{r.version ?? "–"}</code>
                      </td>
                      <td class="num">{formatCount(r.last24h.evaluated)}</td>
                      <td class="num">
                        {formatCount(r.last24h.failed)}
                        {r.last24h.evaluated > 0 && (
                          <div class="muted small">
                            {formatShare(r.last24h.failed, r.last24h.evaluated)}
                          </div>
                        )}
                      </td>
                      <td>
                        {s === undefined ? (
                          <span class="muted">–</span>
                        ) : (
                          <Sparkline
                            values={s.failedPerBucket}
                            label={`${r.id ?? r.file} failed`}
                            tone="bad"
                          />
                        )}
                      </td>
                      <td>{formatAgo(r.lastMatchedAt, ctx.now)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </Page>,
  );
}

function RuleErrors(props: { rules: readonly RuleView[] }) {
  return (
    <TableWrap label="Rule file problems">
      <table>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">JSON pointer</th>
            <th scope="col">Problem</th>
          </tr>
        </thead>
        <tbody>
          {props.rules.flatMap((r) =>
            r.errors.map((e) => (
              <tr>
                <td>
                  <code>{e.file}</code>
                </td>
                <td>
                  <code>{e.pointer === "" ? "/" : e.pointer}</code>
                </td>
                <td>{e.message}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

export async function rulePage(ctx: PageContext, ruleId: string): Promise<Rendered> {
  if (!ctx.features.rules) return noRulesHere(ctx);
  const since = sinceOf(ctx);
  const [rules, activity, checks] = await Promise.all([
    ctx.api.get<{ rules: RuleView[] }>("/api/rules"),
    ctx.api.get<ActivityAnswer>("/api/activity/rules", { since, rule: ruleId }),
    ctx.api.get<{ checks: CheckRow[] }>("/api/checks", { rule: ruleId, since, limit: 25 }),
  ]);
  if (!rules.ok) return apiErrorPage(ctx, rules, "rules");
  if (!activity.ok)
    return apiErrorPage(ctx, activity, "rules", { href: "/rules", label: "All rules" });
  if (!checks.ok) return apiErrorPage(ctx, checks, "rules", { href: "/rules", label: "All rules" });
  const files = rules.value.rules.filter((r) => r.id === ruleId);
  const rule = files.find((r) => r.status === "loaded") ?? files[0];
  if (rule === undefined) {
    return errorPage(ctx, 404, `No rule file has the id "${ruleId}".`, "rules", {
      href: "/rules",
      label: "All rules",
    });
  }
  const a = activity.value;
  const s = a.rules[0];
  const isWindow = WINDOW_TYPES.has(rule.checkType ?? "");
  return page(
    <Page title={`Rule ${ruleId}`} section="rules" loggedIn={ctx.loggedIn} charts>
      <p class="crumbs">
        <a href="/rules">Rules</a> /
      </p>
      <div class="page-head">
        <h1>{ruleId}</h1>
        <PeriodForm action={`/rules/${encodeURIComponent(ruleId)}`} since={since} />
      </div>
      {rule.description !== undefined && <p class="lead">{rule.description}</p>}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <Badge value={rule.status} /> {rule.health === "unhealthy" && <Badge value="unhealthy" />}
          {rule.idle && <Badge value="idle" label="idle: matched nothing in 24 h" />}
        </dd>
        <dt>File</dt>
        <dd>
          <code>{rule.file}</code>
        </dd>
        <dt>Version</dt>
        <dd>
          <code>{rule.version ?? "–"}</code>
        </dd>
        <dt>Check</dt>
        <dd>{rule.checkType ?? "–"}</dd>
        <dt>Severity</dt>
        <dd>{rule.severity ?? "–"}</dd>
        <dt>Last 24 h</dt>
        <dd>
          {formatCount(rule.last24h.failed)} failed of {formatCount(rule.last24h.evaluated)}{" "}
          evaluated
        </dd>
        <dt>Rule problems (24 h)</dt>
        <dd>
          {formatCount(rule.ruleErrors.last24h)}
          {rule.ruleErrors.lastError !== undefined &&
            ` · latest ${formatTime(rule.ruleErrors.lastError.at)}: ${rule.ruleErrors.lastError.message}`}
        </dd>
      </dl>
      <p class="actions">
        {isWindow && (
          <a href={`/windows/${encodeURIComponent(ruleId)}`}>
            Its evaluations, statistic and histograms
          </a>
        )}
        <a href={`/backtest${query({ since: "7d" })}`}>Try a change in a backtest</a>
      </p>
      {rule.errors.length > 0 && (
        <section aria-labelledby="problems-h">
          <h2 id="problems-h">Problems of the file</h2>
          <RuleErrors rules={[rule]} />
        </section>
      )}
      {!isWindow && (
        <section aria-labelledby="time-h">
          <h2 id="time-h">Evaluated and failed over time</h2>
          {s === undefined ? (
            <Empty>The rule evaluated nothing in the period.</Empty>
          ) : (
            <>
              <p>
                {formatCount(s.failed)} failed of {formatCount(s.evaluated)} evaluated (
                {formatShare(s.failed, s.evaluated)}) from {formatTime(a.since)} to{" "}
                {formatTime(a.until)}.
              </p>
              <Chart
                caption={`Outputs evaluated and failed per ${a.stepMs / 60_000} min`}
                x={a.buckets}
                series={[
                  { label: "evaluated", values: s.evaluatedPerBucket },
                  { label: "failed", values: s.failedPerBucket, stroke: "#b3261e" },
                ]}
                yLabel="outputs"
              />
            </>
          )}
        </section>
      )}
      <section aria-labelledby="findings-h">
        <h2 id="findings-h">Latest findings</h2>
        {checks.value.checks.length === 0 ? (
          <Empty>No finding in the period.</Empty>
        ) : (
          <FindingsTable checks={checks.value.checks} label="Latest findings" showRule={false} />
        )}
      </section>
    </Page>,
  );
}
