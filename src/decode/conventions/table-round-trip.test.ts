// Every convention test again, on spans that went through an otel_traces row and back (the
// table source mode reads spans a collector stored, with every attribute as text).
import { vi } from "vitest";
import { toOtelTracesRow } from "../span-row.ts";
import { spanFromRow } from "../span-from-row.ts";
import type * as MakeSpan from "../../../test/helpers/make-span.ts";

vi.mock("../../../test/helpers/make-span.ts", async (importOriginal) => {
  const original = await importOriginal<typeof MakeSpan>();
  return {
    ...original,
    makeSpan: (overrides: Parameters<typeof original.makeSpan>[0]) =>
      spanFromRow(toOtelTracesRow(original.makeSpan(overrides))),
  };
});

await import("./genai.test.ts");
await import("./openinference.test.ts");
await import("./openllmetry.test.ts");
await import("./vercel-ai.test.ts");
await import("../normalise.test.ts");
