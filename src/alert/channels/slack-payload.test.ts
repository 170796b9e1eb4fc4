import { describe, expect, it } from "vitest";
import { makeNotification } from "./make-notification.ts";
import { SLACK_LIMITS, slackPayload, type SlackBlock, type SlackMessage } from "./slack-payload.ts";

const externalUrl = "https://plumbline.example.com";

describe("slackPayload", () => {
  it("writes a header, the description, fields, examples with trace links, and links", () => {
    const expected: SlackMessage = {
      text: ":red_circle: [FIRING] invoice-extraction-complete: 12 of 340 outputs failed (3.5%) in service billing-agent, agent invoice-extractor",
      blocks: [
        {
          type: "header",
          text: {
            type: "plain_text",
            text: ":red_circle: FIRING: invoice-extraction-complete",
            emoji: true,
          },
        },
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: "*The invoice extractor returns a complete invoice*\n12 of 340 outputs failed (3.5%) in service billing-agent, agent invoice-extractor.",
          },
        },
        {
          type: "section",
          fields: [
            { type: "mrkdwn", text: "*Service*\nbilling-agent" },
            { type: "mrkdwn", text: "*Agent*\ninvoice-extractor" },
            { type: "mrkdwn", text: "*Severity*\ncritical" },
            { type: "mrkdwn", text: "*Failed / evaluated*\n12 / 340 (3.5%)" },
            {
              type: "mrkdwn",
              text: "*First seen*\n<!date^1767604443^{date_short_pretty} {time_secs}|2026-01-05T09:14:03.120Z>",
            },
            {
              type: "mrkdwn",
              text: "*Last seen*\n<!date^1767605507^{date_short_pretty} {time_secs}|2026-01-05T09:31:47.880Z>",
            },
            { type: "mrkdwn", text: "*Rule*\n`invoice-extraction-complete` v3" },
            { type: "mrkdwn", text: "*Labels*\n`team=billing`" },
          ],
        },
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text:
              "*Examples*" +
              '\n• <https://plumbline.example.com/traces/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7|trace 4bf92f3577b34da6a3ce929d0e0e4736> span `00f067aa0ba902b7` · `output.json`: missing property "total"' +
              '\n      observed: `{"invoice_id":"INV-2291","currency":"EUR"}`' +
              '\n• <https://plumbline.example.com/traces/a3ce929d0e0e47364bf92f3577b34da6?span=b7ad6b7169203331|trace a3ce929d0e0e47364bf92f3577b34da6> span `b7ad6b7169203331` · `output.json.currency`: does not match "^[A-Z]{3}$"' +
              '\n      observed: `"euro"`',
          },
        },
        {
          type: "context",
          elements: [
            {
              type: "mrkdwn",
              text:
                ":book: <https://wiki.example.com/runbooks/invoices|Runbook>" +
                "   :link: <https://grafana.example.com/d/plumbline-rule?var-rule=invoice-extraction-complete|grafana>" +
                "   :mag: <https://plumbline.example.com/alerts/3f9c2a61d0b84e17|Open in Plumbline>",
            },
          ],
        },
      ],
    };
    expect(slackPayload(makeNotification(), { externalUrl })).toEqual(expected);
  });

  it("says resolved with a check mark and when it resolved", () => {
    const message = slackPayload(
      makeNotification({
        kind: "resolved",
        alert: { state: "resolved", endsAt: "2026-01-05T10:02:00.000Z" },
      }),
      { externalUrl },
    );
    expect(message.text).toMatch(/^:white_check_mark: \[RESOLVED\] /);
    expect(headerOf(message)).toBe(":white_check_mark: RESOLVED: invoice-extraction-complete");
    expect(fieldTexts(message)).toContain(
      "*Resolved*\n<!date^1767607320^{date_short_pretty} {time_secs}|2026-01-05T10:02:00.000Z>",
    );
  });

  it.each([
    ["repeat", "warning", ":large_orange_circle: STILL FIRING: invoice-extraction-complete"],
    ["test", "info", ":large_blue_circle: TEST: invoice-extraction-complete"],
  ] as const)("heads a %s notification of a %s alert", (kind, severity, header) => {
    expect(
      headerOf(slackPayload(makeNotification({ kind, alert: { severity } }), { externalUrl })),
    ).toBe(header);
  });

  it("escapes Slack's control characters and keeps code spans closed", () => {
    const message = slackPayload(
      makeNotification({
        alert: {
          description: "Answers <b>must</b> cite sources & links",
          runbook: "Ask #billing-oncall",
          examples: [
            {
              traceId: "t1",
              spanId: "s1",
              field: "output.text",
              observed: "use `rm -rf` <now>",
              message: "contains <script>",
              at: "2026-01-05T09:31:47.880Z",
            },
          ],
        },
      }),
      { externalUrl },
    );
    const texts = JSON.stringify(message.blocks);
    expect(texts).not.toMatch(/<b>|<script>|<now>/);
    expect(sectionTexts(message)[0]).toBe(
      "*Answers &lt;b&gt;must&lt;/b&gt; cite sources &amp; links*\n12 of 340 outputs failed (3.5%) in service billing-agent, agent invoice-extractor.\n*Runbook:* Ask #billing-oncall",
    );
    expect(sectionTexts(message)[1]).toContain("observed: `use ˋrm -rfˋ &lt;now&gt;`");
    // A runbook that is not a URL is not a link.
    expect(JSON.stringify(message.blocks.at(-1))).not.toContain("Runbook>");
  });

  it("stays inside Block Kit's limits whatever the alert holds", () => {
    const huge = "x".repeat(10_000);
    const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`label_${i}`, huge]));
    const message = slackPayload(
      makeNotification({
        alert: {
          ruleId: `rule-${huge}`,
          description: huge,
          labels: { ...labels, service: huge, agent: huge },
          examples: Array.from({ length: 5 }, (_, i) => ({
            traceId: `trace${i}`,
            spanId: `span${i}`,
            field: `field-${huge}`,
            observed: huge,
            message: huge,
            at: "2026-01-05T09:31:47.880Z",
          })),
          links: Object.fromEntries(
            Array.from({ length: 60 }, (_, i) => [
              `link ${i}`,
              `https://example.com/${i}/${"p".repeat(200)}`,
            ]),
          ),
        },
      }),
      { externalUrl },
    );
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    expect(headerOf(message).length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    for (const block of message.blocks) {
      if (block.type === "section" && "text" in block) {
        expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      }
      if (block.type === "section" && "fields" in block) {
        expect(block.fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fields);
        for (const field of block.fields)
          expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
      }
      if (block.type === "context") {
        expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
        for (const element of block.elements)
          expect(element.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
        // The way back to Plumbline survives when other links are dropped.
        expect(block.elements[0]?.text).toMatch(/Open in Plumbline>$/);
      }
    }
    // Every part of an example is bounded, so some always show; the rest are counted.
    const examples = sectionTexts(message)[1] ?? "";
    expect(examples).toContain("|trace trace0>");
    expect(examples).toMatch(/\n…and [1-4] more$/);
    // Labels that do not fit are counted, and no code span is left open.
    const labelsField = fieldTexts(message).find((text) => text.startsWith("*Labels*")) ?? "";
    expect(labelsField).toMatch(/ …and \d+ more$/);
    expect((labelsField.match(/`/g) ?? []).length % 2).toBe(0);
  });
});

function headerOf(message: SlackMessage): string {
  const header = message.blocks.find((block) => block.type === "header");
  return header?.type === "header" ? header.text.text : "";
}

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block: SlackBlock) =>
    block.type === "section" && "text" in block ? [block.text.text] : [],
  );
}

function fieldTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block: SlackBlock) =>
    block.type === "section" && "fields" in block ? block.fields.map((field) => field.text) : [],
  );
}
