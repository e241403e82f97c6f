import { once } from 'node:events'
import { closeSync, readFileSync, statSync, writeSync } from 'node:fs'
import { extname } from 'node:path'
import { SingleBar } from 'cli-progress'
import { type Command, Option } from 'commander'
import { GatewayError } from '../../errors/gateway-error.js'
import { BULK_FORMATS, type BulkFormat } from '../../fleet/bulk/bulk-columns.js'
import { exportDevices } from '../../fleet/bulk/export-devices.js'
import { importDevices, MAX_IMPORT_BYTES } from '../../fleet/bulk/import-devices.js'
import { describeReport, type ImportReport } from '../../fleet/bulk/import-report.js'
import { assertNewFile, createNewFile, SecretsFile } from '../../fleet/bulk/output-file.js'
import { exportRemotely, importRemotely } from '../../fleet/bulk/remote-bulk.js'
import { remoteTarget, withStore } from '../context.js'
import { examples } from '../help.js'
import type { CliIo } from '../io.js'
import { collectTag } from '../options.js'

interface ImportOptions {
  format?: BulkFormat
  app?: string
  secretsOut?: string
  dryRun?: boolean
  json?: boolean
}

interface ExportOptions {
  format?: BulkFormat
  app?: string
  tag?: Record<string, string>
  out?: string
}

/** scrypt with Fleetcast's parameters, on one core of a small machine. */
const SCRYPT_MS_PER_SECRET = 60

function formatOption(): Option {
  return new Option(
    '--format <format>',
    'csv or json (default: from the file name, else csv)',
  ).choices(BULK_FORMATS)
}

function formatOf(path: string | undefined): BulkFormat {
  return path !== undefined && extname(path).toLowerCase() === '.json' ? 'json' : 'csv'
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_IMPORT_BYTES) tooLarge('standard input')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function tooLarge(what: string): never {
  throw new GatewayError(
    'FC_ERR_IMPORT_FORMAT',
    `${what} is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB; split it into several imports`,
  )
}

async function readInput(file: string): Promise<Buffer> {
  if (file === '-') return readStdin()
  try {
    if (statSync(file).size > MAX_IMPORT_BYTES) tooLarge(file)
    return readFileSync(file)
  } catch (error) {
    if (GatewayError.is(error)) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new GatewayError('FC_ERR_FILE_ACCESS', `Cannot read ${file}: ${code}`, { cause: error })
  }
}

/** A bar on stderr while batches are written, only when a person is watching. */
function progressBar(io: CliIo) {
  if (!(io.stderr as { isTTY?: boolean }).isTTY) return { update: () => {}, stop: () => {} }
  const bar = new SingleBar({
    stream: io.stderr,
    format: 'Importing [{bar}] {value}/{total} rows | {eta}s left',
    hideCursor: true,
  })
  let started = false
  return {
    update: (done: number, total: number) => {
      if (!started) bar.start(total, 0)
      started = true
      bar.update(done)
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

function warnChosenSecrets(io: CliIo, count: number): void {
  const seconds = Math.ceil((count * SCRYPT_MS_PER_SECRET) / 1000)
  io.stderr.write(
    `Hashing ${count} chosen secret(s) with scrypt: about ${seconds} CPU-second(s). Generated secrets (--secrets-out) cost nothing.\n`,
  )
}

async function runImport(
  file: string,
  options: ImportOptions,
  command: Command,
  io: CliIo,
): Promise<{ report: ImportReport; generated: number }> {
  const format = options.format ?? formatOf(file === '-' ? undefined : file)
  if (options.secretsOut !== undefined) assertNewFile(options.secretsOut, '--secrets-out')
  const bytes = await readInput(file)
  // A dry run only needs to know that secrets could be generated; the file is never opened.
  const secrets = options.secretsOut === undefined ? undefined : new SecretsFile(options.secretsOut)
  const remote = remoteTarget(command, io)
  if (remote) {
    const { secrets: issued = [], ...report } = await importRemotely(remote, bytes, {
      format,
      appId: options.app,
      dryRun: options.dryRun === true,
      generateSecrets: options.secretsOut !== undefined,
    })
    if (secrets && !report.dryRun) {
      secrets.open()
      if (issued.length > 0) secrets.write(issued)
      secrets.close()
    }
    return { report, generated: issued.length }
  }
  const bar = progressBar(io)
  try {
    const report = await withStore(command, io, (store) =>
      importDevices(store, bytes, {
        format,
        appId: options.app,
        dryRun: options.dryRun,
        secrets,
        actor: 'cli',
        appScope: null,
        onProgress: bar.update,
        onChosenSecrets: (count) => warnChosenSecrets(io, count),
      }),
    )
    return { report, generated: secrets?.written ?? 0 }
  } finally {
    bar.stop()
    secrets?.close()
  }
}

async function write(io: CliIo, fd: number | undefined, chunk: string): Promise<void> {
  if (fd !== undefined) {
    writeSync(fd, chunk)
    return
  }
  if (!io.stdout.write(chunk)) await once(io.stdout, 'drain')
}

async function runExport(options: ExportOptions, command: Command, io: CliIo): Promise<void> {
  const format = options.format ?? formatOf(options.out)
  const filter = { appId: options.app, tags: options.tag }
  if (options.out !== undefined) assertNewFile(options.out, '--out')
  // The file is created only once there is something to write into it.
  const save = async (chunks: Iterable<string>) => {
    const fd = options.out === undefined ? undefined : createNewFile(options.out, '--out', 0o644)
    try {
      for (const chunk of chunks) await write(io, fd, chunk)
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
  const remote = remoteTarget(command, io)
  if (remote) await save([await exportRemotely(remote, format, filter)])
  else await withStore(command, io, (store) => save(exportDevices(store, format, filter)))
  if (options.out !== undefined) io.stderr.write(`Devices exported to ${options.out}.\n`)
}

/** `devices import` and `devices export` (docs/import-export.md). */
export function registerDeviceBulkCommands(devices: Command, io: CliIo): void {
  examples(
    devices
      .command('import')
      .description(
        'create and update devices from a CSV or JSON file, idempotently on device id; every bad row is reported (exit 2 when any)',
      )
      .argument('<file>', 'the file, or - for standard input')
      .addOption(formatOption())
      .option('--app <appId>', 'app for rows that name none; rows naming another app are refused')
      .option(
        '--secrets-out <file>',
        'generate secrets for new devices and write them to this new file (CSV id,secret, mode 0600)',
      )
      .option('--dry-run', 'validate and report what would change; write nothing')
      .option('--json', 'print the report as JSON'),
    'fleetcast devices import devices.csv --secrets-out secrets.csv',
    'fleetcast devices import devices.csv --dry-run',
    'fleetcast devices import fleet.json --app app-1 --secrets-out new-secrets.csv --json',
    'cat devices.csv | fleetcast devices import - --secrets-out secrets.csv',
  ).action(async (file: string, options: ImportOptions, command: Command) => {
    const { report, generated } = await runImport(file, options, command, io)
    if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    else {
      io.stdout.write(describeReport(report))
      if (generated > 0) {
        io.stdout.write(
          `Secrets of ${generated} new device(s) written to ${options.secretsOut} (readable by you only); they are shown nowhere else.\n`,
        )
      }
    }
    if (report.invalid > 0) {
      throw new GatewayError(
        'FC_ERR_IMPORT_ROWS',
        `${report.invalid} of ${report.rows} rows are invalid and were ${report.dryRun ? 'checked' : 'skipped'}; the report lists each with its ${report.format === 'csv' ? 'line' : 'index'} and field`,
      )
    }
  })

  examples(
    devices
      .command('export')
      .description('write devices as CSV or JSON (never secrets); the file imports back unchanged')
      .addOption(formatOption())
      .option('--app <appId>', 'only devices of this app')
      .option(
        '--tag <key=value>',
        'only devices with this tag; repeat to require several',
        collectTag,
      )
      .option('--out <file>', 'write to this new file instead of standard output'),
    'fleetcast devices export > devices.csv',
    'fleetcast devices export --format json --app app-1 --tag site=lab --out lab.json',
  ).action((options: ExportOptions, command: Command) => runExport(options, command, io))
}
