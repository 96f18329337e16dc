/**
 * @cloudedge/cloud-sdk/nats — the cluster bus over NATS (core subjects + JetStream KV for
 * presence). Needs the optional peer `nats` (`npm i nats`); the root entry never loads it.
 */
export { NatsClusterBus, type NatsClusterBusOptions } from "./cluster/nats-cluster-bus.js";
export { NatsJobLeases, type NatsJobLeasesOptions } from "./cluster/nats-job-leases.js";
