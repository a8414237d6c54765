/**
 * The browser entry point: the nav bar for the roles this process runs, and
 * the router picking the page. A role's pages are one entry in NAV and one
 * in the route table below.
 */
import { html } from "htm/preact";
import { render } from "preact";
import { config, path } from "./api.ts";
import { interceptLinks, useLocation } from "./router.ts";
import { QueryPage } from "./query.ts";
import { AlertsPage, ConfigPage, FlagsPage, RulesPage, RuntimeInfoPage, ServiceDiscoveryPage, TargetsPage, TSDBStatusPage } from "./pages.ts";
import { AMAlertsPage, AMStatusPage, SilencePage, SilencesPage } from "./alertmanager.ts";
import { DashboardPage, DashboardsPage } from "./dashboards.ts";
import { PushgatewayPage } from "./pushgateway.ts";

interface NavItem {
  label: string;
  href: string;
  /** Shown under a "Status" menu. */
  status?: boolean;
}

const NAV: Record<string, NavItem[]> = {
  prometheus: [
    { label: "Query", href: "/query" },
    { label: "Alerts", href: "/alerts" },
    { label: "Rules", href: "/rules" },
    { label: "Targets", href: "/targets" },
    { label: "Dashboards", href: "/dashboards" },
    { label: "Service discovery", href: "/service-discovery", status: true },
    { label: "Configuration", href: "/config", status: true },
    { label: "Command-line flags", href: "/flags", status: true },
    { label: "Runtime & build information", href: "/status", status: true },
    { label: "TSDB status", href: "/tsdb-status", status: true },
  ],
  alertmanager: [
    { label: "AM alerts", href: "/alertmanager/alerts" },
    { label: "Silences", href: "/alertmanager/silences" },
    { label: "Alertmanager status", href: "/alertmanager/status", status: true },
  ],
  pushgateway: [
    { label: "Pushgateway", href: "/pushgateway" },
  ],
};

function navItems(): NavItem[] {
  const items = config.roles.flatMap((r) => NAV[r] ?? []).filter((i) => i.href !== "/dashboards" || config.dashboards);
  // A lone Alertmanager calls its pages plainly.
  return config.roles.includes("prometheus") ? items : items.map((i) => ({ ...i, label: i.label.replace(/^AM a/, "A") }));
}

type Route = [RegExp, (m: RegExpExecArray, search: URLSearchParams) => unknown, string];

const ROUTES: Route[] = [
  [/^\/query$/, (_m, s) => html`<${QueryPage} search=${s}/>`, "Query"],
  [/^\/alerts$/, () => html`<${AlertsPage}/>`, "Alerts"],
  [/^\/rules$/, () => html`<${RulesPage}/>`, "Rules"],
  [/^\/targets$/, () => html`<${TargetsPage}/>`, "Targets"],
  [/^\/service-discovery$/, () => html`<${ServiceDiscoveryPage}/>`, "Service discovery"],
  [/^\/config$/, () => html`<${ConfigPage}/>`, "Configuration"],
  [/^\/flags$/, () => html`<${FlagsPage}/>`, "Command-line flags"],
  [/^\/status$/, () => html`<${RuntimeInfoPage}/>`, "Runtime & build information"],
  [/^\/tsdb-status$/, () => html`<${TSDBStatusPage}/>`, "TSDB status"],
  [/^\/dashboards$/, () => html`<${DashboardsPage}/>`, "Dashboards"],
  [/^\/dashboards\/([^/]+)$/, (m, s) => html`<${DashboardPage} key=${m[1]} name=${decodeURIComponent(m[1]!)} search=${s}/>`, "Dashboard"],
  [/^\/alertmanager(\/alerts)?$/, (_m, s) => html`<${AMAlertsPage} key=${s.toString()} search=${s}/>`, "Alerts"],
  [/^\/alertmanager\/silences$/, () => html`<${SilencesPage}/>`, "Silences"],
  [/^\/alertmanager\/silences\/([^/]+)$/, (m, s) => html`<${SilencePage} key=${m[1] + s.toString()} id=${decodeURIComponent(m[1]!)} search=${s}/>`, "Silence"],
  [/^\/alertmanager\/status$/, () => html`<${AMStatusPage}/>`, "Status"],
  [/^\/pushgateway$/, () => html`<${PushgatewayPage}/>`, "Pushgateway"],
];

function App() {
  const { path: p, search } = useLocation();
  let page: unknown = html`<div class="page"><div class="alert error">No page at ${p}.</div></div>`;
  let title = "Not found";
  for (const [re, view, t] of ROUTES) {
    const m = re.exec(p);
    if (m) {
      page = view(m, search);
      title = t;
      break;
    }
  }
  document.title = `${title} · ${config.title}`;
  const items = navItems();
  const isActive = (href: string) => p === href || p.startsWith(`${href}/`);
  const statusItems = items.filter((i) => i.status);
  return html`<div class="app">
    <header class="topbar">
      <a class="brand" href=${path("/")}>promts</a>
      <nav aria-label="Main">
        ${items.filter((i) => !i.status).map((i) => html`<a href=${path(i.href)} class=${isActive(i.href) ? "active" : ""} aria-current=${isActive(i.href) ? "page" : undefined}>${i.label}</a>`)}
        ${statusItems.length > 0 && html`<details class="menu">
          <summary class=${statusItems.some((i) => isActive(i.href)) ? "active" : ""}>Status</summary>
          <div class="menu-list">${statusItems.map((i) => html`<a href=${path(i.href)} aria-current=${isActive(i.href) ? "page" : undefined}
            onClick=${(e: Event) => (e.currentTarget as HTMLElement).closest("details")?.removeAttribute("open")}>${i.label}</a>`)}</div>
        </details>`}
      </nav>
      <span class="spacer"></span>
      <span class="muted small version">${config.version}</span>
    </header>
    <main>${page}</main>
  </div>`;
}

interceptLinks();
render(html`<${App}/>`, document.getElementById("app")!);
