/**
 * The cli room's door: the executable's entry (`main`: parse the command
 * line, pick the role), the command-line tools (`tool`: promtool and amtool
 * equivalents, `check config`, `webhook-logger`, `playground`). The compiled binary starts
 * at src/cli/main.ts. The long-running roles and their runtime are the
 * server room's (src/server/); the flag parser is the flags room's.
 */
export { main, PROGRAM, ROLES, rootCommand } from "./main.ts";
export { checkConfigFiles } from "./check_config.ts";
export { checkAlertmanagerConfigFiles } from "./check_alertmanager.ts";
export { toolCommand, toolRole, runTool, DEFAULT_BLOCKS_DIR, type ToolOutput } from "./tool.ts";
export { webhookLoggerRole, startWebhookLogger, summarizeNotification, type WebhookLogger } from "./webhook_logger.ts";
export { playgroundRole, runPlayground, playgroundFiles, type PlaygroundNode } from "./playground.ts";
