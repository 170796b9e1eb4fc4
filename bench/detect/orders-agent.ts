/**
 * The orders agent ("order-processor" in service orders-agent): parse an order e-mail into JSON
 * → check stock (read-only tool) → quote a price (JSON) → create the order (side-effecting tool)
 * → write a confirmation. Legitimate noise: ~1.5% of items are out of stock (the agent writes
 * that instead of creating the order) and ~1% of stock checks time out and are retried.
 */

import { agentSpan, chatSpan, toolSpan } from "./genai-spans.ts";
import type { LegitimateEvent, RunPlan, SpanPlan } from "./genai-spans.ts";
import {
  CATALOGUE,
  confirmation,
  customer,
  orderEmail,
  outOfStockReply,
  type OrderFacts,
} from "./prose.ts";
import {
  categoryIndex,
  integer,
  logNormal,
  pick,
  randomId,
  stepRandom,
  uniform,
  type Random,
} from "./random.ts";
import { ORDER_TYPES, type RunEffects } from "./scenarios.ts";
import { charsPerToken, chatDurationMs, RunClock, tokensOf } from "./timing.ts";

export const ORDERS_AGENT = "order-processor";

export const PARSE_INSTRUCTIONS =
  "Extract the order from the customer's e-mail. Reply with JSON only: " +
  '{"order_type": "standard" | "express" | "wholesale" | "subscription" | "gift", "sku": string, ' +
  '"quantity": integer, "customer_email": string, "total": number (US dollars)}.';
export const QUOTE_INSTRUCTIONS =
  "Quote the final price of this order in US dollars, with shipping and trade discounts. " +
  'Reply with JSON only: {"price": number, "currency": "USD"}.';
export const REPLY_INSTRUCTIONS =
  "Write a short, friendly e-mail to the customer about their order. Plain text, no markdown.";

/** Legitimate noise rates. */
export const ORDERS_NOISE = { outOfStock: 0.015, stockTimeout: 0.01 } as const;

const WAREHOUSES = ["Rotterdam", "Leipzig", "Lyon", "Poznań"];

/** What one run needs: its seed (all its draws derive from it), start and effects. */
export interface RunInput {
  runSeed: number;
  startMs: number;
  effects: RunEffects;
}

export function ordersRun(input: RunInput): RunPlan {
  const { runSeed, effects } = input;
  const step = (name: string) => stepRandom(runSeed, name);
  const model = effects.model;
  const clock = new RunClock();
  const children: SpanPlan[] = [];
  const legitimate: LegitimateEvent[] = [];

  const order = drawOrder(step("order"), effects);
  const email = orderEmail(step("email"), order);
  const noise = step("noise");
  const outOfStock = noise() < ORDERS_NOISE.outOfStock;
  const stockTimeout = noise() < ORDERS_NOISE.stockTimeout;
  const conversationId = randomId(noise, "conv_", 20);

  const chat = (
    random: Random,
    call: {
      instructions: string;
      input: string;
      output: string;
      outputType: "json" | "text";
      maxTokens: number;
      temperature: number;
    },
  ) => {
    const perToken = charsPerToken(random);
    const outputTokens = tokensOf(call.output.length, perToken);
    const time = clock.step(random, chatDurationMs(random, model, outputTokens));
    children.push(
      chatSpan({
        ...call,
        ...time,
        model,
        parent: 0,
        finishReason: "stop",
        inputTokens: tokensOf(call.instructions.length + call.input.length, perToken) + 12,
        outputTokens,
        responseId: randomId(random, "chatcmpl-", 29),
      }),
    );
  };
  const tool = (
    random: Random,
    name: string,
    args: unknown,
    latencyMs: number,
    result: unknown,
  ) => {
    const time = clock.step(random, latencyMs);
    const callId = randomId(random, "call_", 24);
    children.push(toolSpan({ name, callId, parent: 0, ...time, args, result }));
  };

  // 1. Parse the e-mail.
  chat(step("parse"), {
    instructions: PARSE_INSTRUCTIONS,
    input: email,
    output: parseOutput(step("parse-output"), order, effects),
    outputType: "json",
    maxTokens: 300,
    temperature: 0,
  });

  // 2. Check stock: a timeout is retried once; the answer may be an auth error as data.
  let knownOutOfStock = false;
  if (!effects.skipCheckStock) {
    const args = { sku: order.product.sku, quantity: order.quantity };
    if (stockTimeout) {
      const random = step("stock-timeout");
      const time = clock.step(random, 2000 + uniform(random, 0, 40));
      children.push(
        toolSpan({
          name: "check_stock",
          callId: randomId(random, "call_", 24),
          parent: 0,
          ...time,
          args,
          error: {
            type: "TimeoutError",
            message: "inventory service did not answer within 2000 ms",
          },
        }),
      );
      legitimate.push("tool-error-retried");
    }
    const random = step("stock");
    const available = order.quantity + integer(random, 0, 400);
    const warehouse = pick(random, WAREHOUSES);
    const restockDays = integer(random, 5, 20);
    const result = effects.authErrorAsData
      ? { error: { code: 401, message: "token expired" } }
      : outOfStock
        ? { sku: args.sku, in_stock: false, available: 0, restock_eta_days: restockDays }
        : { sku: args.sku, in_stock: true, available, warehouse };
    tool(random, "check_stock", args, logNormal(random, 140, 0.4), result);
    knownOutOfStock = outOfStock && !effects.authErrorAsData;
  }

  let answer: string;
  if (knownOutOfStock) {
    legitimate.push("out-of-stock");
    const random = step("reply");
    answer = outOfStockReply(random, order, uniform(random, 250, 500) * model.lengthFactor);
    chat(random, {
      instructions: REPLY_INSTRUCTIONS,
      input: `Order: ${JSON.stringify(publicOrder(order))}\nStock: out of stock`,
      output: answer,
      outputType: "text",
      maxTokens: 300,
      temperature: 0.7,
    });
  } else {
    // 3. Quote.
    const price = quotedPrice(order);
    chat(step("quote"), {
      instructions: QUOTE_INSTRUCTIONS,
      input: JSON.stringify(publicOrder(order)),
      output: JSON.stringify({ price, currency: "USD" }),
      outputType: "json",
      maxTokens: 100,
      temperature: 0,
    });

    // 4. Create the order (a silent retry repeats it with the same arguments).
    const args = {
      sku: order.product.sku,
      quantity: order.quantity,
      customer: order.customer.email,
    };
    const create = step("create");
    const orderId = randomId(create, "ORD-", 8);
    tool(create, "create_order", args, logNormal(create, 380, 0.35), {
      order_id: orderId,
      status: "created",
    });
    if (effects.duplicateCreateOrder) {
      const again = step("create-again");
      tool(again, "create_order", args, logNormal(again, 380, 0.35), {
        order_id: randomId(again, "ORD-", 8),
        status: "created",
      });
    }

    // 5. Confirm.
    const random = step("reply");
    answer = confirmation(
      random,
      order,
      // wrong-entity: another order's id, drawn apart so the other draws stay the same.
      effects.wrongEntity ? randomId(step("wrong-entity"), "ORD-", 8) : orderId,
      price,
      uniform(random, 300, 800) * model.lengthFactor,
    );
    chat(random, {
      instructions: REPLY_INSTRUCTIONS,
      input: `Order ${orderId}: ${JSON.stringify(publicOrder(order))}\nPrice: $${price.toFixed(2)}`,
      output: answer,
      outputType: "text",
      maxTokens: 300,
      temperature: 0.7,
    });
  }

  const root = agentSpan({
    agentName: ORDERS_AGENT,
    agentId: "asst_order_processor_v3",
    conversationId,
    model,
    startOffsetMs: 0,
    endOffsetMs: clock.end(noise),
    input: email,
    answer,
  });
  return { startMs: input.startMs, spans: [root, ...children], legitimate };
}

/** The order as the customer wrote it; the draws are the same whatever the mix of types. */
function drawOrder(random: Random, effects: RunEffects): OrderFacts {
  const orderType = ORDER_TYPES[categoryIndex(random(), effects.orderTypeShares)] ?? "standard";
  const product = pick(random, CATALOGUE);
  const quantityDraw = random();
  const priceNoise = logNormal(random, 1, 0.08);
  const buyer = customer(random);
  const [low, high] =
    orderType === "wholesale" ? [20, 200] : orderType === "subscription" ? [1, 6] : [1, 10];
  const quantity = low + Math.floor(quantityDraw * (high - low + 1));
  const discount = orderType === "wholesale" ? 0.85 : 1;
  const total = cents(product.unitPrice * quantity * priceNoise * discount);
  return { orderType, product, quantity, total, customer: buyer };
}

function publicOrder(order: OrderFacts) {
  return {
    order_type: order.orderType,
    sku: order.product.sku,
    quantity: order.quantity,
    customer_email: order.customer.email,
    total: order.total,
  };
}

/** The parse step's output text, broken as the effects say. */
function parseOutput(random: Random, order: OrderFacts, effects: RunEffects): string {
  const parsed: Record<string, unknown> = publicOrder(order);
  parsed.total = cents(order.total * effects.totalFactor);
  if (effects.dropTotal) delete parsed.total;
  const cut = uniform(random, 0.45, 0.9);
  switch (effects.brokenJson) {
    case "missing-field":
      delete parsed.quantity;
      return JSON.stringify(parsed);
    case "wrong-type":
      parsed.quantity = String(order.quantity);
      return JSON.stringify(parsed);
    case "truncated-json": {
      const text = JSON.stringify(parsed);
      return text.slice(0, Math.floor(text.length * cut));
    }
    default:
      return JSON.stringify(parsed);
  }
}

const SHIPPING: Record<string, number> = {
  standard: 6.9,
  express: 14.9,
  wholesale: 49,
  subscription: 0,
  gift: 11.4,
};

function quotedPrice(order: OrderFacts): number {
  const shipping =
    order.orderType === "standard" && order.total >= 100 ? 0 : SHIPPING[order.orderType];
  return cents(order.total + (shipping ?? 0));
}

function cents(value: number): number {
  return Math.round(value * 100) / 100;
}
