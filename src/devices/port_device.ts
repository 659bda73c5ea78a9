/**
 * The port-I/O device interface and the bus that routes ports to devices.
 *
 * @module
 */

/** A device on the port-I/O bus. Devices save and restore themselves (Firecracker's Persist). */
export interface PortDevice {
  /** Name of the device's state section in snapshots and migration streams. */
  readonly name: string;
  /** Version of the state section's format. */
  readonly version: number;
  /** Ports the device answers, as [first, last] inclusive ranges. */
  readonly ports: readonly [number, number][];
  /** A read of `size` bytes (1, 2, 4) from `port`. */
  read(port: number, size: number): number;
  /** A write of `size` bytes of `value` to `port`. */
  write(port: number, size: number, value: number): void;
  /** The device's state as bytes. */
  save(): Uint8Array;
  /** Loads state saved by {@linkcode save}; throws a clear error if it does not fit. */
  restore(data: Uint8Array): void;
}

/** Routes port accesses to devices; unclaimed ports read as all ones and ignore writes (ISA bus). */
export class PortBus {
  private readonly byPort = new Map<number, PortDevice>();
  /** The devices, in the order they were added. */
  readonly devices: PortDevice[] = [];

  /** Adds a device; throws if one of its ports is taken. */
  add(device: PortDevice): void {
    for (const [a, b] of device.ports) {
      for (let p = a; p <= b; p++) {
        const other = this.byPort.get(p);
        if (other) {
          throw new Error(`port 0x${p.toString(16)} is claimed by both ${other.name} and ${device.name}`);
        }
        this.byPort.set(p, device);
      }
    }
    this.devices.push(device);
  }

  /** Reads `size` bytes from `port`. */
  read(port: number, size: number): number {
    const d = this.byPort.get(port);
    if (d === undefined) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    return d.read(port, size);
  }

  /** Writes `size` bytes to `port`. */
  write(port: number, size: number, value: number): void {
    this.byPort.get(port)?.write(port, size, value);
  }
}
