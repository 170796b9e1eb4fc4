/** Findings (and rule problems) as a table: each links to its output and trace. */

import type { CheckRow } from "./api-types.ts";
import { Badge, TableWrap, traceHref } from "./components.tsx";
import { formatStoredTime } from "./format.ts";

export function FindingsTable(props: {
  checks: readonly CheckRow[];
  label: string;
  showRule?: boolean;
}) {
  return (
    <TableWrap label={props.label}>
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {props.showRule !== false && <th scope="col">Rule</th>}
            <th scope="col">Service / agent</th>
            <th scope="col">Field</th>
            <th scope="col">Message</th>
            <th scope="col">Output</th>
          </tr>
        </thead>
        <tbody>
          {props.checks.map((c) => (
            <tr>
              <td class="nowrap">{formatStoredTime(c.Timestamp)}</td>
              {props.showRule !== false && (
                <td>
                  <a href={`/rules/${encodeURIComponent(c.RuleId)}`}>{c.RuleId}</a>
                </td>
              )}
              <td>
                {c.ServiceName}
                {c.AgentName !== "" && ` / ${c.AgentName}`}
              </td>
              <td>
                <code>{c.Field === "" ? "–" : c.Field}</code>
              </td>
              <td>
                {c.Outcome === "rule_error" && <Badge value="rule_error" label="rule problem" />}{" "}
                {c.Message}
              </td>
              <td>
                <a href={traceHref(c.TraceId, c.Scope === "trace" ? undefined : c.SpanId)}>
                  {c.Scope === "trace" ? "trace" : "output"} {c.TraceId.slice(0, 8)}…
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
