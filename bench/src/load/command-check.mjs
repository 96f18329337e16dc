// Commands through the reference server's REST API, to prove it routes to every worker.
import { deviceId } from "../fleet-ids.mjs";
import { http } from "../util/http.mjs";
import { round } from "../util.mjs";

/** `count` random devices each get one command with wait: true, through whichever worker takes the call. */
export async function commandCheck(port, adminToken, devices, count) {
  const outcomes = [];
  for (let k = 0; k < count; k++) {
    const id = deviceId(Math.floor(Math.random() * devices));
    const begun = performance.now();
    try {
      const res = await http(port, "POST", `/api/v1/devices/${id}/commands`, {
        token: adminToken,
        body: { method: "system.ping", params: { k }, wait: true, timeoutMs: 10_000 },
        timeoutMs: 20_000,
      });
      const body = JSON.parse(res.text || "{}");
      outcomes.push({
        ok: res.status === 200 && body.status === "SUCCEEDED",
        http: res.status,
        status: body.status ?? body.code,
        ms: round(performance.now() - begun, 1),
      });
    } catch (error) {
      outcomes.push({
        ok: false,
        http: 0,
        status: String(error.message ?? error),
        ms: round(performance.now() - begun, 1),
      });
    }
  }
  return outcomes;
}
