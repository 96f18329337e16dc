import type { Migration } from "../sql/migration.js";

/**
 * SQLite schema, oldest first. STRICT tables reject values of the wrong type instead of
 * silently storing them. Ids are INTEGER (64-bit) and read with safeIntegers, never as doubles.
 * JSON documents are TEXT. Children cascade on device delete like the memory store.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    statements: [
      `CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        labels TEXT NOT NULL DEFAULT '{}',
        disabled INTEGER NOT NULL DEFAULT 0,
        secret_hash TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 1,
        serial_number TEXT,
        model TEXT,
        nics TEXT NOT NULL DEFAULT '[]',
        software TEXT NOT NULL DEFAULT '{}',
        online INTEGER NOT NULL DEFAULT 0,
        connected_at INTEGER,
        last_seen_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      // NULLs are distinct in a UNIQUE index: devices without serial or model never conflict.
      "CREATE UNIQUE INDEX uq_devices_serial_model ON devices (serial_number, model)",
      "CREATE INDEX ix_devices_online ON devices (online)",
      `CREATE TABLE device_groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      "CREATE UNIQUE INDEX uq_device_groups_name ON device_groups (name)",
      `CREATE TABLE group_members (
        group_id INTEGER NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, device_id)
      ) STRICT, WITHOUT ROWID`,
      "CREATE INDEX ix_group_members_device ON group_members (device_id, group_id)",
      `CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        method TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT NOT NULL,
        error TEXT,
        timeout_ms INTEGER NOT NULL,
        expires_at INTEGER,
        deadline INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        group_id INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      "CREATE INDEX ix_commands_device_status ON commands (device_id, status)",
      "CREATE INDEX ix_commands_device_id ON commands (device_id, id)",
      "CREATE INDEX ix_commands_status ON commands (status, updated_at)",
      // Clustered by (device, ts): history reads are range scans; a replayed report (same ts) is dropped.
      `CREATE TABLE status_history (
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (device_id, ts)
      ) STRICT, WITHOUT ROWID`,
      "CREATE INDEX ix_status_history_ts ON status_history (ts)",
      `CREATE TABLE status_latest (
        device_id INTEGER PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        data TEXT NOT NULL
      ) STRICT`,
      `CREATE TABLE device_state (
        device_id INTEGER PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
        desired TEXT NOT NULL,
        desired_version INTEGER NOT NULL,
        reported TEXT NOT NULL,
        reported_version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT`,
      `CREATE TABLE device_events (
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        reason TEXT,
        data TEXT
      ) STRICT`,
      "CREATE INDEX ix_device_events_device ON device_events (device_id, id)",
      "CREATE INDEX ix_device_events_ts ON device_events (ts)",
      `CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER
      ) STRICT`,
      "CREATE UNIQUE INDEX uq_api_tokens_hash ON api_tokens (token_hash)",
    ],
  },
  {
    version: 2,
    name: "commands.acknowledged_at",
    statements: ["ALTER TABLE commands ADD COLUMN acknowledged_at INTEGER"],
  },
  {
    version: 3,
    name: "jobs and job executions",
    statements: [
      `CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        reason TEXT,
        total INTEGER,
        wave INTEGER NOT NULL DEFAULT 0,
        soak_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      ) STRICT`,
      "CREATE INDEX ix_jobs_status ON jobs (status, id)",
      // One row per (job, device): the key is what makes "at most once per device" hold.
      `CREATE TABLE job_executions (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        command_id INTEGER,
        wave INTEGER,
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, device_id)
      ) STRICT, WITHOUT ROWID`,
      "CREATE INDEX ix_job_executions_status ON job_executions (job_id, status, device_id)",
      "CREATE INDEX ix_job_executions_wave ON job_executions (job_id, wave, status)",
      "CREATE INDEX ix_job_executions_device ON job_executions (device_id, job_id)",
    ],
  },
];
