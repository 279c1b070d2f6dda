// A load-generating Kafka connection built on libs/protocol: requests are pre-encoded frames, sent pipelined; each
// resolves with its response frame (responses come back in order, so a FIFO of waiters matches them).
import { connect, type Socket } from 'node:net';
import { writeRequestHeader, Writer } from '@sluice/protocol';

export class LoadConnection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly waiters: Array<(frame: Buffer) => void> = [];
  private correlation = 0;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(bootstrap: string): Promise<LoadConnection> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host, () => resolve(new LoadConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Encodes a request (size prefix, header v1/v2, body). */
  frame(apiKey: number, apiVersion: number, body: (w: Writer) => void): Buffer {
    const w = new Writer(256);
    writeRequestHeader(w, { apiKey, apiVersion, correlationId: ++this.correlation, clientId: 'sluice-bench' });
    body(w);
    const payload = w.toBuffer();
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(payload.length);
    return Buffer.concat([size, payload]);
  }

  /** Sends a frame; resolves with its response (null for acks=0 requests: pass expectResponse false). */
  send(frame: Buffer, expectResponse = true): Promise<Buffer | null> {
    this.socket.write(frame);
    if (!expectResponse) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.pendingBytes < 4) return;
      if (this.pending[0].length < 4) this.pending = [Buffer.concat(this.pending)];
      const size = this.pending[0].readInt32BE(0);
      if (this.pendingBytes < 4 + size) return;
      const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.waiters.shift()?.(frame);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
