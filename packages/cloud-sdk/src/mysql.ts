/**
 * @cloudedge/cloud-sdk/mysql — the MySQL / MariaDB store. Needs the optional peer `mysql2`
 * (`npm i mysql2`); the root entry never loads it (openStore imports this on demand).
 */
export { MysqlDb } from "./repos/mysql/mysql-db.js";
export { MYSQL_DIALECT } from "./repos/mysql/mysql-dialect.js";
export { MYSQL_MIGRATIONS } from "./repos/mysql/mysql-migrations.js";
export {
  createMysqlStore,
  type MysqlStoreOptions,
  mysqlPoolOptionsFromUrl,
} from "./repos/mysql/mysql-store.js";
