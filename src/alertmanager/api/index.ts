/**
 * The Alertmanager API room's door: the API v2 Hono sub-app over the
 * Alertmanager core (mounted under `/api/v2` by the standalone role and by
 * the server's built-in Alertmanager; the standalone role's whole app is
 * src/server/alertmanager_app.ts), and the JSON shapes and decoders clients
 * (the amtool-like tool commands) share.
 *
 * @example
 * const app = new Hono().route("/api/v2", alertmanagerAPIv2({ alertmanager: () => am, versionInfo }));
 */
export { alertmanagerAPIv2, MAX_BODY_BYTES, readBodyText, type AlertmanagerAPIOptions } from "./app.ts";
export {
  APIError, decodePostableAlerts, decodePostableAlertsSliced, decodePostableSilence, parseDateTime, parseFilterMatcher, pathSilenceID, queryBool, queryMatchers, queryReceiver,
  INVALID_TYPE_CODE, MIN_ITEMS_CODE, REQUIRED_CODE,
} from "./decode.ts";
export {
  apiTime, compareSilences, goJSON, toGettableAlert, toGettableSilence,
  type AlertmanagerStatus, type APIAlertGroup, type APIMatcher, type APIReceiver, type ClusterStatus,
  type GettableAlert, type GettableSilence, type PeerStatus, type VersionInfo,
} from "./json.ts";
