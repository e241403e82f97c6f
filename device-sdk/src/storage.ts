import { join } from 'node:path'
import { CommandJournal, type JournalOptions } from './command-journal.js'
import { lockDataDir } from './data-dir.js'
import { DeviceError } from './errors.js'
import { Outbox, type ResolvedQueueOptions } from './outbox.js'
import { hasProblems, type RecoveryReport } from './record-log.js'

/** A queue or journal file that had to be repaired at `start()`. */
export interface StorageRecovery extends RecoveryReport {
  file: string
  /** Records whose frame checked but whose content did not. */
  invalidMessages: number
  /** Messages pending after recovery (queue file only). */
  pendingMessages: number
}

export interface Storage {
  outbox: Outbox
  journal: CommandJournal
  /** Closes both files and frees the directory. */
  close(): Promise<void>
}

function storageError(dataDir: string, error: unknown): DeviceError {
  if (error instanceof DeviceError) return error
  return new DeviceError(
    'storage_failed',
    `could not use ${dataDir}: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  )
}

/**
 * Takes `dataDir` and opens `outbox.log` and `commands.log` in it, repairing them if needed
 * (each repair is passed to `recovered`). Throws `data_dir_locked` or `storage_failed`.
 */
export async function openStorage(
  dataDir: string,
  options: {
    queue: ResolvedQueueOptions
    dedupe: Required<JournalOptions>
    now: number
    recovered(report: StorageRecovery): void
    onStorageError(error: DeviceError): void
  },
): Promise<Storage> {
  let release: () => Promise<void>
  try {
    release = await lockDataDir(dataDir)
  } catch (error) {
    throw storageError(dataDir, error)
  }
  let outbox: Outbox | undefined
  try {
    const queueFile = join(dataDir, 'outbox.log')
    const opened = await Outbox.open(queueFile, options.queue, {
      onStorageError: options.onStorageError,
    })
    outbox = opened.outbox
    if (hasProblems(opened.report) || opened.invalidMessages > 0)
      options.recovered({
        file: queueFile,
        ...opened.report,
        invalidMessages: opened.invalidMessages,
        pendingMessages: opened.outbox.messages,
      })
    const journalFile = join(dataDir, 'commands.log')
    const { journal, report } = await CommandJournal.open(
      journalFile,
      { ...options.dedupe, fsync: options.queue.fsync },
      options.now,
    )
    if (hasProblems(report))
      options.recovered({ file: journalFile, ...report, invalidMessages: 0, pendingMessages: 0 })
    const queue = outbox
    return {
      outbox: queue,
      journal,
      close: async () => {
        await queue.close()
        await journal.close()
        await release()
      },
    }
  } catch (error) {
    await outbox?.close().catch(() => undefined)
    await release()
    throw storageError(dataDir, error)
  }
}
