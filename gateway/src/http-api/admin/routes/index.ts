import type { AdminRoute } from '../admin-route.js'
import { appRoutes } from './apps.js'
import { auditRoutes } from './audit.js'
import { bulkRoutes } from './bulk.js'
import { claimRoutes } from './claims.js'
import { deviceRoutes } from './devices.js'
import { ruleRoutes } from './rules.js'
import { tokenRoutes } from './tokens.js'

/** Every admin API route; a module adds its routes here with one entry. */
export const adminRoutes: readonly AdminRoute[] = [
  ...appRoutes,
  ...deviceRoutes,
  ...bulkRoutes,
  ...tokenRoutes,
  ...claimRoutes,
  ...auditRoutes,
  ...ruleRoutes,
]
