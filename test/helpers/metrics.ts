/** The first value of a metric on an instance's /metrics page matching `pattern` (its group 1); NaN if none. */
export async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}
