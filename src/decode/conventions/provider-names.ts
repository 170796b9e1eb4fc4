/**
 * Provider names as the GenAI semantic conventions spell them (`gen_ai.provider.name` well-known
 * values, semantic-conventions-genai model/gen-ai/registry.yaml), whatever an instrumentation
 * called the provider: the AI SDK writes `openai.chat`, OpenInference `azure` or `google`,
 * OpenLLMetry `Anthropic`, GenAI conventions before 1.37 `az.ai.openai`, `vertex_ai`, `xai`. So a
 * rule on `provider` reads every convention alike. A name not in the table is kept as it came.
 */

/** Known spellings (lowercase) → the semantic-conventions value. */
const CANONICAL_BY_ALIAS: ReadonlyMap<string, string> = new Map([
  ...aliases("openai", ["openai"]),
  ...aliases("anthropic", ["anthropic"]),
  ...aliases("aws.bedrock", ["aws.bedrock", "amazon-bedrock", "bedrock", "aws", "aws_bedrock"]),
  ...aliases("azure.ai.openai", [
    "azure.ai.openai",
    "az.ai.openai", // semantic conventions ≤ 1.36
    "azure", // OpenInference llm.provider; the AI SDK's azure.chat, azure.responses
    "azure-openai",
    "azure_openai",
    "azure.openai",
  ]),
  ...aliases("azure.ai.inference", ["azure.ai.inference", "az.ai.inference"]),
  // generativelanguage.googleapis.com, "also known as the AI Studio API".
  ...aliases("gcp.gemini", ["gcp.gemini", "gemini", "google.generative-ai", "google_genai"]),
  // aiplatform.googleapis.com; the AI SDK's google.vertex.* and vertex.anthropic.*.
  ...aliases("gcp.vertex_ai", [
    "gcp.vertex_ai",
    "vertex_ai",
    "vertexai",
    "vertex-ai",
    "vertex",
    "google.vertex",
    "google_vertexai",
  ]),
  // "May be used when specific backend is unknown": OpenInference's llm.provider "google".
  ...aliases("gcp.gen_ai", ["gcp.gen_ai", "google"]),
  ...aliases("cohere", ["cohere"]),
  ...aliases("mistral_ai", ["mistral_ai", "mistralai", "mistral"]),
  ...aliases("x_ai", ["x_ai", "xai", "x-ai"]),
  ...aliases("deepseek", ["deepseek"]),
  ...aliases("groq", ["groq"]),
  ...aliases("perplexity", ["perplexity"]),
  ...aliases("ibm.watsonx.ai", ["ibm.watsonx.ai", "watsonx", "watsonx.ai", "ibm"]),
]);

function aliases(canonical: string, names: readonly string[]): [string, string][] {
  return names.map((name) => [name, canonical]);
}

/** The semantic-conventions name of a provider; "" stays "", unknown names are kept as given. */
export function canonicalProvider(name: string): string {
  const trimmed = name.trim();
  return CANONICAL_BY_ALIAS.get(trimmed.toLowerCase()) ?? trimmed;
}

/**
 * The provider part of an AI SDK provider id, `<provider>.<api>` (`openai.chat`,
 * `anthropic.messages`, `azure.responses`, `mistral.chat`): the part before the first dot,
 * except for Google's two, whose provider part has a dot itself (`google.vertex.chat`,
 * `google.generative-ai`).
 */
export function aiSdkProviderName(id: string): string {
  if (id.startsWith("google.vertex")) return "google.vertex";
  if (id.startsWith("google.generative-ai")) return "google.generative-ai";
  const dot = id.indexOf(".");
  return dot < 0 ? id : id.slice(0, dot);
}
