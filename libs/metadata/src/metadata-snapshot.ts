// The metadata image on the bus: the controller encodes it once per metadata offset as gzip-compressed JSON cut into
// chunks that each fit a message, and a service fetches the chunks and decodes them (see ControllerSnapshotRequest).
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Bus } from '@sluice/bus';
import { kafkaError, SluiceError } from '@sluice/protocol';
import { ControllerVerbs, SnapshotErrorCode, type MetadataImage, type ControllerSnapshotReply, type ControllerSnapshotRequest, type Subjects } from '@sluice/contracts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Bytes of compressed image per chunk: half of NATS's default message limit (1 MiB), so a snapshot crosses any NATS
 * server. The JSON compresses about 30 times: 100,000 partitions take one chunk.
 */
export const SNAPSHOT_CHUNK_BYTES = 512 * 1024;

export interface EncodedSnapshot {
  offset: number;
  controllerEpoch: number;
  chunks: Buffer[];
}

/** Encodes the image as it is now (serialised synchronously, so later changes do not leak in), then compresses it. */
export async function encodeSnapshot(image: MetadataImage, chunkBytes = SNAPSHOT_CHUNK_BYTES): Promise<EncodedSnapshot> {
  const { offset, controllerEpoch } = image;
  const compressed = await gzipAsync(JSON.stringify(image), { level: 1 });
  const chunks: Buffer[] = [];
  for (let at = 0; at < compressed.length || chunks.length === 0; at += chunkBytes) chunks.push(compressed.subarray(at, at + chunkBytes));
  return { offset, controllerEpoch, chunks };
}

/**
 * The controller's side: answers snapshot requests from the last few encoded images, so that a service still fetching
 * the chunks of one can finish it after the image moved on.
 */
export class SnapshotCache {
  private readonly kept: EncodedSnapshot[] = [];

  constructor(
    private readonly options: { keep?: number; chunkBytes?: number } = {},
  ) {}

  /** A chunk of the snapshot the request names, or of the current image's when it names none. */
  async chunk(image: MetadataImage, request: ControllerSnapshotRequest): Promise<{ meta: ControllerSnapshotReply; body: Buffer }> {
    let snapshot = request.offset === undefined ? this.find(image.offset, image.controllerEpoch) : this.find(request.offset, request.controllerEpoch);
    if (!snapshot && request.offset === undefined) {
      snapshot = await encodeSnapshot(image, this.options.chunkBytes);
      this.kept.push(snapshot);
      if (this.kept.length > (this.options.keep ?? 2)) this.kept.shift();
    }
    if (!snapshot) {
      throw new SluiceError(
        SnapshotErrorCode.expired,
        `the snapshot at offset ${request.offset} (controller epoch ${request.controllerEpoch}) is no longer held; ask for the current one`,
        { retriable: true },
      );
    }
    const chunk = request.chunk ?? 0;
    if (!Number.isSafeInteger(chunk) || chunk < 0 || chunk >= snapshot.chunks.length) {
      throw kafkaError('INVALID_REQUEST', `the snapshot has chunks 0 to ${snapshot.chunks.length - 1}, not ${chunk}`);
    }
    const { offset, controllerEpoch, chunks } = snapshot;
    return { meta: { offset, controllerEpoch, chunk, chunks: chunks.length, encoding: 'gzip-json' }, body: chunks[chunk] };
  }

  private find(offset: unknown, controllerEpoch: unknown): EncodedSnapshot | undefined {
    return this.kept.find((s) => s.offset === offset && s.controllerEpoch === controllerEpoch);
  }
}

/** Fetches and decodes the controller's current image; starts over (a few times) when the image moves on meanwhile. */
export async function fetchSnapshot(bus: Bus, subjects: Subjects, timeoutMs: number): Promise<MetadataImage> {
  const subject = subjects.at(ControllerVerbs.snapshot);
  for (let attempt = 1; ; attempt++) {
    const first = await bus.ask(subject, {}, { timeoutMs });
    const { offset, controllerEpoch, chunks } = first.meta;
    const parts: Buffer[] = [first.body ?? Buffer.alloc(0)];
    try {
      for (let chunk = 1; chunk < chunks; chunk++) {
        const next = await bus.ask(subject, { chunk, offset, controllerEpoch }, { timeoutMs });
        parts.push(next.body ?? Buffer.alloc(0));
      }
    } catch (err) {
      if (err instanceof SluiceError && err.code === SnapshotErrorCode.expired && attempt < 5) continue;
      throw err;
    }
    const image = JSON.parse((await gunzipAsync(Buffer.concat(parts))).toString('utf8')) as MetadataImage;
    return image;
  }
}
