/**
 * The one builder of SQL query parameters: every value a window rule's SQL compares with is
 * bound as a {name:Type} parameter, never spliced into the text.
 */

/** Collects query parameters; add() returns the placeholder, e.g. "{p0:String}". */
export class SqlParams {
  readonly values: Record<string, unknown> = {};
  // The same value gets the same placeholder, so that repeated reads are one SQL expression
  // (ClickHouse computes an identical expression once per block).
  readonly #placeholders = new Map<string, string>();

  constructor(private readonly prefix = "p") {}

  add(value: string | number | readonly string[] | readonly number[], type: string): string {
    const key = `${type}\u0000${JSON.stringify(value)}`;
    const known = this.#placeholders.get(key);
    if (known !== undefined) return known;
    const name = `${this.prefix}${this.#placeholders.size}`;
    // Numbers travel as text: chDB refuses integer-valued numbers beyond 2^53 (1e21), and
    // ClickHouse reads JS's shortest round-trip form back to the same Float64.
    this.values[name] =
      typeof value === "number"
        ? String(value)
        : isNumberList(value)
          ? `[${value.map(String).join(",")}]`
          : value;
    const placeholder = `{${name}:${type}}`;
    this.#placeholders.set(key, placeholder);
    return placeholder;
  }
}

/** What the SQL builders use of a parameter collector: a SqlParams, or one shaped like it. */
export type SqlParamsLike = Pick<SqlParams, "add" | "values">;

function isNumberList(value: string | readonly string[] | readonly number[]): value is number[] {
  return Array.isArray(value) && value.some((item) => typeof item === "number");
}
