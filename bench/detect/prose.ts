/**
 * Text the simulated agents read and write: order e-mails, confirmations, research questions,
 * search results, fetched pages and summaries with citations. Built from small phrase banks so
 * that lengths vary realistically and nothing in them reads as an error message or a refusal
 * (a benchmark whose stable traffic trips a detector measures the traffic, not the detector).
 */

import { integer, pick, type Random } from "./random.ts";

export interface Product {
  sku: string;
  name: string;
  /** List price in dollars. */
  unitPrice: number;
}

export const CATALOGUE: readonly Product[] = [
  { sku: "KB-2041", name: "mechanical keyboard", unitPrice: 89 },
  { sku: "MS-1180", name: "wireless mouse", unitPrice: 34.5 },
  { sku: "MN-2701", name: '27" 4K monitor', unitPrice: 329 },
  { sku: "DK-5500", name: "USB-C docking station", unitPrice: 149 },
  { sku: "HS-3020", name: "noise-cancelling headset", unitPrice: 119 },
  { sku: "WC-0910", name: "1080p webcam", unitPrice: 59.9 },
  { sku: "CH-7700", name: "ergonomic office chair", unitPrice: 412 },
  { sku: "DS-8800", name: "sit-stand desk frame", unitPrice: 535 },
  { sku: "LP-1402", name: "laptop stand", unitPrice: 42 },
  { sku: "CB-0105", name: "USB-C cable (2 m)", unitPrice: 12.9 },
  { sku: "SD-6401", name: "1 TB portable SSD", unitPrice: 96 },
  { sku: "PR-4410", name: "laser printer", unitPrice: 228 },
  { sku: "TN-4411", name: "toner cartridge", unitPrice: 64 },
  { sku: "LM-2200", name: "LED desk lamp", unitPrice: 38 },
  { sku: "SP-3301", name: "conference speakerphone", unitPrice: 179 },
  { sku: "RT-9100", name: "Wi-Fi 6 router", unitPrice: 139 },
  { sku: "PB-0720", name: "20,000 mAh power bank", unitPrice: 45 },
  { sku: "TB-1010", name: "10-inch tablet", unitPrice: 289 },
  { sku: "BG-0330", name: "laptop backpack", unitPrice: 74 },
  { sku: "WB-5151", name: "whiteboard (120 × 90 cm)", unitPrice: 118 },
];

const FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farah", "Gustav", "Hiro", "Ines"];
const LAST_NAMES = ["Okafor", "Lindqvist", "Moreau", "Patel", "Novak", "García", "Kim", "Weber"];
const COMPANIES = [
  "northwind",
  "contoso",
  "fabrikam",
  "tailspin",
  "litware",
  "adatum",
  "proseware",
];

export interface Customer {
  name: string;
  email: string;
  company: string;
}

export function customer(random: Random): Customer {
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const company = pick(random, COMPANIES);
  const local = `${first}.${last}`
    .toLowerCase()
    .normalize("NFD")
    .replace(/[^a-z.]/g, "");
  return { name: `${first} ${last}`, email: `${local}@${company}.example`, company };
}

/** How each order type shows in an e-mail: the extractor's cue. */
const ORDER_TYPE_CUES: Record<string, readonly string[]> = {
  standard: ["Please process the following order.", "We would like to place an order."],
  express: [
    "We need this urgently, so express shipping please.",
    "Could you send this by express delivery? We need it this week.",
  ],
  wholesale: [
    "This is for our wholesale account, usual trade terms.",
    "Please book this on our reseller (wholesale) account.",
  ],
  subscription: [
    "Please set this up as a monthly recurring order.",
    "We'd like this delivered every month until further notice.",
  ],
  gift: [
    "This is a gift for a colleague, so please gift-wrap it and leave out the invoice.",
    "It's a present: gift wrapping please, no prices in the parcel.",
  ],
};

const EMAIL_FILLERS = [
  "Our office is open 8:00–17:00 for deliveries.",
  "Please use the loading dock at the back of the building.",
  "Our purchase order number will follow from accounts payable.",
  "Thanks again for the quick turnaround last time.",
  "If anything is unclear, just reply to this e-mail.",
  "We are happy with the previous shipment.",
  "Delivery to reception is fine.",
];

export interface OrderFacts {
  orderType: string;
  product: Product;
  quantity: number;
  total: number;
  customer: Customer;
}

export function orderEmail(random: Random, order: OrderFacts): string {
  const cue = pick(random, ORDER_TYPE_CUES[order.orderType] ?? ["Please process this order."]);
  const lines = [
    `Subject: Order – ${order.product.name}`,
    "",
    `Hello,`,
    "",
    `${cue} ${order.quantity} × ${order.product.name} (SKU ${order.product.sku}), ` +
      `for a total of $${order.total.toFixed(2)} as quoted on your website.`,
  ];
  const fillers = integer(random, 0, 3);
  for (let i = 0; i < fillers; i++) lines.push(pick(random, EMAIL_FILLERS));
  lines.push("", "Kind regards,", order.customer.name, order.customer.email);
  return lines.join("\n");
}

const CONFIRMATION_EXTRAS = [
  "You will receive a tracking link as soon as the parcel leaves our warehouse.",
  "Our support team is available on weekdays from 8:00 to 18:00 if you have any questions.",
  "The invoice will be sent to this address in a separate e-mail.",
  "You can change the delivery address until the order has been packed.",
  "Returns are free within 30 days of delivery.",
  "All items come with our standard two-year warranty.",
  "If you would like to combine this with another open order, simply reply to this message.",
  "We have noted your delivery preferences for future orders as well.",
];

const DELIVERY_BY_TYPE: Record<string, string> = {
  standard: "within 3–5 business days",
  express: "by the next business day",
  wholesale: "with the next freight run, usually within a week",
  subscription: "every month, starting within 5 business days",
  gift: "gift-wrapped within 3–5 business days",
};

/** The confirmation e-mail: about `targetChars` long (it stops at the first sentence past it). */
export function confirmation(
  random: Random,
  order: OrderFacts,
  orderId: string,
  price: number,
  targetChars: number,
): string {
  const first = order.customer.name.split(" ")[0] ?? order.customer.name;
  let text =
    `Hi ${first}, thank you for your order ${orderId}: ${order.quantity} × ` +
    `${order.product.name} (${order.product.sku}) for $${price.toFixed(2)}. ` +
    `It will arrive ${DELIVERY_BY_TYPE[order.orderType] ?? "soon"}.`;
  text = extend(random, text, CONFIRMATION_EXTRAS, targetChars - 30);
  return `${text} Best regards, the Order Desk`;
}

const APOLOGY_EXTRAS = [
  "We expect new stock within the next two weeks.",
  "We can reserve the items for you and ship them as soon as they arrive.",
  "A similar model is available right away if you would like an alternative.",
  "Your card has not been charged.",
  "Just reply to this message and we will take care of the rest.",
];

/** The reply when the item is out of stock: no order was created. */
export function outOfStockReply(random: Random, order: OrderFacts, targetChars: number): string {
  const first = order.customer.name.split(" ")[0] ?? order.customer.name;
  const text =
    `Hi ${first}, thank you for your order request. Unfortunately the ${order.product.name} ` +
    `(${order.product.sku}) is out of stock at the moment, so we have not placed the order yet.`;
  return `${extend(random, text, APOLOGY_EXTRAS, targetChars - 30)} Best regards, the Order Desk`;
}

// ---------------------------------------------------------------------------------------------
// Research agent

export const TOPICS = [
  "solid-state batteries",
  "heat pumps in cold climates",
  "perovskite solar cells",
  "urban vertical farming",
  "small modular reactors",
  "green hydrogen electrolysers",
  "carbon capture at cement plants",
  "e-bike adoption in cities",
  "sodium-ion batteries",
  "offshore floating wind",
  "lab-grown meat regulation",
  "microplastics in drinking water",
  "four-day work week trials",
  "quantum-safe cryptography",
  "open-source LLM licensing",
  "satellite broadband latency",
] as const;

const QUESTION_FORMS = [
  "What is the current state of {t}? Give me a short overview with sources.",
  "Summarise the latest evidence on {t}, with citations.",
  "How mature is {t} today, and what are the main open problems?",
  "Compare the leading approaches to {t} and cite your sources.",
  "What changed in {t} over the last two years?",
];

export function researchQuestion(random: Random, topic: string): string {
  return pick(random, QUESTION_FORMS).replace("{t}", topic);
}

const QUERY_QUALIFIERS = ["2025", "review", "cost", "efficiency", "deployment", "study", "news"];

export function searchQuery(random: Random, topic: string): string {
  return `${topic} ${pick(random, QUERY_QUALIFIERS)}`;
}

const DOMAINS = [
  "nature.com",
  "arxiv.org",
  "iea.org",
  "reuters.com",
  "ft.com",
  "sciencedirect.com",
  "theconversation.com",
  "energy.gov",
  "wired.com",
  "oecd.org",
];

export function sourceUrl(random: Random, topic: string): string {
  const slug = topic.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return `https://${pick(random, DOMAINS)}/articles/${slug}-${integer(random, 100, 9999)}`;
}

export interface SearchHit {
  title: string;
  url: string;
  snippet: string;
}

const TITLE_FORMS = [
  "{T}: where things stand",
  "A review of {t}",
  "New study on {t}",
  "Why {t} matters now",
  "The economics of {t}",
  "{T} explained",
];

export function searchHits(random: Random, topic: string, count: number): SearchHit[] {
  const hits: SearchHit[] = [];
  for (let i = 0; i < count; i++) {
    hits.push({
      title: title(random, topic),
      url: sourceUrl(random, topic),
      snippet: sentence(random, topic),
    });
  }
  return hits;
}

export function title(random: Random, topic: string): string {
  const capitalised = topic.charAt(0).toUpperCase() + topic.slice(1);
  return pick(random, TITLE_FORMS).replace("{T}", capitalised).replace("{t}", topic);
}

const SENTENCE_FORMS = [
  "Recent trials of {t} report steady gains in efficiency over earlier designs.",
  "Costs for {t} fell markedly as production scaled up.",
  "Several pilot projects on {t} are now moving to commercial scale.",
  "Analysts caution that {t} still faces supply-chain constraints.",
  "Regulators in Europe and Asia have published guidance on {t}.",
  "Independent measurements of {t} broadly confirm the manufacturers' figures.",
  "Critics argue that the benefits of {t} depend heavily on local conditions.",
  "Investment in {t} roughly doubled compared with the previous year.",
  "Long-term durability remains the main open question for {t}.",
  "Early adopters of {t} cite lower running costs as the main reason.",
  "A meta-analysis of {t} found the effect to be smaller than first claimed.",
  "Public funding programmes now explicitly include {t}.",
];

export function sentence(random: Random, topic: string): string {
  return pick(random, SENTENCE_FORMS).replace("{t}", topic);
}

/** The readable text of a fetched page, about `targetChars` long. */
export function pageText(random: Random, topic: string, targetChars: number): string {
  let text = "";
  while (text.length < targetChars) text += (text === "" ? "" : " ") + sentence(random, topic);
  return text;
}

/**
 * A summary with numbered citations [1]…[sources], about `targetChars` long; it ends after the
 * first sentence that reaches the target.
 */
export function summary(
  random: Random,
  topic: string,
  sources: number,
  targetChars: number,
): string {
  let text = `In short: ${topic} is progressing, but unevenly.`;
  let citation = 1;
  while (text.length < targetChars) {
    const cite = sources > 0 ? ` [${citation}]` : "";
    citation = citation >= sources ? 1 : citation + 1;
    text += ` ${sentence(random, topic).slice(0, -1)}${cite}.`;
  }
  return text;
}

/** Appends sentences from `extras` (each at most once) until the text reaches `targetChars`. */
function extend(
  random: Random,
  text: string,
  extras: readonly string[],
  targetChars: number,
): string {
  const remaining = [...extras];
  let out = text;
  while (out.length < targetChars && remaining.length > 0) {
    const index = Math.floor(random() * remaining.length);
    out += ` ${remaining.splice(index, 1)[0] ?? ""}`;
  }
  return out;
}
