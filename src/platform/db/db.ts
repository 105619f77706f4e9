/** pgvector's text form; sent as a bound parameter and cast with `$n::vector`, never interpolated. */
export function toVectorParam(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

export function fromVectorText(t: string): number[] {
  return t.slice(1, -1).split(',').map(Number);
}
