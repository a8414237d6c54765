/**
 * Build information shown by `--version` and exported as
 * `prometheus_build_info`. The version comes from package.json (bundled into
 * the binary at build time). Branch, revision, user and date come from the
 * PROMTS_BUILD_* variables, which `bun build --env='PROMTS_BUILD_*'` inlines
 * into the binary; without them they read "unknown".
 */
import packageJson from "../../package.json" with { type: "json" };

/** What a build is: the label values of prometheus_build_info and the --version lines. */
export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
  readonly buildUser: string;
  readonly buildDate: string;
  /** "bun" + Bun's version, in the place Prometheus puts the Go version. */
  readonly runtimeVersion: string;
  /** GOOS/GOARCH spelling, e.g. "linux/amd64". */
  readonly platform: string;
}

const GO_ARCH: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" };

/** The running binary's build information. */
export function buildInfo(): BuildInfo {
  // Spelled out in full: `bun build --env` inlines only literal process.env.X reads.
  return {
    version: packageJson.version,
    revision: process.env.PROMTS_BUILD_REVISION ?? "unknown",
    branch: process.env.PROMTS_BUILD_BRANCH ?? "unknown",
    buildUser: process.env.PROMTS_BUILD_USER ?? "unknown",
    buildDate: process.env.PROMTS_BUILD_DATE ?? "unknown",
    runtimeVersion: `bun${Bun.version}`,
    platform: `${process.platform}/${GO_ARCH[process.arch] ?? process.arch}`,
  };
}

/**
 * The `--version` text, laid out like Prometheus's:
 *
 * ```
 * promts, version 0.1.0 (branch: unknown, revision: unknown)
 *   build user:       unknown
 *   build date:       unknown
 *   bun version:      bun1.4.5
 *   platform:         linux/amd64
 * ```
 */
export function versionText(program: string, info: BuildInfo = buildInfo()): string {
  return [
    `${program}, version ${info.version} (branch: ${info.branch}, revision: ${info.revision})`,
    `  build user:       ${info.buildUser}`,
    `  build date:       ${info.buildDate}`,
    `  bun version:      ${info.runtimeVersion}`,
    `  platform:         ${info.platform}`,
  ].join("\n") + "\n";
}
