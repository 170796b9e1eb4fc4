export { configSchema, type Config, type ConfigInput } from "./schema.ts";
export { loadConfig, maskSecrets, ConfigError, ENV_KEYS, DEFAULT_CONFIG_FILE } from "./load.ts";
