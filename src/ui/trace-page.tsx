/**
 * Page 3, finding → output → trace (`/traces/:traceId?span=<spanId>`): the selected output —
 * input, output (JSON pretty-printed), tool arguments and result, model, tokens, finish reason
 * — with the fields its findings name highlighted; below it the whole trace as a span tree with
 * timing (a waterfall), each output's findings marked, and raw attributes on demand.
 */

import type { CheckRow, OutputView, SpanView, TraceAnswer } from "./api-types.ts";
import { Badge, Empty, TableWrap, traceHref } from "./components.tsx";
import {
  formatCount,
  plural,
  formatDurationMs,
  formatDurationNs,
  formatStoredTime,
  storedTimeNanos,
} from "./format.ts";
import { JsonView, parseJson, targetOf, type FieldTarget } from "./json-view.tsx";
import { Page } from "./layout.tsx";
import { conversationHref } from "./conversations-page.tsx";
import type { PathStep } from "../rules/json-path.ts";
import { apiErrorPage, errorPage, page, type PageContext, type Rendered } from "./page-context.tsx";

const SPAN_ID = /^[0-9a-f]{16}$/;

export async function tracePage(ctx: PageContext, traceId: string): Promise<Rendered> {
  const spanParam = ctx.query["span"]?.toLowerCase();
  if (spanParam !== undefined && spanParam !== "" && !SPAN_ID.test(spanParam)) {
    return errorPage(ctx, 400, `span id "${spanParam}" is not 16 hex digits`, "overview");
  }
  const trace = await ctx.api.get<TraceAnswer>(`/api/traces/${encodeURIComponent(traceId)}`);
  if (!trace.ok) return apiErrorPage(ctx, trace, "overview");
  const id = trace.value.traceId;
  const checks = await ctx.api.get<{ checks: CheckRow[] }>("/api/checks", {
    trace: id,
    limit: 1000,
  });
  const findings = checks.ok ? checks.value.checks : [];
  const { spans, outputs } = trace.value;
  const outputOf = new Map(outputs.map((o) => [o.SpanId, o]));
  const findingsOf = groupBy(findings, (f) => f.SpanId);
  if (
    spanParam !== undefined &&
    spanParam !== "" &&
    !outputOf.has(spanParam) &&
    !spans.some((s) => s.SpanId === spanParam)
  ) {
    return errorPage(ctx, 404, `trace ${id} has no span ${spanParam}`, "overview", {
      href: traceHref(id),
      label: "The whole trace",
    });
  }
  const selectedId =
    spanParam !== undefined && spanParam !== ""
      ? spanParam
      : (findings.find((f) => outputOf.has(f.SpanId))?.SpanId ??
        outputs[0]?.SpanId ??
        spans[0]?.SpanId);
  const selectedOutput = selectedId === undefined ? undefined : outputOf.get(selectedId);
  const selectedSpan = spans.find((s) => s.SpanId === selectedId);
  const traceFindings = findings.filter((f) => f.Scope === "trace");
  const conversationId = outputs.find((o) => o.ConversationId !== "")?.ConversationId;

  return page(
    <Page title={`Trace ${id.slice(0, 8)}`} section="overview" loggedIn={ctx.loggedIn}>
      <h1>
        Trace <code>{id}</code>
      </h1>
      <p class="muted">
        {plural(spans.length, "span")}, {plural(outputs.length, "output")},{" "}
        {plural(findings.length, "finding")}
        {!checks.ok && ` (findings could not be read: ${checks.message})`}
      </p>
      {conversationId !== undefined && (
        <p>
          A turn of conversation{" "}
          <a href={conversationHref(conversationId)}>
            <code>{conversationId}</code>
          </a>
        </p>
      )}
      {traceFindings.length > 0 && (
        <section aria-labelledby="trace-findings-h">
          <h2 id="trace-findings-h">Findings on the whole trace</h2>
          <FindingList findings={traceFindings} />
        </section>
      )}
      {selectedOutput !== undefined ? (
        <OutputPanel
          output={selectedOutput}
          findings={findingsOf.get(selectedOutput.SpanId) ?? []}
        />
      ) : (
        selectedSpan !== undefined && (
          <section aria-labelledby="output-h">
            <h2 id="output-h">Span {selectedSpan.SpanName}</h2>
            <Empty>
              This span is not an agent output (no convention read an LLM call, agent run or tool
              call from it).
            </Empty>
          </section>
        )
      )}
      <Waterfall
        spans={spans}
        outputs={outputOf}
        findings={findingsOf}
        selected={selectedId}
        traceId={id}
      />
      {selectedSpan !== undefined && <RawAttributes span={selectedSpan} />}
    </Page>,
  );
}

function OutputPanel(props: { output: OutputView; findings: readonly CheckRow[] }) {
  const o = props.output;
  const targets = props.findings
    .map((f) => targetOf(f.Field))
    .filter((t): t is FieldTarget => t !== undefined);
  const marked = (part: string) => targets.some((t) => t.part === part);
  const marksIn = (part: string) =>
    targets.filter((t) => t.part === part && t.steps.length > 0).map((t) => t.steps);
  const fact = (part: string, label: string, value: string) => (
    <>
      <dt>{label}</dt>
      <dd class={marked(part) ? "marked" : undefined}>{value === "" ? "–" : value}</dd>
    </>
  );
  const json = o.OutputJson === "" ? undefined : parseJson(o.OutputJson);
  return (
    <section aria-labelledby="output-h" class="output">
      <h2 id="output-h">
        {o.Kind === "tool"
          ? `Tool call ${o.ToolName}`
          : o.Kind === "agent"
            ? `Agent run ${o.AgentName}`
            : `LLM call ${o.Model}`}
      </h2>
      <dl class="facts">
        {fact("service", "Service", o.ServiceName)}
        {fact("agent", "Agent", o.AgentName)}
        {fact("operation", "Operation", `${o.Kind} · ${o.Operation}`)}
        {fact("model", "Model", o.Model)}
        {fact("finish_reason", "Finish reason", o.FinishReason)}
        {fact(
          "usage.input_tokens",
          "Input tokens",
          o.InputTokens === null ? "" : formatCount(Number(o.InputTokens)),
        )}
        {fact(
          "usage.output_tokens",
          "Output tokens",
          o.OutputTokens === null ? "" : formatCount(Number(o.OutputTokens)),
        )}
        {fact("duration_ms", "Duration", formatDurationNs(o.DurationNs))}
        {fact(
          "status",
          "Status",
          o.StatusCode + (o.StatusMessage === "" ? "" : `: ${o.StatusMessage}`),
        )}
        {fact("error.type", "Error type", o.ErrorType)}
        {o.ToolName !== "" && fact("tool.name", "Tool", o.ToolName)}
        <dt>Time</dt>
        <dd>{formatStoredTime(o.Timestamp)}</dd>
        <dt>Span</dt>
        <dd>
          <code>{o.SpanId}</code> ({o.Convention})
        </dd>
      </dl>
      <h3>Findings of this output</h3>
      {props.findings.length === 0 ? (
        <Empty>None: every rule that matched this output passed.</Empty>
      ) : (
        <FindingList findings={props.findings} />
      )}
      {o.InputText !== "" && (
        <Block title="Input" marked={marked("input.text")}>
          <pre class="text" tabindex={0}>
            {o.InputText}
          </pre>
        </Block>
      )}
      {o.ToolArguments !== "" && (
        <JsonBlock
          title="Tool arguments"
          text={o.ToolArguments}
          marked={marked("tool.arguments")}
          marks={marksIn("tool.arguments")}
        />
      )}
      {o.ToolResult !== "" && (
        <JsonBlock
          title="Tool result"
          text={o.ToolResult}
          marked={marked("tool.result")}
          marks={marksIn("tool.result")}
        />
      )}
      {json !== undefined ? (
        <Block
          title="Output JSON"
          marked={marked("output.json") && marksIn("output.json").length === 0}
        >
          <JsonView value={json.value} marks={marksIn("output.json")} label="Output JSON" />
        </Block>
      ) : null}
      <Block
        title={json !== undefined ? "Output text" : "Output"}
        marked={
          marked("output.text") ||
          marked("output.length") ||
          (json === undefined && marked("output.json"))
        }
      >
        {o.OutputText === "" ? (
          <Empty>(empty)</Empty>
        ) : (
          <pre class="text" tabindex={0}>
            {o.OutputText}
          </pre>
        )}
      </Block>
    </section>
  );
}

function Block(props: { title: string; marked: boolean; children: unknown }) {
  return (
    <div class={props.marked ? "block marked" : "block"}>
      <h3>
        {props.title}
        {props.marked && <span class="badge bad">named by a finding</span>}
      </h3>
      {props.children}
    </div>
  );
}

function JsonBlock(props: { title: string; text: string; marked: boolean; marks: PathStep[][] }) {
  const parsed = parseJson(props.text);
  return (
    <Block
      title={props.title}
      marked={props.marked && (parsed === undefined || props.marks.length === 0)}
    >
      {parsed === undefined ? (
        <pre class="text" tabindex={0}>
          {props.text}
        </pre>
      ) : (
        <JsonView value={parsed.value} marks={props.marks} label={props.title} />
      )}
    </Block>
  );
}

function FindingList(props: { findings: readonly CheckRow[] }) {
  return (
    <TableWrap label="Findings">
      <table>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Field</th>
            <th scope="col">Message</th>
            <th scope="col">Observed</th>
            <th scope="col">Expected</th>
          </tr>
        </thead>
        <tbody>
          {props.findings.map((f) => (
            <tr class="finding">
              <td>
                <a href={`/rules/${encodeURIComponent(f.RuleId)}`}>{f.RuleId}</a>{" "}
                <Badge value={f.Outcome === "rule_error" ? "rule_error" : f.Severity} />
              </td>
              <td>
                <code>{f.Field === "" ? "–" : f.Field}</code>
              </td>
              <td>{f.Message}</td>
              <td>
                <code class="clip">{f.Observed === "" ? "–" : f.Observed}</code>
              </td>
              <td>{f.Expected === "" ? "–" : f.Expected}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function RawAttributes(props: { span: SpanView }) {
  const table = (label: string, attrs: Record<string, string>) => {
    const entries = Object.entries(attrs).sort(([a], [b]) => a.localeCompare(b));
    return (
      <details>
        <summary>
          {label} ({entries.length})
        </summary>
        <TableWrap label={label}>
          <table class="attrs">
            <tbody>
              {entries.map(([k, v]) => (
                <tr>
                  <th scope="row">
                    <code>{k}</code>
                  </th>
                  <td>
                    <code class="clip">{v}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </details>
    );
  };
  return (
    <section aria-labelledby="raw-h" class="raw">
      <h2 id="raw-h">Raw attributes of span {props.span.SpanName}</h2>
      {table("Span attributes", props.span.SpanAttributes)}
      {table("Resource attributes", props.span.ResourceAttributes)}
    </section>
  );
}

interface Row {
  span: SpanView;
  depth: number;
  startNs: number;
  durationNs: number;
}

/** Spans in tree order (a parent before its children, siblings by start), with their depth. */
export function spanTree(spans: readonly SpanView[]): Row[] {
  const ids = new Set(spans.map((s) => s.SpanId));
  const children = groupBy(spans, (s) => (ids.has(s.ParentSpanId) ? s.ParentSpanId : ""));
  const start = (s: SpanView) => storedTimeNanos(s.Timestamp) ?? 0;
  const rows: Row[] = [];
  const visit = (parent: string, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => start(a) - start(b));
    for (const span of list) {
      rows.push({ span, depth, startNs: start(span), durationNs: Number(span.Duration) || 0 });
      if (depth < 64) visit(span.SpanId, depth + 1);
    }
  };
  visit("", 0);
  return rows;
}

function Waterfall(props: {
  spans: readonly SpanView[];
  outputs: ReadonlyMap<string, OutputView>;
  findings: ReadonlyMap<string, CheckRow[]>;
  selected: string | undefined;
  traceId: string;
}) {
  const rows = spanTree(props.spans);
  const t0 = Math.min(...rows.map((r) => r.startNs));
  const t1 = Math.max(...rows.map((r) => r.startNs + r.durationNs));
  const total = Math.max(t1 - t0, 1);
  return (
    <section aria-labelledby="waterfall-h">
      <h2 id="waterfall-h">Spans ({formatDurationMs(total / 1e6)})</h2>
      {rows.length === 0 ? (
        <Empty>No span of this trace is stored (only its outputs).</Empty>
      ) : (
        <TableWrap label="Spans of the trace">
          <table class="waterfall">
            <thead>
              <tr>
                <th scope="col">Span</th>
                <th scope="col">Output</th>
                <th scope="col" class="num">
                  Starts at
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col" class="bar-col">
                  Timeline
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const output = props.outputs.get(r.span.SpanId);
                const found = props.findings.get(r.span.SpanId) ?? [];
                const left = (100 * (r.startNs - t0)) / total;
                const width = Math.max((100 * r.durationNs) / total, 0.4);
                return (
                  <tr
                    class={
                      [
                        r.span.SpanId === props.selected ? "selected" : "",
                        found.length > 0 ? "has-findings" : "",
                      ]
                        .join(" ")
                        .trim() || undefined
                    }
                    {...(r.span.SpanId === props.selected && { "aria-current": "true" })}
                  >
                    <td style={`padding-left: ${0.5 + r.depth * 1.1}rem`}>
                      <a href={traceHref(props.traceId, r.span.SpanId)}>{r.span.SpanName}</a>
                      <div class="muted small">
                        {r.span.ServiceName}
                        {r.span.StatusCode === "Error" && " · "}
                        {r.span.StatusCode === "Error" && <Badge value="error" />}
                      </div>
                    </td>
                    <td>
                      {output === undefined ? <span class="muted">–</span> : output.Kind}
                      {found.length > 0 && (
                        <>
                          {" "}
                          <Badge
                            value="failed"
                            label={found.length === 1 ? "1 finding" : `${found.length} findings`}
                          />
                        </>
                      )}
                    </td>
                    <td class="num">{formatDurationMs((r.startNs - t0) / 1e6)}</td>
                    <td class="num">{formatDurationMs(r.durationNs / 1e6)}</td>
                    <td class="bar-col" aria-hidden="true">
                      <div class="track">
                        <div
                          class={`bar ${found.length > 0 ? "bad" : r.span.StatusCode === "Error" ? "warn" : ""}`}
                          style={`left: ${left.toFixed(2)}%; width: ${width.toFixed(2)}%`}
                        ></div>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list === undefined) map.set(k, [item]);
    else list.push(item);
  }
  return map;
}
