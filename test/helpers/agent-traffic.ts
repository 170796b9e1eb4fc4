/**
 * Agent traffic as real SDKs emit it: a tracer provider with a real OTLP exporter, and an
 * agent run in the OTel GenAI conventions (invoke_agent → chat → execute_tool → chat).
 */

import { SpanKind, SpanStatusCode, context, trace, type Tracer } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";

/** Wraps an exporter and remembers which spans it saw acknowledged. */
export class RecordingExporter implements SpanExporter {
  readonly acknowledged: ReadableSpan[] = [];
  readonly failures: ExportResult[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.acknowledged.push(...spans);
      else this.failures.push(result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function makeProvider(
  exporter: SpanExporter,
  serviceName: string,
  extraResource: Record<string, string> = {},
): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, ...extraResource }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: 50, maxExportBatchSize: 512 }),
    ],
  });
}

export interface AgentRunOptions {
  agent: string;
  model?: string;
  userText: string;
  answer: string;
  finishReason?: string;
  /** gen_ai.system_instructions on each chat span. */
  instructions?: string;
  tool?: { name: string; args: unknown; result: unknown };
}

/** One agent run in the current GenAI conventions; returns its trace id. */
export function emitAgentRun(tracer: Tracer, run: AgentRunOptions): string {
  const model = run.model ?? "gpt-4o";
  const root = tracer.startSpan(`invoke_agent ${run.agent}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.provider.name": "openai",
      "gen_ai.agent.name": run.agent,
      "gen_ai.request.model": model,
    },
  });
  const ctx = trace.setSpan(context.active(), root);
  const chat = (output: unknown[], finish: string) => {
    const span = tracer.startSpan(
      `chat ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": model,
          "gen_ai.response.model": `${model}-2024-08-06`,
          "gen_ai.response.finish_reasons": [finish],
          "gen_ai.usage.input_tokens": 120,
          "gen_ai.usage.output_tokens": 42,
          "gen_ai.input.messages": JSON.stringify([
            { role: "user", parts: [{ type: "text", content: run.userText }] },
          ]),
          "gen_ai.output.messages": JSON.stringify(output),
          ...(run.instructions === undefined
            ? {}
            : {
                "gen_ai.system_instructions": JSON.stringify([
                  { type: "text", content: run.instructions },
                ]),
              }),
        },
      },
      ctx,
    );
    span.end();
  };
  if (run.tool) {
    chat(
      [
        {
          role: "assistant",
          parts: [
            { type: "tool_call", id: "call_1", name: run.tool.name, arguments: run.tool.args },
          ],
          finish_reason: "tool_call",
        },
      ],
      "tool_call",
    );
    const tool = tracer.startSpan(
      `execute_tool ${run.tool.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": run.tool.name,
          "gen_ai.tool.call.id": "call_1",
          "gen_ai.tool.call.arguments": JSON.stringify(run.tool.args),
          "gen_ai.tool.call.result": JSON.stringify(run.tool.result),
        },
      },
      ctx,
    );
    tool.end();
  }
  chat(
    [
      {
        role: "assistant",
        parts: [{ type: "text", content: run.answer }],
        finish_reason: run.finishReason ?? "stop",
      },
    ],
    run.finishReason ?? "stop",
  );
  // The run's own answer, as GenAI invoke_agent spans record it.
  root.setAttribute(
    "gen_ai.output.messages",
    JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: run.answer }] }]),
  );
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  return root.spanContext().traceId;
}
