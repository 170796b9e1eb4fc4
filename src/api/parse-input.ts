import type { z } from "zod";
import { PlumblineError } from "../errors.ts";

/** Validates request input; a failure is a 400 that names each bad parameter and value. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues
    .map((issue) => `${what} "${issue.path.join(".")}": ${issue.message}`)
    .join("; ");
  throw new PlumblineError("invalid_input", message, 400);
}
