import { afterEach, beforeEach, describe, it } from "vitest";
import { LocalClusterBus } from "../../src/index.js";
import { describeClusterBusContract } from "../../src/testing/cluster-bus.contract.js";
import { NatsTestCluster } from "./support/nats-test-server.js";

const harness = { describe, it, beforeEach, afterEach };

describeClusterBusContract(harness, "LocalClusterBus", {
  shared: false,
  cluster: () => {
    const buses: LocalClusterBus[] = [];
    return {
      node: async (nodeId) => {
        const bus = new LocalClusterBus(nodeId);
        buses.push(bus);
        return bus;
      },
      close: async () => {
        await Promise.all(buses.map((bus) => bus.close()));
      },
    };
  },
});

// Each test in a namespace of its own on the real NATS (JetStream on), dropped after it.
describeClusterBusContract(harness, "NatsClusterBus (real NATS)", {
  shared: true,
  cluster: async () => {
    const cluster = await NatsTestCluster.create();
    return { node: (nodeId) => cluster.bus(nodeId), close: () => cluster.drop() };
  },
});
