/**
 * A command line that makes no sense (missing admin token for --url, malformed --url): reported
 * like commander's own usage errors, exit status 2, without printing the whole help.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
