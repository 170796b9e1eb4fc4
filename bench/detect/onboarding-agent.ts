/**
 * The onboarding assistant ("onboarding" in service onboarding-agent): a multi-turn
 * conversation of five turns, each its own trace, a few minutes apart, all naming one
 * `gen_ai.conversation.id`. Turn 1 looks the customer up by e-mail, turn 2 verifies the
 * customer id, turn 3 searches the help centre, turn 4 sets the plan, turn 5 sends the welcome
 * e-mail. Every turn's model call carries the conversation so far (system, then each earlier
 * user message and answer, then the new message). Legitimate noise: ~20% of conversations ask
 * a second, different help question in turn 3, ~10% change their mind about the plan (the plan,
 * not the customer, differs from what turn 3 discussed).
 *
 * The failures of issue 18, each in the share of conversations `OnboardingEffects` picks:
 * a resumed run re-sending the welcome e-mail in a new (sixth) trace; the history lost from
 * turn N on; a contradicted fact (turn 4 sets the plan of another customer id than turn 2
 * verified); a search loop (the same help search in turns 3, 4 and 5).
 */

import type { RunPlan, SpanPlan } from "./genai-spans.ts";
import { agentSpan, chatSpan, toolSpan } from "./genai-spans.ts";
import { BASE_MODEL } from "./scenarios.ts";
import { integer, pick, randomId, stepRandom, uniform } from "./random.ts";

export const ONBOARDING_AGENT = "onboarding";
export const ONBOARDING_TURNS = 5;

export const ONBOARDING_INSTRUCTIONS =
  "You onboard new customers of Acme Cloud: find them, verify them, help them pick a plan, " +
  "set it and send the welcome e-mail. Be brief.";

/** What a conversation does differently from the stable assistant. */
export interface OnboardingEffects {
  affected: boolean;
  /** A resumed run: the last turn runs again as a new trace and sends the e-mail again. */
  resumedResend: boolean;
  /** From this turn (1-based) on, the model call gets no history; null: kept. */
  contextLostFromTurn: number | null;
  /** Turn 4 sets the plan of another customer id than the one turn 2 verified. */
  contradictedFact: boolean;
  /** The same help search in turns 3, 4 and 5. */
  searchLoop: boolean;
}

export const STABLE_ONBOARDING: OnboardingEffects = Object.freeze({
  affected: false,
  resumedResend: false,
  contextLostFromTurn: null,
  contradictedFact: false,
  searchLoop: false,
});

export interface OnboardingInput {
  runSeed: number;
  /** When the conversation's first turn starts, epoch ms. */
  startMs: number;
  effects: OnboardingEffects;
}

const PLANS = ["starter", "team", "business"] as const;
const FIRST_NAMES = ["ada", "bo", "chen", "dara", "eli", "fern", "gus", "hana", "ivo", "jun"];
const DOMAINS = ["example.com", "acme-client.io", "mail.test"];
const HELP_TOPICS = [
  "plans for small teams",
  "single sign-on setup",
  "data residency in the EU",
  "how billing seats work",
  "migrating from another provider",
];

interface Turn {
  user: string;
  answer: string;
  tools: { name: string; args: Record<string, unknown>; result: unknown }[];
}

/** One onboarding conversation: its turns, each a run (one trace), minutes apart. */
export function onboardingConversation(input: OnboardingInput): RunPlan[] {
  const { runSeed, effects } = input;
  const step = (name: string) => stepRandom(runSeed, name);
  const who = step("who");
  const name = pick(who, FIRST_NAMES);
  const email = `${name}.${integer(who, 10, 99)}@${pick(who, DOMAINS)}`;
  const customerId = `C-${integer(who, 10_000, 99_999)}`;
  const otherCustomerId = `C-${integer(who, 10_000, 99_999)}`;
  const conversationId = randomId(step("conversation"), "onb_", 20);
  const plan = pick(step("plan"), PLANS);
  const topic = pick(step("topic"), HELP_TOPICS);
  const secondTopic = HELP_TOPICS[(HELP_TOPICS.indexOf(topic) + 1) % HELP_TOPICS.length] ?? topic;
  const asksTwice = step("asks-twice")() < 0.2;
  const changesPlan = step("changes-plan")() < 0.1;
  const finalPlan = changesPlan ? (PLANS[(PLANS.indexOf(plan) + 1) % PLANS.length] ?? plan) : plan;
  const search = (q: string) => ({
    name: "search_help",
    args: { q },
    result: { articles: [{ id: `kb-${q.length}`, title: q }] },
  });

  const turns: Turn[] = [
    {
      user: `Hi, I would like to sign up. My e-mail is ${email}.`,
      answer: "Welcome! I found your account. Could you confirm your customer id?",
      tools: [{ name: "lookup_customer", args: { email }, result: { customer_id: customerId } }],
    },
    {
      user: `It is ${customerId}.`,
      answer: `Thanks, ${customerId} is verified. What would you like to know about our plans?`,
      tools: [
        {
          name: "verify_identity",
          args: { customer_id: customerId },
          result: { verified: true },
        },
      ],
    },
    {
      user: `Tell me about ${topic}.`,
      answer: `Here is what our help centre says about ${topic}. The ${plan} plan fits best.`,
      tools: asksTwice ? [search(topic), search(secondTopic)] : [search(topic)],
    },
    {
      user: `OK, the ${finalPlan} plan please.`,
      answer: `Done: you are on the ${finalPlan} plan.`,
      tools: [
        {
          name: "set_plan",
          args: {
            customer_id: effects.contradictedFact ? otherCustomerId : customerId,
            plan: finalPlan,
          },
          result: { ok: true },
        },
      ],
    },
    {
      user: "Great, send me the welcome e-mail.",
      answer: "Sent! Check your inbox.",
      tools: [
        {
          name: "send_email",
          args: { to: email, template: "welcome", customer_id: customerId },
          result: { message_id: `msg-${customerId}` },
        },
      ],
    },
  ];
  if (effects.searchLoop) {
    // The assistant keeps looking the same thing up, turn after turn.
    turns[3]?.tools.unshift(search(topic));
    turns[4]?.tools.unshift(search(topic));
  }
  if (effects.resumedResend) {
    // The run broke after sending and started over: a new trace of the same conversation.
    const last = turns[turns.length - 1];
    if (last !== undefined) turns.push({ ...last, tools: last.tools.map((t) => ({ ...t })) });
  }

  const gaps = step("gaps");
  const plans: RunPlan[] = [];
  let startMs = input.startMs;
  const history: { role: string; parts: { type: "text"; content: string }[] }[] = [];
  turns.forEach((turn, i) => {
    const number = i + 1;
    const lost = effects.contextLostFromTurn !== null && number >= effects.contextLostFromTurn;
    const messages = [
      ...(lost ? [] : history),
      { role: "user", parts: [{ type: "text" as const, content: turn.user }] },
    ];
    plans.push(turnPlan(startMs, conversationId, turn, messages, runSeed, number));
    history.push(
      { role: "user", parts: [{ type: "text", content: turn.user }] },
      { role: "assistant", parts: [{ type: "text", content: turn.answer }] },
    );
    startMs += Math.round(uniform(gaps, 60_000, 240_000));
  });
  return plans;
}

function turnPlan(
  startMs: number,
  conversationId: string,
  turn: Turn,
  messages: unknown[],
  runSeed: number,
  number: number,
): RunPlan {
  const ids = stepRandom(runSeed, `ids-${number}`);
  const chatEnd = 900 + 40 * messages.length;
  const chat = chatSpan({
    model: BASE_MODEL,
    parent: 0,
    startOffsetMs: 20,
    endOffsetMs: chatEnd,
    instructions: ONBOARDING_INSTRUCTIONS,
    input: turn.user,
    output: turn.answer,
    finishReason: "stop",
    outputType: "text",
    inputTokens: 60 + 25 * messages.length,
    outputTokens: 30,
    maxTokens: 400,
    temperature: 0.2,
    responseId: randomId(ids, "chatcmpl-", 24),
  });
  chat.attributes["gen_ai.input.messages"] = JSON.stringify(messages);
  const children: SpanPlan[] = [chat];
  let at = chatEnd + 10;
  for (const tool of turn.tools) {
    children.push(
      toolSpan({
        name: tool.name,
        callId: randomId(ids, "call_", 24),
        parent: 0,
        startOffsetMs: at,
        endOffsetMs: at + 180,
        args: tool.args,
        result: tool.result,
      }),
    );
    at += 200;
  }
  const root = agentSpan({
    agentName: ONBOARDING_AGENT,
    agentId: "asst_onboarding_01",
    conversationId,
    model: BASE_MODEL,
    startOffsetMs: 0,
    endOffsetMs: at + 20,
    input: turn.user,
    answer: turn.answer,
  });
  return { startMs, spans: [root, ...children], legitimate: [] };
}
