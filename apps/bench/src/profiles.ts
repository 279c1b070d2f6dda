// Summarises V8 CPU profiles (.cpuprofile, from node --cpu-prof): the functions with the most self time.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

export interface ProfileSummary {
  file: string;
  samples: number;
  /** Share of samples in which the process was busy (not idle). */
  busy: number;
  top: Array<{ fn: string; share: number }>;
}

export async function summariseProfiles(dir: string, topN = 12): Promise<ProfileSummary[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  const out: ProfileSummary[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    for (const id of profile.samples) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) continue;
      const where = frame.url ? `${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    const total = profile.samples.length || 1;
    const idle = self.get('(idle)') ?? 0;
    out.push({
      file,
      samples: profile.samples.length,
      busy: 1 - idle / total,
      top: [...self.entries()]
        .filter(([k]) => k !== '(idle)')
        .sort((a, b) => b[1] - a[1])
        .slice(0, topN)
        .map(([fn, n]) => ({ fn, share: n / total })),
    });
  }
  return out;
}
