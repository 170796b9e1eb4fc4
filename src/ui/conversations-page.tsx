/**
 * Page 7, conversations: the recent ones (`/conversations?since=24h&cursor=`), with their turns,
 * outputs and findings counted, and one conversation (`/conversations/:id`) turn by turn: each
 * turn's input and answer, its tool calls, and its findings (the conversation rules' among
 * them), each linked to its output in the trace page.
 */

import type { CheckRow, ConversationAnswer, ConversationsAnswer, OutputView } from "./api-types.ts";
import { Badge, Empty, PeriodForm, TableWrap, query, traceHref } from "./components.tsx";
import { FindingsTable } from "./findings-table.tsx";
import { formatCount, formatTime, plural } from "./format.ts";
import { Page } from "./layout.tsx";
import { apiErrorPage, page, sinceOf, type PageContext, type Rendered } from "./page-context.tsx";

/** The link of a conversation's page. */
export function conversationHref(conversationId: string): string {
  return `/conversations/${encodeURIComponent(conversationId)}`;
}

export async function conversationsPage(ctx: PageContext): Promise<Rendered> {
  const since = sinceOf(ctx);
  const cursor = ctx.query["cursor"];
  const answer = await ctx.api.get<ConversationsAnswer>("/api/conversations", {
    since,
    cursor,
    limit: 50,
  });
  if (!answer.ok) return apiErrorPage(ctx, answer, "conversations");
  const { conversations, nextCursor } = answer.value;
  return page(
    <Page title="Conversations" section="conversations" loggedIn={ctx.loggedIn} refreshSeconds={60}>
      <div class="page-head">
        <h1>Conversations</h1>
        <PeriodForm action="/conversations" since={since} />
      </div>
      <p class="muted">
        Outputs grouped by conversation, session, thread or workflow id; each trace is a turn.
      </p>
      {conversations.length === 0 ? (
        <Empty>
          No conversation in this period: no output named a conversation id (see
          docs/conversations.md for the attributes read).
        </Empty>
      ) : (
        <TableWrap label="Conversations">
          <table>
            <thead>
              <tr>
                <th scope="col">Conversation</th>
                <th scope="col">Last active</th>
                <th scope="col">Turns</th>
                <th scope="col">Outputs</th>
                <th scope="col">Service / agent</th>
                <th scope="col">Findings</th>
              </tr>
            </thead>
            <tbody>
              {conversations.map((c) => (
                <tr>
                  <td>
                    <a href={conversationHref(c.conversationId)}>
                      <code>{c.conversationId}</code>
                    </a>
                  </td>
                  <td class="nowrap">{formatTime(c.lastAt)}</td>
                  <td>{formatCount(c.turns)}</td>
                  <td>{formatCount(c.outputs)}</td>
                  <td>
                    {c.services.join(", ")}
                    {c.agents.length > 0 && ` / ${c.agents.join(", ")}`}
                  </td>
                  <td>
                    {c.findings > 0 ? (
                      <Badge value="failed" label={formatCount(c.findings)} />
                    ) : (
                      "0"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {nextCursor !== null && (
        <p>
          <a href={`/conversations${query({ since, cursor: nextCursor })}`}>Older conversations</a>
        </p>
      )}
    </Page>,
  );
}

export async function conversationPage(
  ctx: PageContext,
  conversationId: string,
): Promise<Rendered> {
  const answer = await ctx.api.get<ConversationAnswer>(
    `/api/conversations/${encodeURIComponent(conversationId)}`,
  );
  if (!answer.ok) {
    return apiErrorPage(ctx, answer, "conversations", {
      href: "/conversations",
      label: "All conversations",
    });
  }
  const { turns, findings } = answer.value;
  const conversationFindings = findings.filter((f) => f.Scope === "conversation");
  return page(
    <Page title={`Conversation ${conversationId}`} section="conversations" loggedIn={ctx.loggedIn}>
      <h1>
        Conversation <code>{conversationId}</code>
      </h1>
      <p class="muted">
        {plural(turns.length, "turn")}, {plural(findings.length, "finding")}
        {turns[0] !== undefined && ` · from ${formatTime(turns[0].startedAt)}`}
        {turns.length > 0 && ` to ${formatTime(turns[turns.length - 1]?.endedAt)}`}
      </p>
      {conversationFindings.length > 0 && (
        <section aria-labelledby="conversation-findings-h">
          <h2 id="conversation-findings-h">Findings across the conversation</h2>
          <FindingsTable checks={conversationFindings} label="Findings across the conversation" />
        </section>
      )}
      <ol class="turns">
        {turns.map((turn, i) => (
          <li>
            <Turn number={i + 1} turn={turn} />
          </li>
        ))}
      </ol>
    </Page>,
  );
}

function Turn(props: { number: number; turn: ConversationAnswer["turns"][number] }) {
  const { turn } = props;
  const findingsOf = (o: OutputView): CheckRow[] =>
    turn.findings.filter((f) => f.SpanId === o.SpanId);
  const answers = turn.outputs.filter((o) => o.Kind === "agent" || o.Kind === "workflow");
  const main = answers[0] ?? turn.outputs.find((o) => o.Kind === "llm");
  const tools = turn.outputs.filter((o) => o.Kind === "tool" || o.Kind === "memory");
  const headingId = `turn-${props.number}-h`;
  return (
    <section aria-labelledby={headingId} class="turn">
      <h2 id={headingId}>
        Turn {props.number}{" "}
        <a href={traceHref(turn.traceId)} class="muted">
          trace {turn.traceId.slice(0, 8)}…
        </a>{" "}
        <span class="muted">{formatTime(turn.startedAt)}</span>
        {turn.findings.length > 0 && (
          <>
            {" "}
            <Badge value="failed" label={plural(turn.findings.length, "finding")} />
          </>
        )}
      </h2>
      {main !== undefined ? (
        <dl>
          <dt>Input</dt>
          <dd>
            <pre class="text">{lastLines(main.InputText, 6) || "–"}</pre>
          </dd>
          <dt>Answer</dt>
          <dd>
            <pre class="text">{main.OutputText || "–"}</pre>
          </dd>
        </dl>
      ) : (
        <Empty>No agent run or model call in this turn.</Empty>
      )}
      {tools.length > 0 && (
        <TableWrap label={`Turn ${props.number}: tool calls`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">Arguments</th>
                <th scope="col">Status</th>
                <th scope="col">Findings</th>
              </tr>
            </thead>
            <tbody>
              {tools.map((o) => (
                <tr>
                  <td>
                    <a href={traceHref(o.TraceId, o.SpanId)}>{o.ToolName || o.Operation}</a>
                  </td>
                  <td>
                    <code>{o.ToolArguments || o.InputText || "–"}</code>
                  </td>
                  <td>{o.StatusCode}</td>
                  <td>
                    {findingsOf(o)
                      .map((f) => f.RuleId)
                      .join(", ") || "–"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {turn.findings.length > 0 && (
        <FindingsTable checks={turn.findings} label={`Turn ${props.number}: findings`} />
      )}
    </section>
  );
}

/** The last `n` lines of a transcript: the newest messages of a turn's input. */
function lastLines(text: string, n: number): string {
  const lines = text.split("\n");
  return lines.length <= n ? text : `…\n${lines.slice(-n).join("\n")}`;
}
