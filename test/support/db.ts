import postgres from "postgres";

/** A fresh database cloned from the migrated template: each test file gets its own, in milliseconds. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.SWITCHBOARD_TEST_ADMIN_URL;
  const template = process.env.SWITCHBOARD_TEST_TEMPLATE;
  if (!adminUrl || !template) throw new Error("test/support/preload.ts did not run (see bunfig.toml)");
  const name = `sb_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${template}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await sql.end();
    },
  };
}
