// Experiment (hub-server `indexCommands`): the memory store's listQueued answered from a
// per-device index of QUEUED ids instead of a scan of every command ever stored — to measure
// what MemoryCommandRepository.ofDevice costs the RPC path (bench/results/NOTES.md).
const byId = (a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

export function indexQueuedCommands(commands) {
  const queued = new Map();
  const add = (deviceId, id) => {
    let ids = queued.get(deviceId);
    if (!ids) {
      ids = new Set();
      queued.set(deviceId, ids);
    }
    ids.add(id);
  };
  const remove = (deviceId, id) => {
    const ids = queued.get(deviceId);
    ids?.delete(id);
    if (ids?.size === 0) queued.delete(deviceId);
  };
  const create = commands.create.bind(commands);
  const transition = commands.transition.bind(commands);
  const get = commands.get.bind(commands);
  commands.create = async (command) => {
    await create(command);
    if (command.status === "QUEUED") add(command.deviceId, command.id);
  };
  commands.transition = async (id, expected, patch) => {
    const updated = await transition(id, expected, patch);
    if (updated) {
      if (updated.status === "QUEUED") add(updated.deviceId, id);
      else remove(updated.deviceId, id);
    }
    return updated;
  };
  commands.listQueued = async (deviceId) => {
    const out = [];
    for (const id of [...(queued.get(deviceId) ?? [])].sort(byId)) {
      const command = await get(id);
      if (command?.status === "QUEUED") out.push(command);
    }
    return out;
  };
}
