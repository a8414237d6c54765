/** The ui room's door: the embedded web UI and the dashboards it saves. */
export { uiRoutes, indexHTML, ROLE_PAGES, type UIOptions, type UIRole } from "./routes.ts";
export {
  DashboardStore,
  dashboardsAPI,
  validateDashboard,
  replicateDashboards,
  type DashboardChange,
  type DashboardCluster,
  DASHBOARD_NAME,
  type Dashboard,
  type DashboardPanel,
  type DashboardSummary,
  type GridPos,
} from "./dashboards.ts";
export { importGrafana, slugify, type GrafanaImport } from "./grafana.ts";
export { relabelSteps, relabelStepsAPI, type RelabelStep, type ScrapePoolRelabeling } from "./relabel_steps.ts";
