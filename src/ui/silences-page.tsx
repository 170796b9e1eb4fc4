/**
 * Page 4b, silences (`/silences`): the list, a form that creates one with label matchers
 * (prefilled from an alert: `/silences?new=1&rule=…&label.service=…`), and an expire button.
 * The form posts here, and this process hands it to POST /api/silences, so it works without
 * any script and the API's own validation messages are what the user sees.
 */

import type { SilenceView } from "./api-types.ts";
import type { ApiClient } from "./api-client.ts";
import { readResult } from "./api-client.ts";
import { Badge, Empty, Notice, TableWrap } from "./components.tsx";
import { formatTime } from "./format.ts";
import { Page } from "./layout.tsx";
import { apiErrorPage, page, type PageContext, type Rendered } from "./page-context.tsx";

const OPERATORS = {
  "=": { isEqual: true, isRegex: false },
  "!=": { isEqual: false, isRegex: false },
  "=~": { isEqual: true, isRegex: true },
  "!~": { isEqual: false, isRegex: true },
} as const;
type Operator = keyof typeof OPERATORS;

const DURATIONS: [string, number][] = [
  ["1 hour", 3_600_000],
  ["2 hours", 7_200_000],
  ["4 hours", 14_400_000],
  ["8 hours", 28_800_000],
  ["1 day", 86_400_000],
  ["7 days", 604_800_000],
];

const MATCHER_ROWS = 4;

interface FormValues {
  matchers: { name: string; op: Operator; value: string }[];
  duration: string;
  comment: string;
  createdBy: string;
}

function operatorOf(m: { isEqual?: boolean | undefined; isRegex?: boolean | undefined }): Operator {
  const equal = m.isEqual !== false;
  if (m.isRegex === true) return equal ? "=~" : "!~";
  return equal ? "=" : "!=";
}

/** The form's first values: matchers from the URL (an alert's rule and labels), else empty. */
function initialValues(q: Record<string, string>): FormValues {
  const matchers: FormValues["matchers"] = [];
  if (q["rule"] !== undefined && q["rule"] !== "")
    matchers.push({ name: "rule", op: "=", value: q["rule"] });
  for (const [key, value] of Object.entries(q)) {
    if (key.startsWith("label.") && value !== "")
      matchers.push({ name: key.slice(6), op: "=", value });
  }
  return { matchers, duration: "7200000", comment: "", createdBy: "" };
}

export async function silencesPage(
  ctx: PageContext,
  form?: { values: FormValues; error: string },
): Promise<Rendered> {
  if (!ctx.features.alerts) {
    return page(
      <Page title="Silences" section="silences" loggedIn={ctx.loggedIn}>
        <h1>Silences</h1>
        <Notice>
          This process does not deliver alerts (role ingest): silences live in the evaluate process.
        </Notice>
      </Page>,
    );
  }
  const result = await ctx.api.get<{ silences: SilenceView[] }>("/api/silences");
  if (!result.ok) return apiErrorPage(ctx, result, "silences");
  const silences = [...result.value.silences].sort((a, b) => b.endsAt.localeCompare(a.endsAt));
  const values = form?.values ?? initialValues(ctx.query);
  const rows = [
    ...values.matchers,
    ...Array.from({ length: Math.max(0, MATCHER_ROWS - values.matchers.length) }, () => ({
      name: "",
      op: "=" as Operator,
      value: "",
    })),
  ];
  const created = ctx.query["created"];
  const expired = ctx.query["expired"];
  return page(
    <Page title="Silences" section="silences" loggedIn={ctx.loggedIn}>
      <h1>Silences</h1>
      {created !== undefined && <Notice>Silence {created} created.</Notice>}
      {expired !== undefined && <Notice>Silence {expired} expired.</Notice>}
      <section aria-labelledby="list-h">
        <h2 id="list-h">Silences ({silences.length})</h2>
        {silences.length === 0 ? (
          <Empty>No silence.</Empty>
        ) : (
          <TableWrap label="Silences">
            <table>
              <thead>
                <tr>
                  <th scope="col">State</th>
                  <th scope="col">Matchers</th>
                  <th scope="col">From</th>
                  <th scope="col">Until</th>
                  <th scope="col">Comment</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {silences.map((s) => (
                  <tr id={`silence-${s.id}`}>
                    <td>
                      <Badge value={s.state} />
                    </td>
                    <td>
                      {s.matchers.map((m) => (
                        <code class="matcher">
                          {m.name}
                          {operatorOf(m)}
                          {JSON.stringify(m.value)}
                        </code>
                      ))}
                    </td>
                    <td>{formatTime(s.startsAt)}</td>
                    <td>{formatTime(s.endsAt)}</td>
                    <td>
                      {s.comment}
                      <div class="muted small">by {s.createdBy}</div>
                    </td>
                    <td>
                      <form method="post" action={`/silences/${encodeURIComponent(s.id)}/expire`}>
                        <button type="submit" aria-label={`Expire the silence ${s.comment}`}>
                          Expire
                        </button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
      <section aria-labelledby="new-h">
        <h2 id="new-h">New silence</h2>
        {form !== undefined && <Notice tone="error">{form.error}</Notice>}
        <form method="post" action="/silences" class="stack" id="new-silence">
          <fieldset>
            <legend>
              Matchers (all must match; rule is the rule id, other names are alert labels)
            </legend>
            {rows.map((m, i) => (
              <div class="matcher-row">
                <label for={`m${i}-name`}>Label {i + 1}</label>
                <input
                  id={`m${i}-name`}
                  name={`m${i}.name`}
                  value={m.name}
                  autocomplete="off"
                  placeholder="service"
                />
                <label for={`m${i}-op`} class="visually-hidden">
                  Operator {i + 1}
                </label>
                <select id={`m${i}-op`} name={`m${i}.op`}>
                  {Object.keys(OPERATORS).map((op) => (
                    <option value={op} selected={op === m.op}>
                      {op}
                    </option>
                  ))}
                </select>
                <label for={`m${i}-value`} class="visually-hidden">
                  Value {i + 1}
                </label>
                <input
                  id={`m${i}-value`}
                  name={`m${i}.value`}
                  value={m.value}
                  autocomplete="off"
                  placeholder="orders-agent"
                />
              </div>
            ))}
          </fieldset>
          <label for="duration">For</label>
          <select id="duration" name="duration">
            {DURATIONS.map(([label, ms]) => (
              <option value={String(ms)} selected={String(ms) === values.duration}>
                {label}
              </option>
            ))}
          </select>
          <label for="comment">Why (shown with the silence)</label>
          <input id="comment" name="comment" value={values.comment} required />
          <label for="createdBy">Who</label>
          <input
            id="createdBy"
            name="createdBy"
            value={values.createdBy}
            required
            autocomplete="name"
          />
          <button type="submit">Create silence</button>
        </form>
      </section>
    </Page>,
  );
}

/** POST /silences: the form, handed to POST /api/silences. */
export async function createSilenceFromForm(
  ctx: PageContext,
  form: Record<string, string>,
): Promise<Rendered | { redirect: string }> {
  const values: FormValues = {
    matchers: Array.from({ length: MATCHER_ROWS + 8 }, (_, i) => ({
      name: (form[`m${i}.name`] ?? "").trim(),
      op: (form[`m${i}.op`] ?? "=") as Operator,
      value: form[`m${i}.value`] ?? "",
    })).filter((m) => m.name !== ""),
    duration: form["duration"] ?? "",
    comment: form["comment"] ?? "",
    createdBy: form["createdBy"] ?? "",
  };
  const durationMs = Number(values.duration);
  const op = (m: { op: string }) => OPERATORS[m.op as Operator] ?? OPERATORS["="];
  const body = {
    matchers: values.matchers.map((m) => ({ name: m.name, value: m.value, ...op(m) })),
    endsAt: new Date(
      ctx.now + (Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 7_200_000),
    ).toISOString(),
    comment: values.comment,
    createdBy: values.createdBy,
  };
  const result = await readResult<{ id: string }>(
    await ctx.api.send("POST", "/api/silences", body),
  );
  if (result.ok) return { redirect: `/silences?created=${encodeURIComponent(result.value.id)}` };
  const rendered = await silencesPage(ctx, { values, error: result.message });
  return { status: result.status === 400 ? 400 : rendered.status, body: rendered.body };
}

/** POST /silences/:id/expire: DELETE /api/silences/:id. */
export async function expireSilence(
  api: ApiClient,
  id: string,
): Promise<{ ok: true; redirect: string } | { ok: false; status: number; message: string }> {
  const response = await api.send("DELETE", `/api/silences/${encodeURIComponent(id)}`);
  if (response.ok) return { ok: true, redirect: `/silences?expired=${encodeURIComponent(id)}` };
  const result = await readResult(response);
  return result.ok
    ? { ok: false, status: 500, message: "unexpected answer" }
    : { ok: false, status: result.status, message: result.message };
}
