import { describe, expect, it } from "vitest";
import {
  expandLinkTemplate,
  linkTemplateSchema,
  linkTemplatesSchema,
  unknownPlaceholders,
} from "./links.ts";

const GRAFANA =
  'https://grafana.example.com/explore?left={"range":{"from":"{startsAtMs}","to":"{endsAtMs}"}}&var-service={service}';

describe("expandLinkTemplate", () => {
  it("fills placeholders, URL-encoded, and leaves other braces alone", () => {
    expect(
      expandLinkTemplate(GRAFANA, { startsAtMs: "1000", endsAtMs: "61000", service: "a b/c" }),
    ).toBe(
      'https://grafana.example.com/explore?left={"range":{"from":"1000","to":"61000"}}&var-service=a%20b%2Fc',
    );
    expect(
      expandLinkTemplate("https://jaeger.example.com/trace/{traceId}?uiFind={spanId}", {
        traceId: "4bf9",
        spanId: "00f0",
      }),
    ).toBe("https://jaeger.example.com/trace/4bf9?uiFind=00f0");
  });

  it("is undefined when the template uses a value the alert does not have", () => {
    expect(expandLinkTemplate("https://x.example/{traceId}", { ruleId: "r" })).toBeUndefined();
  });

  it("leaves unknown {names} as they are", () => {
    expect(expandLinkTemplate("https://x.example/{other}/{ruleId}", { ruleId: "r&1" })).toBe(
      "https://x.example/{other}/r%261",
    );
  });
});

describe("unknownPlaceholders / schemas", () => {
  it("finds misspelt placeholders", () => {
    expect(unknownPlaceholders("https://x/{traceID}/{spanId}/{Fingerprint}")).toEqual([
      "traceID",
      "Fingerprint",
    ]);
    expect(unknownPlaceholders(GRAFANA)).toEqual([]);
  });

  it("refuses unknown placeholders and non-http URLs, naming the template", () => {
    expect(linkTemplateSchema.safeParse("https://x/{traceID}").error?.issues[0]?.message).toBe(
      '"https://x/{traceID}" has unknown placeholder {traceID}; known: {traceId}, {spanId}, {ruleId}, {fingerprint}, {service}, {startsAtMs}, {endsAtMs}',
    );
    expect(linkTemplateSchema.safeParse("ftp://x/{traceId}").error?.issues[0]?.message).toBe(
      '"ftp://x/{traceId}" is not an http(s) URL',
    );
    expect(linkTemplateSchema.parse(GRAFANA)).toBe(GRAFANA);
  });

  it("keeps the built-in link names for the built-in links", () => {
    const result = linkTemplatesSchema.safeParse({ alert: "https://x/{fingerprint}" });
    expect(result.error?.issues).toMatchObject([
      {
        path: ["alert"],
        message: '"alert" is a link every alert has; give this template another name',
      },
    ]);
    expect(linkTemplatesSchema.parse({ grafana: GRAFANA })).toStrictEqual({ grafana: GRAFANA });
  });
});
