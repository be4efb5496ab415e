import type { Db, Executor } from '../../db/database.js';

export function createSettingsRepo(db: Db) {
  return {
    async all(ex: Executor = db): Promise<Map<string, string>> {
      const rows = await ex.selectFrom('settings').select(['key', 'value']).execute();
      return new Map(rows.map((r) => [r.key, r.value]));
    },

    async put(key: string, value: string, updatedAt: string, updatedBy: string | null, ex: Executor = db): Promise<void> {
      await ex
        .insertInto('settings')
        .values({ key, value, updated_at: updatedAt, updated_by: updatedBy })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: updatedAt, updated_by: updatedBy }))
        .execute();
    },

    async remove(key: string, ex: Executor = db): Promise<void> {
      await ex.deleteFrom('settings').where('key', '=', key).execute();
    },
  };
}

export type SettingsRepo = ReturnType<typeof createSettingsRepo>;
