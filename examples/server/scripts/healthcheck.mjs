// Container health check: GET /healthz on this machine, over HTTPS when the server serves TLS.
// Exit 0 healthy, 1 not. (Liveness, not identity: the certificate is not verified here.)
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";

const tls = Boolean(process.env.CLOUDEDGE_TLS_CERT);
const get = tls ? httpsGet : httpGet;
const request = get(
  {
    host: "127.0.0.1",
    port: Number(process.env.PORT || 9090),
    path: "/healthz",
    timeout: 4000,
    rejectUnauthorized: false,
  },
  (response) => process.exit(response.statusCode === 200 ? 0 : 1),
);
request.on("timeout", () => request.destroy(new Error("timeout")));
request.on("error", () => process.exit(1));
