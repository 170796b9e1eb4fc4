/**
 * A rule that cannot be compiled (unknown field, bad regex, bad schema, JSONata syntax): a
 * defect of the rule file, which the loader reports as `file: /json/pointer: message`.
 */
export class RuleCompileError extends Error {
  constructor(
    /** JSON pointer into the rule, e.g. `/check/assertions/2/matches`. */
    readonly pointer: string,
    message: string,
  ) {
    super(message);
    this.name = "RuleCompileError";
  }
}

/** Runs `compile`, prefixing the pointer of any RuleCompileError with `prefix`. */
export function compileAt<T>(prefix: string, compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    if (error instanceof RuleCompileError) {
      throw new RuleCompileError(prefix + error.pointer, error.message);
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new RuleCompileError(prefix, message);
  }
}
