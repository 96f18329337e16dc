import type { Migration } from "../sql/migration.js";

// utf8mb4_bin: uniqueness and equality are exact (case-sensitive), as in the memory and SQLite stores.
const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/**
 * MySQL / MariaDB schema, oldest first. DDL is not transactional there, so every statement is
 * idempotent (IF NOT EXISTS, indexes declared inside CREATE TABLE): a migration interrupted
 * half-way is simply run again. Ids are BIGINT UNSIGNED; JSON documents are LONGTEXT, so both
 * servers return them as text (MySQL's native JSON type would arrive pre-parsed).
 * `device_groups`, not `groups`: GROUPS is a reserved word since MySQL 8.0.2.
 */
export const MYSQL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    statements: [
      `CREATE TABLE IF NOT EXISTS devices (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        type VARCHAR(255) NOT NULL,
        description TEXT NOT NULL,
        labels LONGTEXT NOT NULL,
        disabled TINYINT(1) NOT NULL DEFAULT 0,
        secret_hash VARCHAR(255) NOT NULL,
        generation INT UNSIGNED NOT NULL DEFAULT 1,
        serial_number VARCHAR(255) NULL,
        model VARCHAR(255) NULL,
        nics LONGTEXT NOT NULL,
        software LONGTEXT NOT NULL,
        online TINYINT(1) NOT NULL DEFAULT 0,
        connected_at BIGINT NULL,
        last_seen_at BIGINT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE KEY uq_devices_serial_model (serial_number, model),
        KEY ix_devices_online (online)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS device_groups (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        description TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE KEY uq_device_groups_name (name)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS group_members (
        group_id BIGINT UNSIGNED NOT NULL,
        device_id BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (group_id, device_id),
        KEY ix_group_members_device (device_id, group_id),
        CONSTRAINT fk_group_members_group FOREIGN KEY (group_id) REFERENCES device_groups (id) ON DELETE CASCADE,
        CONSTRAINT fk_group_members_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS commands (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        device_id BIGINT UNSIGNED NOT NULL,
        method VARCHAR(255) NOT NULL,
        params LONGTEXT NOT NULL,
        status VARCHAR(16) NOT NULL,
        result LONGTEXT NOT NULL,
        error LONGTEXT NULL,
        timeout_ms BIGINT NOT NULL,
        expires_at BIGINT NULL,
        deadline BIGINT NULL,
        attempts INT NOT NULL DEFAULT 0,
        group_id BIGINT UNSIGNED NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        KEY ix_commands_device_status (device_id, status),
        KEY ix_commands_device_id (device_id, id),
        KEY ix_commands_status (status, updated_at),
        CONSTRAINT fk_commands_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      // Clustered by (device, ts): history reads are range scans; a replayed report (same ts) is dropped.
      `CREATE TABLE IF NOT EXISTS status_history (
        device_id BIGINT UNSIGNED NOT NULL,
        ts BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        data LONGTEXT NOT NULL,
        PRIMARY KEY (device_id, ts),
        KEY ix_status_history_ts (ts),
        CONSTRAINT fk_status_history_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS status_latest (
        device_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        ts BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        data LONGTEXT NOT NULL,
        CONSTRAINT fk_status_latest_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS device_state (
        device_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        desired LONGTEXT NOT NULL,
        desired_version BIGINT NOT NULL,
        reported LONGTEXT NOT NULL,
        reported_version BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        CONSTRAINT fk_device_state_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS device_events (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        device_id BIGINT UNSIGNED NOT NULL,
        ts BIGINT NOT NULL,
        kind VARCHAR(32) NOT NULL,
        reason TEXT NULL,
        data LONGTEXT NULL,
        KEY ix_device_events_device (device_id, id),
        KEY ix_device_events_ts (ts),
        CONSTRAINT fk_device_events_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS api_tokens (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        token_hash VARCHAR(128) NOT NULL,
        scopes TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NULL,
        last_used_at BIGINT NULL,
        UNIQUE KEY uq_api_tokens_hash (token_hash)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: "commands.acknowledged_at",
    // Run again after an interruption, the duplicate column is tolerated (migrateMysql).
    statements: ["ALTER TABLE commands ADD COLUMN acknowledged_at BIGINT NULL"],
  },
  {
    version: 3,
    name: "jobs and job executions",
    statements: [
      `CREATE TABLE IF NOT EXISTS jobs (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        status VARCHAR(16) NOT NULL,
        spec LONGTEXT NOT NULL,
        reason LONGTEXT NULL,
        total INT NULL,
        wave INT NOT NULL DEFAULT 0,
        soak_until BIGINT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        started_at BIGINT NULL,
        finished_at BIGINT NULL,
        KEY ix_jobs_status (status, id)
      ) ${TABLE_OPTIONS}`,
      // One row per (job, device): the key is what makes "at most once per device" hold.
      `CREATE TABLE IF NOT EXISTS job_executions (
        job_id BIGINT UNSIGNED NOT NULL,
        device_id BIGINT UNSIGNED NOT NULL,
        status VARCHAR(16) NOT NULL,
        command_id BIGINT UNSIGNED NULL,
        wave INT NULL,
        error LONGTEXT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (job_id, device_id),
        KEY ix_job_executions_status (job_id, status, device_id),
        KEY ix_job_executions_wave (job_id, wave, status),
        KEY ix_job_executions_device (device_id, job_id),
        CONSTRAINT fk_job_executions_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE,
        CONSTRAINT fk_job_executions_device FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE
      ) ${TABLE_OPTIONS}`,
    ],
  },
];
