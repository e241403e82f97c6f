/**
 * Client ids whose persistent session (CleanSession 0) this process has accepted and not discarded
 * since. aedes sets CONNACK Session Present only when it restores subscriptions, but a session
 * exists even when the rest of its state is empty (§3.1.2.4), so a resumed session without
 * subscriptions needs Session Present 1 too [MQTT-3.2.2-2]. Sessions are forgotten when their
 * subscriptions are cleaned: a CleanSession 1 CONNECT and the gateway's session purge both do that.
 */
export class KnownSessions {
  readonly #ids = new Set<string>()

  has(clientId: string): boolean {
    return this.#ids.has(clientId)
  }

  remember(clientId: string): void {
    this.#ids.add(clientId)
  }

  forget(clientId: string): void {
    this.#ids.delete(clientId)
  }
}
