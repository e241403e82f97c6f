import { randomBytes } from 'node:crypto'
import { type AppConfig, appSchema } from '../config/schema.js'
import type { App } from '../domain/app.js'
import type { Store } from '../store/open-store.js'

/**
 * Upserts the configured apps. When the store then holds no app at all (first start on embedded
 * defaults), creates one and returns it so the caller can show its credentials once.
 */
export function bootstrapApps(store: Store, configured: readonly AppConfig[]): App | undefined {
  upsertConfiguredApps(store, configured)
  if (store.apps.count() > 0) return undefined
  return store.apps.upsert(
    appSchema.parse({
      id: `app-${randomBytes(3).toString('hex')}`,
      key: randomBytes(10).toString('hex'),
      secret: randomBytes(10).toString('hex'),
    }),
  )
}

/** The config is the source of truth for the apps it lists; the CLI applies it too. */
export function upsertConfiguredApps(store: Store, configured: readonly AppConfig[]): void {
  for (const app of configured) store.apps.upsert(app)
}
