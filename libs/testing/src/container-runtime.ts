// Whether testcontainers can run here; without a container runtime the harness falls back to local binaries.
let cached: Promise<boolean> | undefined;

export function containerRuntimeAvailable(): Promise<boolean> {
  if (process.env.SLUICE_TEST_CONTAINERS === '0') return Promise.resolve(false);
  cached ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return cached;
}
