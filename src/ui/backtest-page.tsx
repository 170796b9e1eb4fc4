/**
 * Page 6, backtest (`/backtest?since=7d&until=&service=`): a rule file picked from disk or a
 * rule pasted, a period, and what the rule would have found then. The page's script posts to
 * /backtest/run, which hands the request to POST /api/backtest and passes its progress lines
 * on as they come; the final result is rendered here, so the page shows a progress bar during
 * long runs and the same tables as everywhere else at the end.
 */

import type { ApiClient } from "./api-client.ts";
import type { RuleFileError } from "./api-types.ts";
import { Badge, Empty, Notice, TableWrap, traceHref } from "./components.tsx";
import { formatCount, formatShare, formatTime } from "./format.ts";
import { Page } from "./layout.tsx";
import { page, type PageContext, type Rendered } from "./page-context.tsx";

/** A rule's summary, as POST /api/backtest's result line gives it. */
export interface BacktestSummary {
  ruleId: string;
  ruleVersion: string;
  evaluated: number;
  failed: number;
  findings: number;
  firstAt?: string | undefined;
  lastAt?: string | undefined;
  examples: { traceId: string; spanId: string; code: string; field: string; message: string }[];
  windows?: {
    at: string;
    status: string;
    method: string;
    statistic: number | null;
    pValue: number | null;
    threshold: number | null;
    currentSize: number;
    referenceSize: number;
    message: string;
  }[];
  /** Judge rules: the plan (docs/judge.md "Backtests"); the page never confirms it. */
  judge?: {
    matched: number;
    sampled: number;
    cached: number;
    calls: number;
    promptTokens: number;
    replyTokens: number;
    costUsd: number;
    judged: boolean;
  };
  /** When the backtest replays alerts: each episode of the rule's alerts. */
  alerts?: {
    labels: Record<string, string>;
    pendingAt: string;
    firingAt: string | null;
    resolvedAt: string | null;
    firingMs: number;
  }[];
}

/** The `result` line: a list of summaries, or a report holding them under `rules`. */
type BacktestResultLine = BacktestSummary[] | { rules: BacktestSummary[] };

const EXAMPLE = `{
  "id": "orders-total-is-positive",
  "description": "Extracted order totals are positive.",
  "severity": "warning",
  "match": { "kind": "llm", "where": [{ "field": "output.json.total", "exists": true }] },
  "check": {
    "type": "assert",
    "assertions": [{ "field": "output.json.total", "greater_than": 0 }]
  }
}`;

export function backtestPage(ctx: PageContext): Rendered {
  if (!ctx.features.rules) {
    return page(
      <Page title="Backtest" section="backtest" loggedIn={ctx.loggedIn}>
        <h1>Backtest</h1>
        <Notice>
          This process does not evaluate rules (role ingest): run backtests in the evaluate
          process's UI.
        </Notice>
      </Page>,
    );
  }
  const q = ctx.query;
  return page(
    <Page title="Backtest" section="backtest" loggedIn={ctx.loggedIn}>
      <h1>Backtest</h1>
      <p class="lead">
        Replays a rule over the stored outputs of a period and shows what it would have found.
        Nothing is written and no alert is sent.
      </p>
      <form id="backtest" class="stack" method="post" action="/backtest/run">
        <label for="rule-file">A rule file</label>
        <input id="rule-file" type="file" accept=".json,application/json" />
        <label for="rule-json">or the rule (one rule, or a list of rules), as JSON</label>
        <textarea id="rule-json" name="rule" rows={14} spellcheck={false} required>
          {q["rule"] ?? EXAMPLE}
        </textarea>
        <div class="row">
          <div>
            <label for="bt-since">From</label>
            <input
              id="bt-since"
              name="since"
              value={q["since"] ?? "7d"}
              aria-describedby="time-help"
              required
            />
          </div>
          <div>
            <label for="bt-until">To</label>
            <input
              id="bt-until"
              name="until"
              value={q["until"] ?? ""}
              placeholder="now"
              aria-describedby="time-help"
            />
          </div>
          <div>
            <label for="bt-service">Only the service</label>
            <input
              id="bt-service"
              name="service"
              value={q["service"] ?? ""}
              placeholder="every service"
            />
          </div>
        </div>
        <p id="time-help" class="muted small">
          Times: ISO 8601, unix milliseconds, or a duration ago like 15m, 24h, 7d.
        </p>
        <button type="submit">Run the backtest</button>
      </form>
      <div id="backtest-progress" hidden>
        <label for="bt-bar">Progress</label> <progress id="bt-bar" max={1} value={0}></progress>{" "}
        <span id="bt-status" role="status" aria-live="polite"></span>
      </div>
      <div id="backtest-result" aria-live="polite"></div>
      <noscript>
        <Notice>
          The backtest page needs JavaScript for its progress bar; POST /api/backtest does the same
          from a script.
        </Notice>
      </noscript>
    </Page>,
  );
}

/** The result of a backtest as HTML: per rule what it found, with examples and windows. */
export function BacktestResult(props: { summaries: readonly BacktestSummary[] }) {
  return (
    <section aria-labelledby="result-h">
      <h2 id="result-h" tabindex={-1}>
        What it would have found
      </h2>
      {props.summaries.length === 0 && <Empty>No enabled rule in what was sent.</Empty>}
      {props.summaries.map((s) => (
        <div class="backtest-rule">
          <h3>
            {s.ruleId} <span class="muted small">version {s.ruleVersion}</span>
          </h3>
          <p>
            {s.windows === undefined
              ? `${formatCount(s.failed)} of ${formatCount(s.evaluated)} evaluated failed (${formatShare(s.failed, s.evaluated)}), ${formatCount(s.findings)} findings`
              : `${formatCount(s.windows.filter((w) => w.status === "drift").length)} of ${formatCount(s.windows.length)} windows breached, ${formatCount(s.windows.filter((w) => w.status === "insufficient").length)} insufficient`}
            {s.firstAt !== undefined &&
              `, from ${formatTime(s.firstAt)} to ${formatTime(s.lastAt)}`}
            .
          </p>
          {s.judge !== undefined && !s.judge.judged && (
            <p>
              {`A judge rule: nothing was sent to the judge. Judging a sample of ${formatCount(s.judge.sampled)} of its ${formatCount(s.judge.matched)} matching outputs takes ${formatCount(s.judge.calls)} calls (${formatCount(s.judge.cached)} answered by the cache, free), ~${formatCount(s.judge.promptTokens + s.judge.replyTokens)} tokens, ~$${s.judge.costUsd.toFixed(4)}: run `}
              <code>plumbline backtest --yes</code>
              {" to judge it."}
            </p>
          )}
          {s.examples.length > 0 && (
            <TableWrap label={`Examples of ${s.ruleId}`}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Message</th>
                    <th scope="col">Output</th>
                  </tr>
                </thead>
                <tbody>
                  {s.examples.map((e) => (
                    <tr>
                      <td>
                        <code>{e.field}</code>
                      </td>
                      <td>{e.message}</td>
                      <td>
                        <a href={traceHref(e.traceId, e.spanId)}>open the output</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          {s.alerts !== undefined && (
            <>
              <p>
                {s.alerts.filter((e) => e.firingAt !== null).length === 0
                  ? "Its alerts would not have fired."
                  : `Its alerts would have fired ${times(s.alerts.filter((e) => e.firingAt !== null).length)}:`}
              </p>
              {s.alerts.some((e) => e.firingAt !== null) && (
                <TableWrap label={`Alerts ${s.ruleId} would have fired`}>
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Labels</th>
                        <th scope="col">Pending</th>
                        <th scope="col">Firing</th>
                        <th scope="col">Resolved</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.alerts
                        .filter((e) => e.firingAt !== null)
                        .slice(0, 50)
                        .map((e) => (
                          <tr>
                            <td>
                              {Object.entries(e.labels)
                                .filter(([k]) => k !== "rule" && k !== "severity")
                                .map(([k, v]) => `${k}=${v}`)
                                .join(", ") || "–"}
                            </td>
                            <td class="nowrap">{formatTime(e.pendingAt)}</td>
                            <td class="nowrap">{formatTime(e.firingAt)}</td>
                            <td class="nowrap">
                              {e.resolvedAt === null ? "still firing" : formatTime(e.resolvedAt)}
                            </td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                </TableWrap>
              )}
            </>
          )}
          {s.windows !== undefined && s.windows.some((w) => w.status !== "ok") && (
            <TableWrap label={`Windows of ${s.ruleId} that did not pass`}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Window end</th>
                    <th scope="col">Status</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {s.windows
                    .filter((w) => w.status !== "ok")
                    .slice(0, 50)
                    .map((w) => (
                      <tr>
                        <td class="nowrap">{formatTime(w.at)}</td>
                        <td>
                          <Badge value={w.status} />
                        </td>
                        <td>{w.message}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </div>
      ))}
    </section>
  );
}

const times = (n: number) => (n === 1 ? "once" : `${n} times`);

function RuleProblems(props: { errors: readonly RuleFileError[] }) {
  return (
    <div role="alert" class="notice error">
      <p>The rule did not load; nothing was replayed:</p>
      <ul>
        {props.errors.map((e) => (
          <li>
            <code>{e.file}</code> <code>{e.pointer === "" ? "/" : e.pointer}</code>: {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * POST /backtest/run: the page's JSON to POST /api/backtest. The answer is NDJSON:
 * `{"progress":{done,total}}` lines as the API sends them, then `{"html": …}` with the result
 * (or the API's error) rendered; a refused request is one `{"html": …}` line with status 4xx.
 */
export async function runBacktest(api: ApiClient, body: unknown): Promise<Response> {
  const response = await api.send("POST", "/api/backtest", body);
  const ndjson = { "content-type": "application/x-ndjson; charset=utf-8" };
  const line = (value: unknown) => JSON.stringify(value) + "\n";
  if (!response.ok || response.body === null) {
    const text = await response.text();
    let json: { errors?: RuleFileError[] } | undefined;
    try {
      json = JSON.parse(text) as { errors?: RuleFileError[] };
    } catch {
      json = undefined;
    }
    const html = Array.isArray(json?.errors)
      ? String(<RuleProblems errors={json.errors} />)
      : String(<Notice tone="error">{messageOf(text, response.status)}</Notice>);
    return new Response(line({ html }), { status: response.status, headers: ndjson });
  }
  const decoder = new TextDecoder();
  let buffered = "";
  const transform = new TransformStream<Uint8Array, string>({
    transform(chunk, controller) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const text of lines) if (text.trim() !== "") controller.enqueue(convert(text));
    },
    flush(controller) {
      if (buffered.trim() !== "") controller.enqueue(convert(buffered));
    },
  });
  const stream = response.body.pipeThrough(transform).pipeThrough(new TextEncoderStream());
  return new Response(stream, { headers: ndjson });
}

function convert(text: string): string {
  const value = JSON.parse(text) as {
    progress?: unknown;
    result?: BacktestResultLine;
    error?: { message?: string };
  };
  if (value.result !== undefined) {
    const summaries = Array.isArray(value.result) ? value.result : value.result.rules;
    return JSON.stringify({ html: String(<BacktestResult summaries={summaries} />) }) + "\n";
  }
  if (value.error !== undefined) {
    return (
      JSON.stringify({
        html: String(
          <Notice tone="error">
            The backtest failed: {value.error.message ?? "unknown error"}
          </Notice>,
        ),
      }) + "\n"
    );
  }
  return text + "\n";
}

function messageOf(text: string, status: number): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: string } };
    return json.error?.message ?? `the API answered ${status}`;
  } catch {
    return `the API answered ${status}`;
  }
}
