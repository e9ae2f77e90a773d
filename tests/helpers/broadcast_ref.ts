// numpy's broadcasting rule written independently of the library, for property and fuzz tests.

/** The broadcast shape of `shapes`, or null when they are incompatible. */
export function refBroadcast(...shapes: (readonly number[])[]): number[] | null {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < nd; i++) {
    let d = 1;
    for (const s of shapes) {
      const j = s.length - nd + i;
      const e = j < 0 ? 1 : s[j];
      if (e === d || e === 1) continue;
      if (d === 1) d = e;
      else return null;
    }
    out.push(d);
  }
  return out;
}
