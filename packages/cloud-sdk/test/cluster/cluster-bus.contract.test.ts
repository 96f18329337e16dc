import { LocalClusterBus } from "@cloudedge/cloud-sdk";
import { describeClusterBusContract } from "@cloudedge/cloud-sdk/testing";
import { vitestHarness as harness } from "../support/vitest-harness.js";
import { NatsTestCluster } from "./support/nats-test-server.js";

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
