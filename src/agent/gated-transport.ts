// A transport that can be cut, for partition and crash drills: while cut, every request
// fails as if the network were down, watches in progress end, and answers to requests
// sent before the cut are thrown away.
import type { ApiRequest, ApiResponse, ApiStream } from '../api/request.js';
import type { Transport } from '../client/transport.js';

export class ApiUnreachableError extends Error {
  constructor() {
    super('the API server cannot be reached (node partitioned)');
  }
}

export class GatedTransport implements Transport {
  private epoch = 0;
  private cutOff = false;
  private readonly streams = new Set<() => void>();

  constructor(private readonly inner: Transport) {}

  get open(): boolean {
    return !this.cutOff;
  }

  cut(): void {
    this.cutOff = true;
    this.epoch++;
    for (const end of [...this.streams]) end();
  }

  restore(): void {
    this.cutOff = false;
  }

  async request(req: ApiRequest): Promise<ApiResponse> {
    if (this.cutOff) throw new ApiUnreachableError();
    const epoch = this.epoch;
    const res = await this.inner.request(req);
    if (epoch !== this.epoch) {
      res.stream?.stop();
      throw new ApiUnreachableError();
    }
    if (res.stream) res.stream = this.track(res.stream);
    return res;
  }

  private track(stream: ApiStream): ApiStream {
    let ended = false;
    let endFn: (() => void) | undefined;
    const finish = () => {
      if (ended) return;
      ended = true;
      this.streams.delete(kill);
      endFn?.();
    };
    const kill = () => {
      stream.stop();
      finish();
    };
    this.streams.add(kill);
    return {
      start: (send, end) => {
        endFn = end;
        stream.start(
          (chunk) => {
            if (!ended) send(chunk);
          },
          finish,
        );
      },
      stop: () => {
        this.streams.delete(kill);
        ended = true;
        stream.stop();
      },
    };
  }
}
