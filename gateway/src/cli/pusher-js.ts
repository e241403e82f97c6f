import PusherModule from 'pusher-js'

/**
 * pusher-js ships CommonJS whose module.exports is the class, while its typings declare an ES
 * default export; under NodeNext the default import is the class at run time but the module
 * namespace at type level. This is the one place that reconciles the two.
 */
export const PusherClient = PusherModule as unknown as typeof PusherModule.default
export type PusherClient = InstanceType<typeof PusherClient>
