import { Readable } from 'node:stream'

/**
 * An object stream that pulls its items a page at a time, when the consumer asks for them.
 *
 * better-sqlite3 is synchronous and a connection cannot run other statements while a cursor is
 * open, so a stream never holds a cursor across reads: each `fetch` runs one short query that
 * resumes after the last item it returned (keyset paging). The stream's memory stays one page
 * however long the queue is, and rows deleted before their page is read are not returned.
 * An empty page ends the stream. A query error destroys the stream with that error instead of
 * throwing in the caller.
 */
export function pagedStream<T>(fetch: (size: number) => readonly T[], pageSize = 16): Readable {
  let done = false
  return new Readable({
    objectMode: true,
    // as Readable.from(): the consumer pulls one item at a time (the abstract suite sizes a test
    // on it); a page still comes from one query
    highWaterMark: 1,
    read() {
      if (done) return
      let page: readonly T[]
      try {
        page = fetch(pageSize)
      } catch (error) {
        this.destroy(error as Error)
        return
      }
      if (page.length === 0) {
        done = true
        this.push(null)
        return
      }
      for (const item of page) this.push(item)
    },
  })
}
