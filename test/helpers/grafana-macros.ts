/**
 * What Grafana and the ClickHouse data source plugin (grafana-clickhouse-datasource v4) do to
 * a panel's `rawSql` before ClickHouse sees it, so that dashboard queries can be run here, on
 * the embedded store, exactly as Grafana would send them. Three steps, in the plugin's order
 * (src/data/CHDatasource.ts, `applyTemplateVariables`):
 *
 * 1. frontend: `$__conditionalAll(condition, $var)` → `1=1` when `$var` is All (or nothing is
 *    selected), else the condition as written;
 * 2. frontend: Grafana's template service replaces `$var`, `${var}` and `${var:format}` with the
 *    selected values, formatted by the plugin's own formatter when no format is named;
 * 3. backend: the plugin's Go macros (pkg/macros/macros.go) expand `$__timeFilter(col)` and the
 *    rest. Up to plugin 4.18 the SDK's scanner finds them (grafana-plugin-sdk-go
 *    data/sqlutil/macros.go); from 4.19 grafana/macropro does (parser.go). The expansions are
 *    the same; the scanners differ at the edges, so this helper follows the older one and
 *    refuses what the two would read differently (see expandMacros).
 *
 * Each step cites its source. Anything the real pipeline would reject or mangle throws here, so
 * a dashboard that only works by accident fails its test.
 */

/** The value Grafana stores for the "All" option of a variable. */
export const ALL = "$__all";

export interface TemplateVariable {
  name: string;
  /** A single value, several (multi-value variables), or ALL. */
  value: string | readonly string[];
  /** Every option of the variable except All: what All stands for when it is interpolated. */
  options?: readonly string[];
  /** The variable's custom all value, if it has one. */
  allValue?: string;
}

export interface QueryContext {
  from: Date;
  to: Date;
  /** The panel's interval (Grafana's `$__interval`), in milliseconds. */
  intervalMs: number;
  variables: readonly TemplateVariable[];
}

/** The SQL Grafana and the plugin would send to ClickHouse for this panel query. */
export function expandQuery(rawSql: string, context: QueryContext): string {
  const withConditionals = applyConditionalAll(rawSql, context.variables);
  const withVariables = replaceVariables(withConditionals, context.variables);
  const sql = expandMacros(withVariables, context);
  const leftover = /\$\{?\w+/.exec(sql);
  if (leftover !== null) {
    throw new Error(`"${leftover[0]}" is neither a variable nor a macro; in: ${sql}`);
  }
  return sql;
}

/** Grafana's isAllValue: "$__all", or ["$__all"] for a multi-value variable. */
function isAllValue(variable: TemplateVariable): boolean {
  return String(variable.value) === ALL;
}

/**
 * Step 1. Follows CHDatasource.applyConditionalAll: macros are taken from the last one
 * backwards; the arguments are split at commas outside parentheses (getMacroArgs); the second
 * one names the variable as `$var` or `${var}`; the whole `$__conditionalAll(a,b)` text is
 * replaced (first occurrence) by `1=1` when the variable is All, else by the first argument.
 */
export function applyConditionalAll(
  rawSql: string,
  variables: readonly TemplateVariable[],
): string {
  const macro = "$__conditionalAll(";
  let sql = rawSql;
  let index = sql.lastIndexOf(macro);
  while (index !== -1) {
    const args = macroArgs(sql, index + macro.length - 1);
    if (args === undefined || args.length !== 2) {
      // The plugin gives up and sends the query as it is; ClickHouse would then fail on it.
      throw new Error(`$__conditionalAll needs exactly 2 arguments, at: ${sql.slice(index)}`);
    }
    const [condition, variableArg] = args as [string, string];
    // Newer plugin versions accept `$var` and `${var}` (varRegex in applyConditionalAll).
    const name = /(?<=\$\{)\w+(?=\})|(?<=\$)\w+/.exec(variableArg.trim())?.[0];
    if (name === undefined) throw new Error(`$__conditionalAll: "${variableArg}" is no variable`);
    const variable = variables.find((v) => v.name === name);
    if (variable === undefined) throw new Error(`$__conditionalAll: unknown variable $${name}`);
    // It reads `current.value.toString()`: ["$__all"] gives "$__all", an empty selection "".
    const text = String(variable.value);
    const phrase = text === "" || text === ALL ? "1=1" : condition;
    sql = sql.replace(`${macro}${condition},${variableArg})`, phrase);
    index = sql.lastIndexOf(macro);
  }
  return sql;
}

/** CHDatasource.getMacroArgs: the arguments of the call whose "(" is at `open`. */
function macroArgs(sql: string, open: number): string[] | undefined {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if (c === "," && depth === 1) {
      args.push(sql.slice(start, i));
      start = i + 1;
    }
    if (depth === 0) {
      args.push(sql.slice(start, i));
      return args;
    }
  }
  return undefined;
}

/**
 * Step 2. Grafana's template service (public/app/features/templating/template_srv.ts): the
 * variable regex matches `$var`, `[[var]]` and `${var}` / `${var:format}`; a name that is not a
 * variable is left as it is (so `$__timeFilter` passes through to the backend). All becomes
 * every option (or the custom all value, unformatted). With no format, the plugin's formatter
 * (CHDatasource.format) quotes arrays as `'a','b'` and passes single values through raw.
 */
export function replaceVariables(sql: string, variables: readonly TemplateVariable[]): string {
  const pattern = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;
  return sql.replace(
    pattern,
    (match, plain?: string, bracket?: string, bracketFormat?: string, braced?: string, ...rest) => {
      const fieldPath = rest[0] as string | undefined;
      const format = (bracketFormat ?? rest[1]) as string | undefined;
      const name = plain ?? bracket ?? braced ?? "";
      const variable = variables.find((v) => v.name === name);
      if (variable === undefined) return match;
      if (fieldPath !== undefined) throw new Error(`${match}: field paths are not supported`);
      if (!isAllValue(variable)) return formatValue(variable.value, format, match);
      // A custom all value is inserted unformatted; otherwise All is every option.
      if (variable.allValue !== undefined) return variable.allValue;
      return formatValue(variable.options ?? [], format, match);
    },
  );
}

function formatValue(value: string | readonly string[], format: string | undefined, at: string) {
  switch (format) {
    case undefined:
      // CHDatasource.format
      return typeof value === "string" ? value : `'${value.join("','")}'`;
    case "raw":
      return typeof value === "string" ? value : value.join(",");
    case "singlequote": {
      // Grafana formatRegistry, VariableFormatID.SingleQuote: `'` escaped as `\'`, joined by ",".
      const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
      return typeof value === "string" ? quote(value) : value.map(quote).join(",");
    }
    default:
      throw new Error(`${at}: format "${format}" is not supported by this test helper`);
  }
}

type MacroFunction = (args: string[], context: QueryContext) => string;

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

// pkg/macros/macros.go: timeToDateTime, timeToDateTime64, timeToDate.
const toDateTime = (date: Date) => `toDateTime(${seconds(date)})`;
const toDateTime64 = (date: Date) => `fromUnixTimestamp64Milli(${date.getTime()})`;
const toDate = (date: Date) => `toDate('${date.toISOString().slice(0, 10)}')`;

function oneArgument(name: string, args: string[]): string {
  if (args.length !== 1 || args[0] === "") {
    throw new Error(`$__${name}: expected 1 argument, received ${args.length}`);
  }
  return args[0] as string;
}

/**
 * Step 3, the macros of pkg/macros/macros.go (`Macros` map), one by one. Interval macros use
 * `math.Max(interval, 1)` in whole seconds (or milliseconds), truncated like Go's `int(...)`.
 */
const MACROS: Record<string, { takesArgs: boolean; expand: MacroFunction }> = {
  // FromTimeFilter / ToTimeFilter: "toDateTime(<unix seconds>)"
  fromTime: { takesArgs: false, expand: (_, c) => toDateTime(c.from) },
  toTime: { takesArgs: false, expand: (_, c) => toDateTime(c.to) },
  // FromTimeFilterMs / ToTimeFilterMs: "fromUnixTimestamp64Milli(<unix ms>)"
  fromTime_ms: { takesArgs: false, expand: (_, c) => toDateTime64(c.from) },
  toTime_ms: { takesArgs: false, expand: (_, c) => toDateTime64(c.to) },
  // TimeFilter: "col >= toDateTime(from) AND col <= toDateTime(to)" (seconds, also for DateTime64)
  timeFilter: {
    takesArgs: true,
    expand: (args, c) => {
      const column = oneArgument("timeFilter", args);
      return `${column} >= ${toDateTime(c.from)} AND ${column} <= ${toDateTime(c.to)}`;
    },
  },
  // TimeFilterMs: the same bounds as fromUnixTimestamp64Milli(ms)
  timeFilter_ms: {
    takesArgs: true,
    expand: (args, c) => {
      const column = oneArgument("timeFilter_ms", args);
      return `${column} >= ${toDateTime64(c.from)} AND ${column} <= ${toDateTime64(c.to)}`;
    },
  },
  // DateFilter: "col >= toDate('YYYY-MM-DD') AND col <= toDate('YYYY-MM-DD')" (UTC dates)
  dateFilter: {
    takesArgs: true,
    expand: (args, c) => {
      const column = oneArgument("dateFilter", args);
      return `${column} >= ${toDate(c.from)} AND ${column} <= ${toDate(c.to)}`;
    },
  },
  // TimeInterval: "toStartOfInterval(toDateTime(col), INTERVAL <s> second)"
  timeInterval: {
    takesArgs: true,
    expand: (args, c) => {
      const column = oneArgument("timeInterval", args);
      const s = Math.trunc(Math.max(c.intervalMs / 1000, 1));
      return `toStartOfInterval(toDateTime(${column}), INTERVAL ${s} second)`;
    },
  },
  // TimeIntervalMs: "toStartOfInterval(toDateTime64(col, 3), INTERVAL <ms> millisecond)"
  timeInterval_ms: {
    takesArgs: true,
    expand: (args, c) => {
      const column = oneArgument("timeInterval_ms", args);
      const ms = Math.trunc(Math.max(c.intervalMs, 1));
      return `toStartOfInterval(toDateTime64(${column}, 3), INTERVAL ${ms} millisecond)`;
    },
  },
  // IntervalSeconds: "<s>"
  interval_s: {
    takesArgs: false,
    expand: (_, c) => String(Math.trunc(Math.max(c.intervalMs / 1000, 1))),
  },
};
// Left out on purpose: DateTimeFilter ($__dateTimeFilter, $__dt; no table here has a separate
// Date column), and the SDK's generic names ($__timeFrom, $__timeTo, $__timeGroup, $__table,
// $__column, $__interval, $__interval_ms), which emitted SQL for other databases (datepart(),
// RFC 3339 strings) until plugin 4.19 gave them ClickHouse handlers: they differ by version.

/**
 * The SDK's scanner (sqlutil.getMacroMatches / Interpolate): `\$__name\b`, then the text up to
 * the parenthesis that closes the first "(" found after the name (wherever it is), split at
 * every comma and trimmed; each match is replaced everywhere it occurs. macropro instead takes
 * an argument list only from a "(" right after the name, and splits at commas outside
 * parentheses and quotes. So, refused here: a macro with arguments whose "(" does not follow
 * its name at once, and a macro without arguments followed by a "(" before any ")" (the old
 * scanner would swallow the text between). Commas inside arguments end up as extra arguments
 * for the old scanner, which the one-argument macros reject.
 */
export function expandMacros(sql: string, context: QueryContext): string {
  let out = sql;
  for (const [name, macro] of Object.entries(MACROS)) {
    const pattern = new RegExp(`\\$__${name}\\b`, "g");
    // All calls are found first, then each call's text is replaced everywhere, in turn.
    const calls = [...out.matchAll(pattern)].map((m) => scanCall(out, m.index, m[0].length));
    for (const call of calls) {
      if (!macro.takesArgs && call.text !== `$__${name}`) {
        throw new Error(
          `$__${name} takes no arguments, but the plugin's scanner would read "${call.text}" as ` +
            `its call: put ")" before any "(" after it`,
        );
      }
      if (macro.takesArgs && !call.text.startsWith(`$__${name}(`)) {
        throw new Error(`$__${name}: "(" must follow the name at once, in: ${call.text}`);
      }
      const args = call.args === undefined ? [] : call.args.split(",").map((a) => a.trim());
      out = out.split(call.text).join(macro.expand(args, context));
    }
  }
  const unknown = /\$__\w+/.exec(out);
  if (unknown !== null) {
    throw new Error(`${unknown[0]} is not one of the plugin macros this helper expands`);
  }
  return out;
}

function scanCall(sql: string, start: number, nameLength: number) {
  let depth = 0;
  let argStart = -1;
  for (let i = start; i < sql.length; i++) {
    const c = sql[i];
    if (c === "(") {
      depth++;
      if (argStart === -1) argStart = i + 1;
    } else if (c === ")") {
      if (depth === 0) break;
      depth--;
      if (depth === 0) return { text: sql.slice(start, i + 1), args: sql.slice(argStart, i) };
    }
  }
  return { text: sql.slice(start, start + nameLength), args: undefined };
}

/** Grafana's interval strings ("30s", "1m", "1h"), as a panel's minimum interval, in ms. */
export function intervalMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const unit = units[match?.[2] ?? ""];
  if (match === null || unit === undefined) throw new Error(`"${text}" is not an interval`);
  return Number(match[1]) * unit;
}
