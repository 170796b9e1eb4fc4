import { describe, expect, it } from "vitest";
import {
  createSilence,
  createSilenceSet,
  isSilenced,
  silenceBodySchema,
  silenceState,
  silencesMatching,
  type Silence,
  type SilenceMatcher,
} from "./silences.ts";

const NOW = Date.parse("2026-01-31T12:00:00.000Z");
const ALERT = {
  ruleId: "refund-json",
  labels: {
    rule: "refund-json",
    severity: "critical",
    service: "support",
    agent: "triage",
    team: "payments",
  },
};

function silence(matchers: SilenceMatcher[], overrides: Partial<Silence> = {}): Silence {
  return {
    id: "s1",
    matchers,
    startsAt: "2026-01-31T11:00:00.000Z",
    endsAt: "2026-01-31T13:00:00.000Z",
    comment: "deploying a fix",
    createdBy: "ana",
    ...overrides,
  };
}

describe("isSilenced: matchers", () => {
  it.each<[string, SilenceMatcher[], boolean]>([
    ["rule equals", [{ name: "rule", value: "refund-json" }], true],
    ["rule differs", [{ name: "rule", value: "other" }], false],
    [
      "all matchers must match",
      [
        { name: "rule", value: "refund-json" },
        { name: "agent", value: "x" },
      ],
      false,
    ],
    [
      "two matching",
      [
        { name: "service", value: "support" },
        { name: "agent", value: "triage" },
      ],
      true,
    ],
    ["not equal", [{ name: "service", value: "billing", isEqual: false }], true],
    ["not equal, same value", [{ name: "service", value: "support", isEqual: false }], false],
    ["regex, whole value", [{ name: "service", value: "supp.*", isRegex: true }], true],
    ["regex is anchored at both ends", [{ name: "service", value: "upp", isRegex: true }], false],
    [
      "regex alternation is anchored as a whole",
      [{ name: "service", value: "billing|support", isRegex: true }],
      true,
    ],
    [
      "negated regex",
      [{ name: "severity", value: "info|warning", isRegex: true, isEqual: false }],
      true,
    ],
    [
      "negated regex that matches",
      [{ name: "severity", value: "crit.*", isRegex: true, isEqual: false }],
      false,
    ],
    [
      "absent label is the empty value",
      [
        { name: "env", value: "" },
        { name: "rule", value: "refund-json" },
      ],
      true,
    ],
    ["absent label does not equal a value", [{ name: "env", value: "prod" }], false],
    [
      "regex special characters are literal without isRegex",
      [{ name: "service", value: "supp.*" }],
      false,
    ],
    [
      "a broken stored regex silences nothing",
      [{ name: "service", value: "(", isRegex: true }],
      false,
    ],
  ])("%s", (_name, matchers, silenced) => {
    expect(isSilenced(ALERT, [silence(matchers)], NOW)).toBe(silenced);
  });

  it("rule falls back to the alert's rule id when labels lack it", () => {
    expect(
      isSilenced({ ruleId: "r9", labels: {} }, [silence([{ name: "rule", value: "r9" }])], NOW),
    ).toBe(true);
  });
});

describe("isSilenced: time", () => {
  const matchers = [{ name: "rule", value: "refund-json" }];

  it.each([
    ["before startsAt", Date.parse("2026-01-31T10:59:59.999Z"), false, "pending"],
    ["at startsAt", Date.parse("2026-01-31T11:00:00.000Z"), true, "active"],
    ["just before endsAt", Date.parse("2026-01-31T12:59:59.999Z"), true, "active"],
    ["at endsAt", Date.parse("2026-01-31T13:00:00.000Z"), false, "expired"],
  ] as const)("%s", (_name, at, silenced, state) => {
    expect(isSilenced(ALERT, [silence(matchers)], at)).toBe(silenced);
    expect(silenceState(silence(matchers), at)).toBe(state);
  });

  it("lists the silences that hold", () => {
    const holding = silence([{ name: "team", value: "payments" }], { id: "a" });
    const other = silence([{ name: "team", value: "search" }], { id: "b" });
    const expired = silence([{ name: "team", value: "payments" }], {
      id: "c",
      endsAt: "2026-01-31T11:30:00.000Z",
    });
    expect(silencesMatching(ALERT, [holding, other, expired], NOW).map((s) => s.id)).toEqual(["a"]);
    expect(isSilenced(ALERT, [], NOW)).toBe(false);
  });
});

describe("silenceBodySchema", () => {
  const body = {
    matchers: [{ name: "rule", value: "refund-json" }],
    endsAt: "2026-01-31T14:00:00+01:00",
    comment: "known issue, fix deploying",
    createdBy: "ana",
  };

  it("applies defaults and normalises times to UTC", () => {
    expect(silenceBodySchema.parse(body)).toStrictEqual({
      matchers: [{ name: "rule", value: "refund-json", isRegex: false, isEqual: true }],
      endsAt: "2026-01-31T13:00:00.000Z",
      comment: "known issue, fix deploying",
      createdBy: "ana",
    });
  });

  function messages(input: unknown): { path: string; message: string }[] {
    const result = silenceBodySchema.safeParse(input);
    expect(result.success).toBe(false);
    return (result.error?.issues ?? []).map((issue) => ({
      path: issue.path.join("."),
      message: issue.message,
    }));
  }

  it.each<[string, unknown, { path: string; message: string }]>([
    [
      "no matchers",
      { ...body, matchers: [] },
      { path: "matchers", message: "needs at least one matcher" },
    ],
    [
      "bad label name",
      { ...body, matchers: [{ name: "a-b", value: "x" }] },
      {
        path: "matchers.0.name",
        message: '"a-b" is not a label name (letters, digits and _, not starting with a digit)',
      },
    ],
    [
      "bad regex",
      { ...body, matchers: [{ name: "service", value: "(?<=x)y", isRegex: true }] },
      {
        path: "matchers.0.value",
        message: expect.stringMatching(/^"\(\?<=x\)y" is not an RE2 regex: /) as unknown as string,
      },
    ],
    [
      "isRegex not a boolean",
      { ...body, matchers: [{ name: "service", value: "x", isRegex: "yes" }] },
      { path: "matchers.0.isRegex", message: '"yes" is not true or false (isRegex)' },
    ],
    [
      "unknown matcher key",
      { ...body, matchers: [{ name: "service", value: "x", regex: true }] },
      {
        path: "matchers.0",
        message: 'unknown key "regex"; known keys: name, value, isRegex, isEqual',
      },
    ],
    [
      "silences everything",
      { ...body, matchers: [{ name: "service", value: ".*", isRegex: true }] },
      {
        path: "matchers",
        message:
          "at least one matcher must not match an empty value, or the silence would hold every alert",
      },
    ],
    [
      "endsAt not a time",
      { ...body, endsAt: "tomorrow" },
      {
        path: "endsAt",
        message: '"tomorrow" is not an ISO 8601 time with a zone, like 2026-01-31T18:00:00Z',
      },
    ],
    [
      "endsAt without a zone",
      { ...body, endsAt: "2026-01-31T14:00:00" },
      {
        path: "endsAt",
        message:
          '"2026-01-31T14:00:00" is not an ISO 8601 time with a zone, like 2026-01-31T18:00:00Z',
      },
    ],
    [
      "endsAt before startsAt",
      { ...body, startsAt: "2026-01-31T15:00:00Z" },
      {
        path: "endsAt",
        message: "2026-01-31T13:00:00.000Z is not after startsAt 2026-01-31T15:00:00.000Z",
      },
    ],
    ["no endsAt", { ...body, endsAt: undefined }, { path: "endsAt", message: "is required" }],
    [
      "empty comment",
      { ...body, comment: "  " },
      { path: "comment", message: "must say why (it is shown with the silence)" },
    ],
    ["empty createdBy", { ...body, createdBy: "" }, { path: "createdBy", message: "must say who" }],
    [
      "no createdBy",
      { ...body, createdBy: undefined },
      { path: "createdBy", message: "is required" },
    ],
    [
      "no matcher value",
      { ...body, matchers: [{ name: "service" }] },
      { path: "matchers.0.value", message: "is required" },
    ],
    [
      "matchers not a list",
      { ...body, matchers: "rule=x" },
      { path: "matchers", message: '"rule=x" is not a list of matchers' },
    ],
    [
      "unknown key",
      { ...body, duration: "2h" },
      {
        path: "",
        message:
          'unknown key "duration"; known keys: matchers, startsAt, endsAt, comment, createdBy',
      },
    ],
    [
      "not an object",
      [body],
      { path: "", message: expect.stringMatching(/ is not an object$/) as unknown as string },
    ],
  ])("%s", (_name, input, issue) => {
    expect(messages(input)).toContainEqual(issue);
  });
});

describe("createSilence", () => {
  const parsed = silenceBodySchema.parse({
    matchers: [{ name: "service", value: "support" }],
    endsAt: "2026-01-31T14:00:00Z",
    comment: "maintenance",
    createdBy: "ana",
  });

  it("starts now unless told otherwise", () => {
    expect(createSilence(parsed, "sil-1", NOW)).toStrictEqual({
      ok: true,
      silence: {
        id: "sil-1",
        matchers: [{ name: "service", value: "support", isRegex: false, isEqual: true }],
        startsAt: "2026-01-31T12:00:00.000Z",
        endsAt: "2026-01-31T14:00:00.000Z",
        comment: "maintenance",
        createdBy: "ana",
      },
    });
    const later = createSilence({ ...parsed, startsAt: "2026-01-31T13:00:00.000Z" }, "sil-2", NOW);
    expect(later.ok && later.silence.startsAt).toBe("2026-01-31T13:00:00.000Z");
  });

  it("refuses a silence that has already ended", () => {
    expect(createSilence(parsed, "sil-1", Date.parse("2026-01-31T14:00:00Z"))).toStrictEqual({
      ok: false,
      errors: ["endsAt 2026-01-31T14:00:00.000Z is not in the future"],
    });
  });
});

describe("createSilenceSet", () => {
  function set(initial: Silence[] = [], fail = false) {
    const saved: [string, boolean][] = [];
    const silences = createSilenceSet(initial, {
      save: async (s, deleted) => {
        if (fail) throw new Error("store down");
        saved.push([s.id, deleted]);
      },
    });
    return { silences, saved };
  }

  it("saves before it holds; an id added again replaces the silence", async () => {
    const { silences, saved } = set();
    await silences.add(silence([{ name: "team", value: "payments" }]));
    expect(silences.holding(ALERT, NOW)).toEqual(["s1"]);
    await silences.add(silence([{ name: "team", value: "search" }]));
    expect(silences.list()).toHaveLength(1);
    expect(silences.isSilenced(ALERT, NOW)).toBe(false);
    expect(saved).toEqual([
      ["s1", false],
      ["s1", false],
    ]);
  });

  it("removes by id, saved as deleted; an unknown id is false", async () => {
    const { silences, saved } = set([silence([{ name: "rule", value: "refund-json" }])]);
    expect(silences.isSilenced(ALERT, NOW)).toBe(true);
    expect(await silences.remove("nope")).toBe(false);
    expect(await silences.remove("s1")).toBe(true);
    expect(silences.list()).toEqual([]);
    expect(saved).toEqual([["s1", true]]);
  });

  it("changes nothing when the store fails", async () => {
    const { silences } = set([silence([{ name: "rule", value: "refund-json" }])], true);
    await expect(silences.add(silence([], { id: "s2" }))).rejects.toThrow("store down");
    await expect(silences.remove("s1")).rejects.toThrow("store down");
    expect(silences.list().map((s) => s.id)).toEqual(["s1"]);
  });
});
