/**
 * Modules of the compiled gateway that its package does not export (provisioning, the store),
 * found next to its entry point: `entry` is a snapshot's (gateway-snapshot.mjs) or, by default,
 * the package's own. Run `npm run build` first.
 */
export const importDist = (relative, entry = import.meta.resolve('@fleetcast/gateway')) =>
  import(new URL(relative, entry).href)
